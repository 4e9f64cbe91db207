"""Who may see and do what with points and the reward shop (爱心超市).

    PointsRule, Award   the organisation's (the default: a role at the organisation or above)
    Reward              its shop: staff over the shop, and to read, also the members the shop serves (the shop is
                        the member's organisation or an ancestor of it)
    Redemption          its shop's staff, and the member who redeemed
    CardSetting         the member's own only

A leaderboard is of the member's own community or of an organisation the viewer may view (`may_view_board`).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from xianfeng.core.policy import NOTHING, OrgPolicy, Policy, allows, in_org_scope, register
from xianfeng.core.scoping import SEGMENT
from xianfeng.orgs.models import Member, Organisation
from xianfeng.orgs.selectors import community_of, member_of

from .models import CardSetting, Redemption, Reward


def _or(a: Q | None, b: Q) -> Q | None:
    if a is None:
        return None
    return b if a == NOTHING else a | b


def _ancestor_paths(member: Member) -> list[str]:
    path = member.org.path
    return [path[:i] for i in range(SEGMENT, len(path) + 1, SEGMENT)]


@register(Reward)
class RewardPolicy(OrgPolicy):
    def scope(self, user: Any, action: str) -> Q | None:
        q = super().scope(user, action)
        member = member_of(user) if action == "view" else None
        if member is None:
            return q
        return _or(q, Q(shop__path__in=_ancestor_paths(member)))

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        reward: Any = obj
        if in_org_scope(user, action, [reward.shop]):
            return True
        member = member_of(user) if action == "view" else None
        return member is not None and reward.shop.path in _ancestor_paths(member)


@register(Redemption)
class RedemptionPolicy(OrgPolicy):
    def scope(self, user: Any, action: str) -> Q | None:
        q = super().scope(user, action)
        member = member_of(user) if action == "view" else None
        return q if member is None else _or(q, Q(member=member))

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        redemption: Any = obj
        if in_org_scope(user, action, [redemption.reward.shop]):
            return True
        member = member_of(user) if action == "view" else None
        return member is not None and redemption.member_id == member.pk


@register(CardSetting)
class CardSettingPolicy(Policy):
    """A member's own choices: nobody else reads or changes them (a superuser neither)."""

    def scope(self, user: Any, action: str) -> Q | None:
        member = member_of(user)
        return NOTHING if member is None else Q(member=member)

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        member = member_of(user)
        return member is not None and getattr(obj, "member_id", None) == member.pk


def may_view_board(user: Any, org: Organisation) -> bool:
    """A leaderboard: the member's own community, or an organisation the user may view."""
    member = member_of(user)
    if member is not None and org.pk == community_of(member.org).pk:
        return True
    return allows(user, "view", org)
