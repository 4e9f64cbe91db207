"""Who may see and export ledger accounts (xianfeng.core.policy).

An account belongs to its organisation (`Account.org`): a role there or above grants the action, like every
organisation's data. A member may also see, and export the statement of, their own accounts (the points card), which
belong to no role of theirs. Postings are never made through a page or the API: the modules' services post after
checking their own policies.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from xianfeng.core.policy import NOTHING, OrgPolicy, register

from .models import Account, OwnerType

OWN_ACTIONS = frozenset({"view", "export"})  # what a member may do on their own accounts


def member_id_of(user: Any) -> int | None:
    """The Member id of the person behind `user`, if any (a member who left still owns their card)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "person_id", None):
        return None
    from xianfeng.orgs.models import Member

    return Member.objects.filter(person_id=user.person_id).values_list("pk", flat=True).first()


@register(Account)
class AccountPolicy(OrgPolicy):
    detail_page = "ledger:account_detail"
    detail_api = "/api/v1/ledger-accounts/{pk}/"

    def scope(self, user: Any, action: str) -> Q | None:
        q = super().scope(user, action)
        if q is None or action not in OWN_ACTIONS:
            return q
        member_id = member_id_of(user)
        if member_id is None:
            return q
        own = Q(owner_type=OwnerType.MEMBER, owner_id=member_id)
        return own if q == NOTHING else q | own
