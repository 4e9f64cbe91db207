"""Who may see and do what in campaigns (core/policy.py explains policies).

Most campaign rows belong to one organisation and follow the organisation tree (the default `OrgPolicy`). Three kinds
of thing an organisation runs over its whole subtree are also seen from below:

- a campaign is seen by those inside its subtree too (their units owe its deliverables);
- an award round is read through the API by those over its subtree, and its pages (the committee's page, the
  nomination page) by those inside it as well (`covering`);
- a drive is seen by those over its subtree and by those who have one of its targets in their scope.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from xianfeng.core.policy import NOTHING, OrgPolicy, allows, ensure, in_org_scope, policy_for, register, visible
from xianfeng.core.scoping import scope_paths, scope_q
from xianfeng.orgs.models import Organisation, OrgKind

from .models import (
    Advisor,
    AdvisorBatch,
    AwardRound,
    Bulletin,
    Campaign,
    CampaignPlan,
    Drive,
    DriveTarget,
    Meeting,
    Venture,
)

# Organisations that lead work over their subtree (hold meetings, run rounds, own follow-ups and targets).
LEAD_KINDS = (OrgKind.COUNTY, OrgKind.TOWN, OrgKind.STREET, OrgKind.DEPARTMENT, OrgKind.VILLAGE, OrgKind.COMMUNITY)
VENTURE_ORG_KINDS = (OrgKind.VILLAGE, OrgKind.COMMUNITY, OrgKind.TOWN, OrgKind.STREET)
FUND_KINDS = (OrgKind.COUNTY, OrgKind.TOWN, OrgKind.STREET)


def _above(paths: list[str]) -> set[str]:
    """Every organisation path at or above one of `paths`."""
    return {p[:i] for p in paths for i in range(4, len(p) + 1, 4)}


def covering_q(user: Any) -> Q | None:
    """Rows (with an `org`) over a subtree the user sees, or whose organisation is above the user's scope; None is
    every row."""
    paths = scope_paths(user, "view")
    if paths is None:
        return None
    if not paths:
        return NOTHING
    return scope_q(["org__path"], paths) | Q(org__path__in=_above(paths))


def _covers(user: Any, org: Any) -> bool:
    paths = scope_paths(user, "view")
    if paths is None:
        return True
    return any(org.path.startswith(p) or p.startswith(org.path) for p in paths)


@register(Campaign)
class CampaignPolicy(OrgPolicy):
    """`view`: the campaign's subtree is in the user's scope, or the user's scope lies inside it. Other actions: the
    organisation tree."""

    detail_page = "campaigns:campaign_detail"
    detail_api = "/api/v1/campaigns/{pk}/"

    def scope(self, user: Any, action: str) -> Q | None:
        if action == "view":
            return covering_q(user)
        return super().scope(user, action)

    def filter(self, qs: models.QuerySet, user: Any, action: str) -> models.QuerySet:
        q = self.scope(user, action)
        if q is None:
            return qs.all()
        if q == NOTHING:
            return qs.none()
        return qs.filter(q)

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        if action == "view":
            return _covers(user, obj.org)  # type: ignore[attr-defined]
        return in_org_scope(user, action, self.orgs_of(obj))


@register(AwardRound)
class AwardRoundPolicy(OrgPolicy):
    """The organisation tree; `covering(user)` adds the rounds over the user's scope (its units nominate in them)."""

    detail_api = "/api/v1/award-rounds/{pk}/"

    def may_score(self, user: Any, award: AwardRound) -> bool:
        """The committee: administrators of the round's organisation, and the inspectors over it."""
        return in_org_scope(user, "admin", [award.org]) or in_org_scope(user, "inspect", [award.org])

    @staticmethod
    def covering(user: Any) -> models.QuerySet:
        q = covering_q(user)
        qs = AwardRound.objects.all()
        return qs if q is None else qs.none() if q == NOTHING else qs.filter(q)


def require_scorer(actor: Any, award: AwardRound) -> None:
    """NotFound unless `actor` (None: the system) sits on the round's committee."""
    policy = policy_for(AwardRound)
    assert isinstance(policy, AwardRoundPolicy)
    ensure(actor is None or policy.may_score(actor, award))


def covering_rounds(user: Any) -> models.QuerySet:
    """The award rounds the committee's pages show `user`: those over a subtree the user sees and those covering it."""
    return AwardRoundPolicy.covering(user)


@register(Drive)
class DrivePolicy(OrgPolicy):
    """`view`: the drive's subtree is in the user's scope, or one of its targets is. Other actions: the tree."""

    detail_page = "campaigns:drive_detail"
    detail_api = "/api/v1/drives/{pk}/"

    def scope(self, user: Any, action: str) -> Q | None:
        own = super().scope(user, action)
        if action != "view" or own is None or own == NOTHING:
            return own
        targets = visible(DriveTarget, user, "view").values("drive_id")
        return own | Q(pk__in=targets)

    def filter(self, qs: models.QuerySet, user: Any, action: str) -> models.QuerySet:
        q = self.scope(user, action)
        if q is None:
            return qs.all()
        if q == NOTHING:
            return qs.none()
        return qs.filter(q)

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        if in_org_scope(user, action, self.orgs_of(obj)):
            return True
        return action == "view" and visible(DriveTarget, user, "view").filter(drive_id=obj.pk).exists()


@register(CampaignPlan)
class PlanPolicy(OrgPolicy):
    detail_api = "/api/v1/campaign-plans/{pk}/"


@register(Meeting)
class MeetingPolicy(OrgPolicy):
    detail_page = "campaigns:meeting_detail"
    detail_api = "/api/v1/campaign-meetings/{pk}/"


@register(AdvisorBatch)
class AdvisorBatchPolicy(OrgPolicy):
    detail_api = "/api/v1/advisor-batches/{pk}/"


@register(Advisor)
class AdvisorPolicy(OrgPolicy):
    """An advisor belongs to the enterprise it is placed in."""

    detail_page = "campaigns:advisor_detail"
    detail_api = "/api/v1/advisors/{pk}/"


@register(Venture)
class VenturePolicy(OrgPolicy):
    detail_page = "campaigns:venture_detail"
    detail_api = "/api/v1/ventures/{pk}/"


@register(Bulletin)
class BulletinPolicy(OrgPolicy):
    detail_api = "/api/v1/bulletins/{pk}/"


def orgs_for(user: Any, action: str, kinds: Any = None) -> models.QuerySet:
    """Active organisations where `user` may do `action`, in tree order (the choices of an organisation field)."""
    qs = visible(Organisation, user, action).filter(is_active=True)
    if kinds is not None:
        qs = qs.filter(kind__in=list(kinds))
    return qs.order_by("path")


def may_place_person(actor: Any, person: Any) -> bool:
    """Whether `actor` (None: the system) may link `person` to a post: the person's policy (orgs/policies.py) — the
    organisation that answers for them (a member's, else a resident's; none: the county) is in the actor's `change`
    scope."""
    return actor is None or allows(actor, "change", person)


def administers_any(user: Any) -> bool:
    """Whether `user` administers some organisation (the menus' "new …" buttons)."""
    return policy_for(Organisation).any(user, "admin")


def in_scope(user: Any, action: str, org: Any) -> bool:
    """Whether `user` may do `action` on something of `org` (anything with the organisation's `path`: an
    organisation, a progress-matrix row)."""
    return in_org_scope(user, action, [org])


def rows_in_scope(rows: list[Any], user: Any, action: str = "view") -> list[Any]:
    """The rows (each with an organisation `path`) of organisations in `user`'s scope for `action`."""
    return [r for r in rows if in_org_scope(user, action, [r])]
