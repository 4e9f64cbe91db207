"""Who may see and do what with organisations, people, members, roles, link requests and guidance groups.

    Organisation   its own place in the tree (scope_org_fields ("",)): a role at the organisation or above
    Member         its primary or managing organisation; `unmask` (ID number and phone in full) only through the
                   primary organisation
    Person         the organisation that answers for the person: a member's primary or managing organisation, else
                   a resident's village or community; a person with neither belongs to the county (a role at a root)
    Resident       its village or community
    Role           reading: the organisation's `view` scope; granting or revoking: `admin` over the organisation
    LinkRequest    see: the requester, `change` over the organisation asked for, or whoever may decide;
                   decide: `change` over the holder (no holder: a `change` role at a root, or the person themself);
                   cancel: the requester, or `change` over the organisation asked for
    GuidanceGroup  its forming organisation; staffing it needs `admin` there
    ContactPoint, GuidanceVisit  the contact point's organisation (the default)
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from xianfeng.core.policy import NOTHING, OrgPolicy, Policy, in_org_scope, register
from xianfeng.core.scoping import SEGMENT, scope_paths, scope_q

from .models import (
    ContactPoint,
    GuidanceGroup,
    GuidanceVisit,
    LinkRequest,
    Member,
    Organisation,
    Person,
    Resident,
    Role,
)


def _signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(getattr(user, "is_active", False))


def at_root(paths: list[str] | None) -> bool:
    """Whether a scope (scope_paths) includes a root of the tree (the county): everywhere, or a role at a root."""
    return paths is None or any(len(p) == SEGMENT for p in paths)


@register(Organisation)
class OrganisationPolicy(OrgPolicy):
    detail_page = "orgs:org_detail"
    detail_api = "/api/v1/orgs/{pk}/"


@register(Member)
class MemberPolicy(OrgPolicy):
    """A member belongs to the primary and the managing organisation (一联双管); personal data is unmasked only by
    the primary organisation's staff (and above)."""

    detail_page = "orgs:member_detail"
    detail_api = "/api/v1/members/{pk}/"

    def filter(self, qs: models.QuerySet, user: Any, action: str) -> models.QuerySet:
        if action == "unmask":
            paths = scope_paths(user, action)
            if paths is None:
                return qs.all()
            return qs.filter(scope_q(["org__path"], paths)) if paths else qs.none()
        return super().filter(qs, user, action)

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        if action == "unmask":
            return in_org_scope(user, action, [obj.org])  # type: ignore[attr-defined]
        return super().allows(user, action, obj)


@register(Person)
class PersonPolicy(Policy):
    """A person is in scope through the organisation that answers for them (services.person_holder): a member's
    primary or managing organisation; for a non-member a resident's organisation; for someone with neither, the
    county (a role at a root of the tree)."""

    def scope(self, user: Any, action: str) -> Q | None:
        paths = scope_paths(user, action)
        if paths is None:
            return None
        if not paths:
            return NOTHING
        q = scope_q(["member__org__path", "member__managing_org__path"], paths)
        q |= Q(member__isnull=True) & scope_q(["resident__org__path"], paths)
        if at_root(paths):
            q |= Q(member__isnull=True, resident__isnull=True)
        return q

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        paths = scope_paths(user, action)
        if paths is None:
            return True
        if not paths:
            return False
        member = Member.objects.select_related("org", "managing_org").filter(person_id=obj.pk).first()
        if member is not None:
            orgs = [member.org] + ([member.managing_org] if member.managing_org_id else [])
        else:
            resident = Resident.objects.select_related("org").filter(person_id=obj.pk).first()
            if resident is None:
                return at_root(paths)
            orgs = [resident.org]
        return in_org_scope(user, action, orgs)


@register(Resident)
class ResidentPolicy(OrgPolicy):
    """A resident belongs to their village or community (the default rule, declared here so it is read in one
    place)."""


@register(Role)
class RolePolicy(OrgPolicy):
    """Roles are read in the organisation's `view` scope; granting, changing or revoking one needs `admin`."""

    WRITE_ACTIONS = frozenset({"change", "admin", "grant", "revoke"})

    def _action(self, action: str) -> str:
        return "admin" if action in self.WRITE_ACTIONS else action

    def scope(self, user: Any, action: str) -> Q | None:
        return super().scope(user, self._action(action))

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        return in_org_scope(user, self._action(action), self.orgs_of(obj))


@register(LinkRequest)
class LinkRequestPolicy(Policy):
    """Actions: `view`, `decide` (accept or decline), `cancel` (withdraw). See the module's docstring."""

    detail_page = "orgs:link_request_detail"
    detail_api = "/api/v1/link-requests/{pk}/"

    def decide_q(self, user: Any) -> Q | None:
        """Requests `user` may decide (None: every one)."""
        if not _signed_in(user):
            return NOTHING
        paths = scope_paths(user, "change")
        if paths is None:
            return None
        q = NOTHING
        if paths:
            q |= scope_q(["holder__path"], paths)
            if at_root(paths):
                q |= Q(holder__isnull=True)
        if getattr(user, "person_id", None):
            q |= Q(holder__isnull=True, person_id=user.person_id)
        return q

    def scope(self, user: Any, action: str) -> Q | None:
        if not _signed_in(user):
            return NOTHING
        if action == "decide":
            return self.decide_q(user)
        paths = scope_paths(user, "change")
        if paths is None:
            return None
        q = Q(requested_by=user)
        if paths:
            q |= scope_q(["org__path"], paths)
        if action == "cancel":
            return q
        decide = self.decide_q(user)
        return None if decide is None else q | decide

    def may_decide(self, user: Any, link: LinkRequest) -> bool:
        if not _signed_in(user):
            return False
        paths = scope_paths(user, "change")
        if paths is None:
            return True
        if link.holder_id is not None:
            return in_org_scope(user, "change", [link.holder])
        return at_root(paths) or (user.person_id is not None and user.person_id == link.person_id)

    def may_cancel(self, user: Any, link: LinkRequest) -> bool:
        if not _signed_in(user):
            return False
        return link.requested_by_id == user.pk or in_org_scope(user, "change", [link.org])

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        assert isinstance(obj, LinkRequest)
        if action == "decide":
            return self.may_decide(user, obj)
        if action == "cancel":
            return self.may_cancel(user, obj)
        if action == "view" and (self.may_decide(user, obj) or self.may_cancel(user, obj)):
            return True
        return super().allows(user, action, obj)


@register(GuidanceGroup)
class GuidanceGroupPolicy(OrgPolicy):
    """A guidance group belongs to the organisation that formed it; staffing it (people, leader, units) needs
    `admin` there."""

    detail_page = "orgs:guidance_group_detail"


@register(ContactPoint)
class ContactPointPolicy(OrgPolicy):
    detail_page = "orgs:contact_point_detail"
    detail_api = "/api/v1/contact-points/{pk}/"


@register(GuidanceVisit)
class GuidanceVisitPolicy(OrgPolicy):
    detail_api = "/api/v1/guidance-visits/{pk}/"


def link_policy() -> LinkRequestPolicy:
    from xianfeng.core.policy import policy_for

    policy = policy_for(LinkRequest)
    assert isinstance(policy, LinkRequestPolicy)
    return policy
