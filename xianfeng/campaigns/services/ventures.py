"""Member ventures (创业扶助): figures, the support fund and support on the ledger."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from xianfeng.core.audit import audit_record
from xianfeng.core.text import clean_text
from xianfeng.orgs.models import Member, Organisation

from ..models import (
    Venture,
    VentureFigure,
    VentureSupport,
)
from .common import _in_subtree, _require


@transaction.atomic
def venture_create(*, org: Organisation, name: str, kind: str, founded: dt.date, founders: list[Member] | None = None,
                   description: str = "", actor: Any) -> Venture:
    """A member venture in `org` (the actor may change it)."""
    _require(actor, "change", org)
    venture = Venture(org=org, name=clean_text(name, "name", 200), kind=kind, founded=founded, description=description)
    venture.full_clean()
    venture.save()
    if founders:
        venture.founders.set(founders)
    audit_record(by=actor, action="create", obj=venture, summary=f"创业项目 {venture.name}")
    return venture


@transaction.atomic
def venture_figure_record(*, venture: Venture, date: dt.date, members: int, area_mu: Decimal, households: int,
                          income_per_household_yuan: int = 0, actor: Any) -> VentureFigure:
    """A venture's figures on one date (the actor may change the venture)."""
    _require(actor, "change", venture)
    if date < venture.founded or date > timezone.localdate():
        raise ValidationError({"date": ["日期须在创办之后、今天之前"]})
    if VentureFigure.objects.filter(venture=venture, date=date).exists():
        raise ValidationError({"date": ["该日期已有数据"]})
    row = VentureFigure(venture=venture, date=date, members=members, area_mu=Decimal(area_mu), households=households,
                        income_per_household_yuan=income_per_household_yuan)
    row.full_clean()
    row.save()
    audit_record(by=actor, action="create", obj=row, summary=f"{venture.name} {date} 数据")
    return row


def venture_fund(org: Organisation, actor: Any = None) -> Any:
    """The support fund (创业扶助资金) of `org`, in fen, never below zero."""
    from xianfeng.ledger.models import OwnerType, Unit
    from xianfeng.ledger.services import account_open

    return account_open(name=f"{org.name}创业扶助资金", owner_type=OwnerType.FUND, owner_id=org.pk, unit=Unit.CNY,
                        org=org, floor=0, purpose="venture_fund", actor=actor)


@transaction.atomic
def venture_fund_allocate(*, org: Organisation, amount_fen: int, key: str, actor: Any):
    """Put budget money into `org`'s support fund (from the budget system account); the actor administers `org`."""
    _require(actor, "admin", org)
    from xianfeng.ledger.models import OwnerType, Unit
    from xianfeng.ledger.services import account_open, ledger_post

    budget = account_open(name="财政预算（创业扶助）", owner_type=OwnerType.SYSTEM, owner_id=0, unit=Unit.CNY,
                          purpose="venture_budget", actor=actor)
    return ledger_post(entries=[(budget, -amount_fen), (venture_fund(org, actor), amount_fen)],
                       memo=f"{org.name}创业扶助资金拨付", kind="campaigns.venture_fund", key=key, actor=actor)


@transaction.atomic
def venture_support_record(*, venture: Venture, kind: str, date: dt.date, title: str, amount_fen: int = 0,
                           fund_org: Organisation | None = None, key: str = "", actor: Any) -> VentureSupport:
    """Support given to a venture. A grant moves `amount_fen` from `fund_org`'s support fund to the venture's account
    on the ledger (refused if the fund would go below zero); `key` makes a retried grant post once. The actor may
    change the venture, and for a grant administers the fund's organisation."""
    _require(actor, "change", venture)
    from xianfeng.ledger.models import OwnerType, Unit
    from xianfeng.ledger.services import account_open, ledger_post

    if kind not in VentureSupport.Kind.values:
        raise ValidationError({"kind": ["未知的扶助类型"]})
    support = VentureSupport(venture=venture, kind=kind, date=date, title=clean_text(title, "title", 200))
    if kind == VentureSupport.Kind.GRANT:
        if not isinstance(amount_fen, int) or amount_fen <= 0:
            raise ValidationError({"amount_fen": ["扶助资金须为正数"]})
        if fund_org is None or not _in_subtree(venture.org, fund_org):
            raise ValidationError({"fund_org": ["请选择覆盖该项目的扶助资金"]})
        _require(actor, "admin", fund_org)
        target = account_open(name=f"{venture.name}（扶助）", owner_type=OwnerType.ORGANISATION,
                              owner_id=venture.org_id, unit=Unit.CNY, org=venture.org, purpose=f"venture:{venture.pk}",
                              actor=actor)
        support.amount_fen = amount_fen
        support.ledger_transaction = ledger_post(
            entries=[(venture_fund(fund_org, actor), -amount_fen), (target, amount_fen)],
            memo=f"创业扶助：{venture.name} {support.title}", kind="campaigns.venture_grant",
            key=key or f"venture_support:{venture.pk}:{uuid.uuid4()}", actor=actor)
        if VentureSupport.objects.filter(ledger_transaction=support.ledger_transaction).exists():
            raise ValidationError({"key": ["该笔扶助资金已登记"]})
        support.save()
    else:
        support.save()
    audit_record(by=actor, action="create", obj=support, summary=f"{venture.name} {support.get_kind_display()}")
    return support


