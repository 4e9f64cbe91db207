"""Reads for the points card: history with sources, rank in the organisation, leaderboards, the card's QR token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core import signing

from xianfeng.core.scoping import subtree_q
from xianfeng.ledger.models import Account, OwnerType, Unit
from xianfeng.orgs.models import Member, Organisation

from .models import Award, CardSetting, Redemption

TOKEN_SALT = "xianfeng.points.card"


def card_token(member: Member) -> str:
    """The signed token in a member's QR code: the shop scans it to redeem for that member."""
    return signing.dumps({"m": member.pk}, salt=TOKEN_SALT, compress=True)


def member_from_token(token: str) -> Member | None:
    try:
        data = signing.loads(str(token or ""), salt=TOKEN_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("m"), int):
        return None
    return Member.objects.select_related("person", "org", "managing_org").filter(pk=data["m"]).first()


def _accounts_in(org: Organisation):
    return Account.objects.filter(subtree_q("org__path", org.path), owner_type=OwnerType.MEMBER, unit=Unit.POINT,
                                  purpose="main")


def rank_in(member: Member, org: Organisation, balance: int) -> tuple[int, int]:
    """(rank, members ranked) by balance among the member accounts of `org`'s subtree: 1 + those with more."""
    accounts = _accounts_in(org)
    higher = accounts.filter(balance__gt=balance).count()
    return higher + 1, max(accounts.count(), 1)


@dataclass
class Line:
    at: Any
    amount: int
    running: int
    memo: str
    kind: str
    source: str


SOURCE_LABELS = {"service": "服务需求", "activity_hours": "志愿活动"}


def history(member: Member, limit: int = 50) -> list[Line]:
    """The member's latest ledger lines with their sources, newest first."""
    account = Account.objects.filter(owner_type=OwnerType.MEMBER, owner_id=member.pk, unit=Unit.POINT,
                                     purpose="main").first()
    if account is None:
        return []
    from xianfeng.ledger.services import account_statement

    entries = list(account_statement(account).order_by("-id")[:limit])
    awards = {a.transaction_id: a for a in Award.objects.filter(transaction_id__in=[e.transaction_id for e in entries])}
    redemptions = {r.transaction_id: r for r in Redemption.objects.filter(
        transaction_id__in=[e.transaction_id for e in entries]).select_related("reward")}
    lines = []
    for e in entries:
        award, redemption = awards.get(e.transaction_id), redemptions.get(e.transaction_id)
        if award is not None:
            source = f"{SOURCE_LABELS.get(award.source, award.source)} {award.category}".strip()
        elif redemption is not None:
            source = f"兑换 {redemption.reward.name}×{redemption.quantity}"
        else:
            source = e.transaction.memo
        lines.append(Line(at=e.transaction.created_at, amount=e.amount, running=e.running_balance,
                          memo=e.transaction.memo, kind=e.transaction.kind, source=source))
    return lines


@dataclass
class Row:
    rank: int
    name: str
    balance: int
    member_id: int
    hidden: bool


def leaderboard(org: Organisation, *, limit: int = 50) -> list[Row]:
    """Members of `org`'s subtree by balance; a member who chose to hide appears as 匿名党员."""
    accounts = list(_accounts_in(org).filter(balance__gt=0).order_by("-balance", "owner_id")
                    .values_list("owner_id", "balance")[:limit])
    ids = [a for a, _ in accounts]
    names = dict(Member.objects.filter(pk__in=ids).values_list("pk", "person__name"))
    hidden = set(CardSetting.objects.filter(member_id__in=ids, hide_name=True).values_list("member_id", flat=True))
    rows, rank, previous = [], 0, None
    for i, (member_id, balance) in enumerate(accounts, start=1):
        if balance != previous:
            rank, previous = i, balance
        rows.append(Row(rank=rank, name="匿名党员" if member_id in hidden else names.get(member_id, ""),
                        balance=balance, member_id=member_id, hidden=member_id in hidden))
    return rows


