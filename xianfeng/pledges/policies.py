"""Who may see and do what with pledges.

A pledge is visible to whoever may view its organisation and, whatever their roles, to the member who made it.
Beyond the organisation tree's actions a pledge has two of its own:

- "own": the member who made it; for an organisation's pledge (组织承诺), whoever drafted it and whoever may change
  that organisation but not its parent (its own secretary, not the reviewers above it);
- "review": who reviews, publishes, confirms and evaluates — may change the pledge's organisation (its parent's, for
  an organisation's own pledge) and is not the one who made it;
- "peer": who may learn of a pledge to score it (党员评): the members of its branch, and whoever may view it.

A pledge's items, milestones, photos, events, ratings and comments follow their pledge. A photo of a public pledge
is public. Comments are moderated by whoever may change the pledge; the sensitive-word list by anyone who may change
some organisation.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from xianfeng.core.policy import NOTHING, OrgPolicy, Policy, in_org_scope, policy_for, register, visible
from xianfeng.core.scoping import ROLE_ACTIONS, scope_paths
from xianfeng.orgs.models import Member

from .models import (
    PUBLIC_STATES,
    Comment,
    Milestone,
    PeerRating,
    Photo,
    Pledge,
    PledgeEvent,
    PledgeItem,
    Rating,
    SensitiveWord,
)

OWN, REVIEW, PEER = "own", "review", "peer"


def _authenticated(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(getattr(user, "is_active", True))


def _or(a: Q | None, b: Q) -> Q | None:
    if a is None:
        return None
    if a == NOTHING:
        return b
    return a | b


@register(Pledge)
class PledgePolicy(OrgPolicy):
    actions = frozenset(ROLE_ACTIONS) | {OWN, REVIEW, PEER}
    detail_page = "pledges:detail"
    detail_api = "/api/v1/pledges/{pk}/"

    # -- rows --------------------------------------------------------------------------------------------------------

    def made_by(self, user: Any) -> Q:
        """The member's own pledges (whatever their roles)."""
        person_id = getattr(user, "person_id", None) if _authenticated(user) else None
        return Q(member__person_id=person_id) if person_id else NOTHING

    def scope(self, user: Any, action: str) -> Q | None:
        if action == OWN:
            return self._own_q(user)
        if action == REVIEW:
            return self._review_q(user)
        if action == PEER:
            branch = self._branch_of(user)
            view = self.scope(user, "view")
            return view if branch is None else _or(view, Q(org_id=branch))
        q = super().scope(user, action)
        if action != "view":
            return q
        own = self.made_by(user)
        if own == NOTHING or q is None:
            return q
        if q == NOTHING:
            return own
        # the organisation scope as a subquery: an OR over two joins would defeat the indexes
        return Q(pk__in=Pledge.objects.filter(q).values("pk")) | own

    def filter(self, qs: models.QuerySet, user: Any, action: str) -> models.QuerySet:
        return Policy.filter(self, qs, user, action)  # the pledge's own actions are not the tree's

    def _branch_of(self, user: Any) -> int | None:
        person_id = getattr(user, "person_id", None) if _authenticated(user) else None
        if not person_id:
            return None
        return Member.objects.filter(person_id=person_id).values_list("org_id", flat=True).first()

    def _own_q(self, user: Any) -> Q:
        if not _authenticated(user):
            return NOTHING
        q = self.made_by(user) | Q(member__isnull=True, created_by=user.pk)
        paths = scope_paths(user, "change")
        if paths is None:
            q |= Q(member__isnull=True, org__parent__isnull=True)
        elif paths:
            # in the change scope and its parent not: the organisation is one of the scope's roots
            q |= Q(member__isnull=True, org__path__in=paths)
        return q

    def _review_q(self, user: Any) -> Q:
        if not _authenticated(user):
            return NOTHING
        paths = scope_paths(user, "change")
        if paths is not None and not paths:
            return NOTHING
        change = super().scope(user, "change")
        members = Q(member__isnull=False) & ~self.made_by(user) if self.made_by(user) != NOTHING \
            else Q(member__isnull=False)
        orgs = Q(member__isnull=True) & ~Q(created_by=user.pk)
        if paths is None:
            return members | (orgs & Q(org__parent__isnull=False))
        assert change is not None
        return change & (members | (orgs & ~Q(org__path__in=paths)))

    # -- one pledge --------------------------------------------------------------------------------------------------

    def is_owner(self, user: Any, pledge: Pledge) -> bool:
        if not _authenticated(user):
            return False
        if pledge.member_id is not None:
            person_id = getattr(user, "person_id", None)
            return person_id is not None and pledge.member.person_id == person_id  # type: ignore[union-attr]
        if pledge.created_by_id == user.pk:
            return True
        parent = pledge.org.parent
        return in_org_scope(user, "change", [pledge.org]) and (parent is None
                                                              or not in_org_scope(user, "change", [parent]))

    def is_reviewer(self, user: Any, pledge: Pledge) -> bool:
        if not _authenticated(user):
            return False
        if pledge.member_id is not None:
            return in_org_scope(user, "change", [pledge.org]) and not self.is_owner(user, pledge)
        parent = pledge.org.parent
        return parent is not None and in_org_scope(user, "change", [parent]) and pledge.created_by_id != user.pk

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        pledge: Any = obj
        if action == OWN:
            return self.is_owner(user, pledge)
        if action == REVIEW:
            return self.is_reviewer(user, pledge)
        if action == PEER:
            branch = self._branch_of(user)
            return (branch is not None and branch == pledge.org_id) or self.allows(user, "view", pledge)
        if action == "view" and self.is_owner(user, pledge) and pledge.member_id is not None:
            return True
        return in_org_scope(user, action, [pledge.org])


class PledgePartPolicy(Policy):
    """Rows that belong to a pledge (`pledge` foreign key): whoever may do the action on the pledge."""

    actions = PledgePolicy.actions
    public_on_board = False  # rows of a public pledge anybody may view (photos)

    def scope(self, user: Any, action: str) -> Q | None:
        pledge_q = policy_for(Pledge).scope(user, action)
        if pledge_q is not None and pledge_q != NOTHING:
            pledge_q = Q(pledge__in=visible(Pledge, user, action).values("pk"))
        if self.public_on_board and action == "view":
            return _or(pledge_q, Q(pledge__status__in=PUBLIC_STATES))
        return pledge_q

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        part: Any = obj
        pledge = part.pledge
        if self.public_on_board and action == "view" and pledge.is_public:
            return True
        return policy_for(Pledge).allows(user, action, pledge)


for _model in (PledgeItem, Milestone, PledgeEvent, Rating, PeerRating, Comment):
    register(_model)(PledgePartPolicy)


@register(Photo)
class PhotoPolicy(PledgePartPolicy):
    public_on_board = True


@register(SensitiveWord)
class SensitiveWordPolicy(Policy):
    """The list moderators keep: anyone who may change some organisation (a moderator somewhere)."""

    def scope(self, user: Any, action: str) -> Q | None:
        paths = scope_paths(user, "change")
        if paths is None:
            return None
        return Q() if paths else NOTHING


def pledges(user: Any, action: str = "view") -> models.QuerySet:
    """The pledges `user` may do `action` on (the pages' and the API's list)."""
    return visible(Pledge, user, action)
