"""Reads for the points card: history with sources, rank in the organisation, leaderboards, the card's QR token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models import Count, Q

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
    """Points accounts of the members now in `org`'s subtree (by the member's current organisation, so a member who
    moved is ranked where he is now). Planned as member ids from the subtree, then one probe each into the account
    owner index — a few hundred rows for a community, however big the county."""
    members = Member.objects.filter(subtree_q("org__path", org.path)).exclude(status=Member.Status.LEFT)
    return Account.objects.filter(owner_type=OwnerType.MEMBER, owner_id__in=members.values("pk"), unit=Unit.POINT,
                                  purpose="main")


def rank_in(member: Member, org: Organisation, balance: int) -> tuple[int, int]:
    """(rank, members ranked) by balance among the member accounts of `org`'s subtree: 1 + those with more.
    One query."""
    counts = _accounts_in(org).aggregate(higher=Count("pk", filter=Q(balance__gt=balance)), total=Count("pk"))
    return counts["higher"] + 1, max(counts["total"], 1)


def card_account(member: Member) -> tuple[int | None, int]:
    """(account id or None, balance) of the member's points account, in one query."""
    row = (Account.objects.filter(owner_type=OwnerType.MEMBER, owner_id=member.pk, unit=Unit.POINT, purpose="main")
           .values_list("pk", "balance").first())
    return (row[0], row[1]) if row else (None, 0)


@dataclass
class Line:
    at: Any
    amount: int
    running: int
    memo: str
    kind: str
    source: str


SOURCE_LABELS = {"service": "服务需求", "activity_hours": "志愿活动"}


def history(member: Member, limit: int = 50, *, account_id: int | None = None) -> list[Line]:
    """The member's latest ledger lines with their sources, newest first (give `account_id` if known: one query
    fewer)."""
    if account_id is None:
        account_id = card_account(member)[0]
        if account_id is None:
            return []
    from xianfeng.ledger.services import account_statement

    entries = list(account_statement(account_id).reverse()[:limit])
    ids = [e.transaction_id for e in entries]
    awards = {a.transaction_id: a for a in Award.objects.filter(transaction_id__in=ids).order_by()
              .only("transaction_id", "source", "category")}
    redemptions = {r.transaction_id: r for r in Redemption.objects.filter(transaction_id__in=ids).order_by()
                   .select_related("reward").only("transaction_id", "quantity", "reward__name")}
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


