"""Care funds on the ledger and the disbursements paid from them (request → review → decision)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from xianfeng.core.audit import audit_record, snapshot
from xianfeng.core.policy import allows, require
from xianfeng.ledger import services as ledger
from xianfeng.ledger.models import OwnerType, Unit
from xianfeng.orgs.models import Organisation

from ..models import (
    CareCase,
    CareFund,
    Disbursement,
)
from .common import CareError, clean_text, format_yuan

# ------------------------------------------------------------------------------------------------------------ funds


def _system_account(purpose: str, name: str):
    return ledger.account_open(name=name, owner_type=OwnerType.SYSTEM, owner_id=0, unit=Unit.CNY, purpose=purpose)


def _account(fund: CareFund) -> int:
    """The fund's ledger account (set by fund_create with the fund)."""
    if fund.account_id is None:
        raise CareError({"fund": ["该基金没有账户"]})
    return fund.account_id


def income_account():
    """Where contributions come from (its balance is minus everything ever given to the care funds)."""
    return _system_account("care.income", "关爱基金来源（捐赠与财政拨款）")


def aid_account():
    """Where disbursed aid goes (its balance is everything ever paid out to members in need)."""
    return _system_account("care.aid", "关爱基金已拨付帮扶")


@transaction.atomic
def fund_create(*, name: str, org: Organisation, owner: Any, parent: CareFund | None = None, actor: Any = None) -> CareFund:
    """Open a care fund for `org` with its ledger account (fen, floor 0). A sub-fund's organisation lies inside its
    parent fund's. Only an administrator over `org` may. Raises CareError."""
    if not allows(actor, "admin", org):
        raise CareError("无权在该组织设立关爱基金")
    name = clean_text(name, "name", 100)
    if parent is not None and not org.path.startswith(parent.org.path):
        raise CareError({"org": ["下级基金的组织须在上级基金的组织之内"]})
    if getattr(owner, "pk", None) is None:
        raise CareError({"owner": ["须指定基金负责人"]})
    if CareFund.objects.filter(org=org, name=name).exists():
        raise CareError({"name": ["本组织已有同名基金"]})
    fund = CareFund.objects.create(name=name, org=org, owner=owner, parent=parent)
    fund.account = ledger.account_open(name=name, owner_type=OwnerType.FUND, owner_id=fund.pk, unit=Unit.CNY,
                                       org=org, floor=0, purpose="care", actor=actor)
    fund.save(update_fields=["account"])
    audit_record(by=actor, action="create", obj=fund, after=snapshot(fund), summary=f"设立关爱基金 {name}")
    return fund


@transaction.atomic
def fund_contribute(*, fund: CareFund, amount: int, memo: str, key: str, actor: Any = None):
    """Money into a fund from outside (donation, budget). `key` makes it idempotent. Raises CareError/LedgerError."""
    if not allows(actor, "change", fund):
        raise CareError("无权为该基金入账")
    memo = clean_text(memo, "memo", 200)
    txn = ledger.ledger_post(entries=[(income_account(), -amount), (_account(fund), amount)],
                             memo=f"{fund.name}：{memo}", kind="care.contribution", key=f"care.contribution:{key}",
                             actor=actor)
    audit_record(by=actor, action="create", obj=txn, summary=f"关爱基金 {fund.name} 入账 {format_yuan(amount)} 元")
    return txn


@transaction.atomic
def fund_allocate(*, source: CareFund, target: CareFund, amount: int, memo: str, key: str, actor: Any = None):
    """Move money from a fund to one of its direct sub-funds. Only the source fund's owner (or an administrator over
    it) may; the source never goes below zero. Raises CareError or the ledger's FloorCrossed."""
    if target.parent_id != source.pk:
        raise CareError({"target": ["只能下拨给直接下级基金"]})
    if not allows(actor, "allocate", source):
        raise CareError("只有基金负责人可以下拨资金")
    memo = clean_text(memo or "下拨", "memo", 200)
    txn = ledger.ledger_post(entries=[(_account(source), -amount), (_account(target), amount)],
                             memo=f"{source.name} → {target.name}：{memo}", kind="care.allocation",
                             key=f"care.allocation:{key}", actor=actor)
    audit_record(by=actor, action="create", obj=txn,
                 summary=f"{source.name} 下拨 {format_yuan(amount)} 元至 {target.name}")
    return txn


@transaction.atomic
def disbursement_request(*, fund: CareFund, case: CareCase, amount: int, reason: str, actor: Any,
                         now: dt.datetime | None = None) -> Disbursement:
    """Ask for aid from `fund` for `case`. The applicant is one of the case's carers or staff over its organisation;
    the case lies within the fund's organisation. Raises CareError."""
    if not allows(actor, "care", case):
        raise CareError("只有结对关爱人或本组织工作人员可以申请")
    if case.status != CareCase.Status.OPEN:
        raise CareError("关爱对象已结束关爱")
    if not case.org.path.startswith(fund.org.path):
        raise CareError({"fund": ["关爱对象不在该基金的范围内"]})
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise CareError({"amount": ["金额须为正的整数（分）"]})
    reason = clean_text(reason, "reason", 300)
    d = Disbursement.objects.create(fund=fund, case=case, amount=amount, reason=reason, requested_by=actor,
                                    requested_at=now or timezone.now())
    audit_record(by=actor, action="create", obj=d, after=snapshot(d), summary=f"申请关爱资金 {format_yuan(amount)} 元")
    return d


@transaction.atomic
def disbursement_review(*, disbursement: Disbursement, actor: Any, approve: bool, note: str = "",
                        now: dt.datetime | None = None) -> Disbursement:
    """The secretary's review: passed on to the fund owner, or rejected. Not by the applicant. Raises CareError."""
    d = disbursement
    if not allows(actor, "review", d):
        raise CareError("只有本组织书记（非申请人）可以审核")
    note = clean_text(note, "note", 300, required=not approve)
    status = Disbursement.Status.REVIEWED if approve else Disbursement.Status.REJECTED
    now = now or timezone.now()
    fields = {"status": status, "reviewed_by": actor, "reviewed_at": now}
    if not approve:
        fields.update(decision_note=note, decided_by=actor, decided_at=now)
    if Disbursement.objects.filter(pk=d.pk, status=Disbursement.Status.REQUESTED).update(**fields) != 1:
        raise CareError("该申请已经审核过")
    d.refresh_from_db()
    audit_record(by=actor, action="update", obj=d, after={"status": status, "note": note},
                 summary=f"审核关爱资金申请 #{d.pk}：{d.get_status_display()}")
    return d


@transaction.atomic
def disbursement_decide(*, disbursement: Disbursement, actor: Any, approve: bool, note: str = "",
                        now: dt.datetime | None = None) -> Disbursement:
    """The fund owner's decision on a reviewed request. Approval pays it at once: fund → aid on the ledger, keyed by
    the request, so it is paid at most once and the fund never goes below zero (decided by the database when
    several are paid at the same time). Raises CareError, or FloorCrossed (nothing changes) when the fund is short."""
    d = disbursement
    if not allows(actor, "decide", d):
        raise CareError("只有基金负责人（非申请人）可以审批")
    note = clean_text(note, "note", 300, required=not approve)
    now = now or timezone.now()
    current = Disbursement.objects.filter(pk=d.pk, status=Disbursement.Status.REVIEWED)
    if not approve:
        if current.update(status=Disbursement.Status.REJECTED, decided_by=actor, decided_at=now,
                          decision_note=note) != 1:
            raise CareError("该申请不在待审批状态")
    else:
        if not current.exists():
            raise CareError("该申请不在待审批状态")
        txn = ledger.ledger_post(
            entries=[(_account(d.fund), -d.amount), (aid_account(), d.amount)],
            memo=f"{d.fund.name} 拨付 {d.case.member}：{d.reason}"[:300], kind="care.disbursement",
            key=f"care.disbursement:{d.pk}", actor=actor)
        if current.update(status=Disbursement.Status.PAID, decided_by=actor, decided_at=now, decision_note=note,
                          transaction=txn) != 1:
            raise CareError("该申请不在待审批状态")
    d.refresh_from_db()
    audit_record(by=actor, action="update", obj=d, after={"status": d.status, "note": note},
                 summary=f"审批关爱资金申请 #{d.pk}：{d.get_status_display()}")
    return d


def fund_statement(fund: CareFund, *, start: dt.date | None = None, end: dt.date | None = None):
    """The fund's ledger entries in [start, end] (local dates), oldest first, each with its running balance."""
    since = timezone.make_aware(dt.datetime.combine(start, dt.time())) if start else None
    until = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time())) if end else None
    return ledger.account_statement(_account(fund), since=since, until=until)


def fund_statement_sheet(fund: CareFund, *, start: dt.date | None, end: dt.date | None, actor: Any = None):
    """The period's statement as a core.excel Sheet (amounts in yuan), for those who may export the fund's data.
    Audited as an export."""
    require(actor, "export", fund, reason="您的角色不允许导出对账单")
    from xianfeng.core.excel import Sheet

    rows = []
    for entry in fund_statement(fund, start=start, end=end):
        txn = entry.transaction
        rows.append([timezone.localtime(txn.created_at), txn.kind, txn.memo,
                     entry.amount / 100 if entry.amount > 0 else None,
                     -entry.amount / 100 if entry.amount < 0 else None, entry.running_balance / 100])
    audit_record(by=actor, action="export", obj=fund,
                 summary=f"导出关爱基金对账单 {fund.name} {start or ''}–{end or ''}（{len(rows)} 行）")
    return Sheet(title="对账单", headers=["时间", "类型", "摘要", "收入（元）", "支出（元）", "余额（元）"], rows=rows,
                 widths={"时间": 20, "摘要": 50})
