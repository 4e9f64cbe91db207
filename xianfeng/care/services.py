"""Every write of the care module: funds and disbursements, cases and actions, devices, ingress, alerts.

Alerts, in one paragraph: a press raises an Alert with the responder chain and the policy copied onto it. Its first
call is written in the same transaction (CARE_INLINE_FIRST_STEP): the first level's notifications, step 1 done and
step 2 due after `ack_timeout_seconds` with its job (`care.alert_step`), all recorded exactly when the alert is — so
no crash between "alert saved" and "first call made" exists. If that first call fails, its savepoint is undone and
step 1 is left pending with its job: the worker makes the call. A step is run once: its row is locked and moved
from pending to done together with the notifications (keyed `care.alert:<id>:step:<seq>`, so a responder is never
paged twice for one step) and the next step (the next level after `ack_timeout_seconds`, or the last level again
after `repeat_seconds`). Acknowledgement cancels pending steps. A worker killed mid-step leaves its job running
without a heartbeat; the jobs sweeper hands it back after the job's own short threshold (`stale_after`) and the
step runs again — its notifications were never committed, or were and the step is done.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from xianfeng.core.audit import audit_record, snapshot
from xianfeng.core.scoping import can
from xianfeng.jobs.services import job_cancel, jobs_schedule_new
from xianfeng.ledger import services as ledger
from xianfeng.ledger.models import OwnerType, Unit
from xianfeng.notify import bulk as notify_bulk_rows
from xianfeng.notify.models import Channel
from xianfeng.notify.services import notify
from xianfeng.orgs.models import Member, Organisation, OrgKind, Role

from .conf import alert_channels, conf
from .models import (
    Alert,
    AlertEvent,
    AlertStep,
    CareAction,
    CareCase,
    CareFund,
    Device,
    DeviceContact,
    DeviceEvent,
    DeviceNonce,
    Disbursement,
    EscalationPolicy,
)

logger = logging.getLogger("xianfeng.care")

STEP_JOB = "care.alert_step"
ACK_SALT = "xianfeng.care.ack"
ALERT_KIND = "care.alert"
VISIT_KINDS = (CareAction.Kind.VISIT, CareAction.Kind.SPRING_BREEZE)
LEVEL_LABELS = {1: "结对志愿者和家属", 2: "网格团队", 3: "社区值班员", 4: "镇（街道）值班员", 5: "县级管理员（兜底）"}
_EVENT_ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,100}$")
_NONCE_RE = re.compile(r"^[A-Za-z0-9_\-]{8,64}$")
_SIG_RE = re.compile(r"^[0-9a-f]{64}$")
EVENT_TYPES = ("press", "test", "heartbeat", "low_battery")


class CareError(ValidationError):
    """A care action refused; nothing was written."""


def _text(value: Any, name: str, max_length: int, *, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise CareError({name: ["不能为空"]})
    if len(text) > max_length:
        raise CareError({name: [f"不能超过{max_length}个字符"]})
    return text


def parse_yuan(value: Any) -> int:
    """An amount typed in yuan ("1,234.50") as fen. Raises CareError for anything but a positive amount with at most
    two decimals."""
    text = str(value or "").strip().replace(",", "").replace("，", "").replace("¥", "").replace("元", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CareError({"amount": ["金额须为数字（元，最多两位小数）"]}) from None
    if not number.is_finite() or number <= 0:
        raise CareError({"amount": ["金额须大于0"]})
    fen = number * 100
    if fen != fen.to_integral_value():
        raise CareError({"amount": ["金额最多两位小数"]})
    if fen >= 10**13:
        raise CareError({"amount": ["金额过大"]})
    return int(fen)


def format_yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, rest = divmod(abs(int(fen)), 100)
    return f"{sign}{yuan:,}.{rest:02d}"


def display_name(user: Any) -> str:
    """A user's name as responders know it: the full name, else the linked person's name, else the username."""
    if user is None:
        return ""
    person = getattr(user, "person", None)
    return user.get_full_name() or (person.name if person is not None else "") or user.get_username()


# ------------------------------------------------------------------------------------------------------------ funds


def _system_account(purpose: str, name: str):
    return ledger.account_open(name=name, owner_type=OwnerType.SYSTEM, owner_id=0, unit=Unit.CNY, purpose=purpose)


def income_account():
    """Where contributions come from (its balance is minus everything ever given to the care funds)."""
    return _system_account("care.income", "关爱基金来源（捐赠与财政拨款）")


def aid_account():
    """Where disbursed aid goes (its balance is everything ever paid out to members in need)."""
    return _system_account("care.aid", "关爱基金已拨付帮扶")


def may_manage_fund(user: Any, fund: CareFund) -> bool:
    """The fund's owner, or an administrator over the fund's organisation."""
    return getattr(user, "pk", None) == fund.owner_id or can(user, "admin", fund.org)


@transaction.atomic
def fund_create(*, name: str, org: Organisation, owner: Any, parent: CareFund | None = None, by: Any = None) -> CareFund:
    """Open a care fund for `org` with its ledger account (fen, floor 0). A sub-fund's organisation lies inside its
    parent fund's. Raises CareError."""
    name = _text(name, "name", 100)
    if parent is not None and not org.path.startswith(parent.org.path):
        raise CareError({"org": ["下级基金的组织须在上级基金的组织之内"]})
    if getattr(owner, "pk", None) is None:
        raise CareError({"owner": ["须指定基金负责人"]})
    if CareFund.objects.filter(org=org, name=name).exists():
        raise CareError({"name": ["本组织已有同名基金"]})
    fund = CareFund.objects.create(name=name, org=org, owner=owner, parent=parent)
    fund.account = ledger.account_open(name=name, owner_type=OwnerType.FUND, owner_id=fund.pk, unit=Unit.CNY,
                                       org=org, floor=0, purpose="care", actor=by)
    fund.save(update_fields=["account"])
    audit_record(by=by, action="create", obj=fund, after=snapshot(fund), summary=f"设立关爱基金 {name}")
    return fund


@transaction.atomic
def fund_contribute(*, fund: CareFund, amount: int, memo: str, key: str, by: Any = None):
    """Money into a fund from outside (donation, budget). `key` makes it idempotent. Raises CareError/LedgerError."""
    memo = _text(memo, "memo", 200)
    txn = ledger.ledger_post(entries=[(income_account(), -amount), (fund.account_id, amount)],
                             memo=f"{fund.name}：{memo}", kind="care.contribution", key=f"care.contribution:{key}",
                             actor=by)
    audit_record(by=by, action="create", obj=txn, summary=f"关爱基金 {fund.name} 入账 {format_yuan(amount)} 元")
    return txn


@transaction.atomic
def fund_allocate(*, source: CareFund, target: CareFund, amount: int, memo: str, key: str, by: Any = None):
    """Move money from a fund to one of its direct sub-funds. Only the source fund's owner (or an administrator over
    it) may; the source never goes below zero. Raises CareError or the ledger's FloorCrossed."""
    if target.parent_id != source.pk:
        raise CareError({"target": ["只能下拨给直接下级基金"]})
    if not may_manage_fund(by, source):
        raise CareError("只有基金负责人可以下拨资金")
    memo = _text(memo or "下拨", "memo", 200)
    txn = ledger.ledger_post(entries=[(source.account_id, -amount), (target.account_id, amount)],
                             memo=f"{source.name} → {target.name}：{memo}", kind="care.allocation",
                             key=f"care.allocation:{key}", actor=by)
    audit_record(by=by, action="create", obj=txn,
                 summary=f"{source.name} 下拨 {format_yuan(amount)} 元至 {target.name}")
    return txn


@transaction.atomic
def disbursement_request(*, fund: CareFund, case: CareCase, amount: int, reason: str, by: Any,
                         now: dt.datetime | None = None) -> Disbursement:
    """Ask for aid from `fund` for `case`. The applicant is one of the case's carers or staff over its organisation;
    the case lies within the fund's organisation. Raises CareError."""
    if not (can(by, "change", case.org) or case.carers.filter(pk=getattr(by, "pk", None)).exists()):
        raise CareError("只有结对关爱人或本组织工作人员可以申请")
    if case.status != CareCase.Status.OPEN:
        raise CareError("关爱对象已结束关爱")
    if not case.org.path.startswith(fund.org.path):
        raise CareError({"fund": ["关爱对象不在该基金的范围内"]})
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise CareError({"amount": ["金额须为正的整数（分）"]})
    reason = _text(reason, "reason", 300)
    d = Disbursement.objects.create(fund=fund, case=case, amount=amount, reason=reason, requested_by=by,
                                    requested_at=now or timezone.now())
    audit_record(by=by, action="create", obj=d, after=snapshot(d), summary=f"申请关爱资金 {format_yuan(amount)} 元")
    return d


def may_review(user: Any, d: Disbursement) -> bool:
    return can(user, "change", d.case.org) and getattr(user, "pk", None) != d.requested_by_id


def may_decide(user: Any, d: Disbursement) -> bool:
    return getattr(user, "pk", None) in (d.fund.owner_id,) and user.pk != d.requested_by_id


@transaction.atomic
def disbursement_review(*, disbursement: Disbursement, by: Any, approve: bool, note: str = "",
                        now: dt.datetime | None = None) -> Disbursement:
    """The secretary's review: passed on to the fund owner, or rejected. Not by the applicant. Raises CareError."""
    d = disbursement
    if not may_review(by, d):
        raise CareError("只有本组织书记（非申请人）可以审核")
    note = _text(note, "note", 300, required=not approve)
    status = Disbursement.Status.REVIEWED if approve else Disbursement.Status.REJECTED
    now = now or timezone.now()
    fields = {"status": status, "reviewed_by": by, "reviewed_at": now}
    if not approve:
        fields.update(decision_note=note, decided_by=by, decided_at=now)
    if Disbursement.objects.filter(pk=d.pk, status=Disbursement.Status.REQUESTED).update(**fields) != 1:
        raise CareError("该申请已经审核过")
    d.refresh_from_db()
    audit_record(by=by, action="update", obj=d, after={"status": status, "note": note},
                 summary=f"审核关爱资金申请 #{d.pk}：{d.get_status_display()}")
    return d


@transaction.atomic
def disbursement_decide(*, disbursement: Disbursement, by: Any, approve: bool, note: str = "",
                        now: dt.datetime | None = None) -> Disbursement:
    """The fund owner's decision on a reviewed request. Approval pays it at once: fund → aid on the ledger, keyed by
    the request, so it is paid at most once and the fund never goes below zero (decided by the database when
    several are paid at the same time). Raises CareError, or FloorCrossed (nothing changes) when the fund is short."""
    d = disbursement
    if not may_decide(by, d):
        raise CareError("只有基金负责人（非申请人）可以审批")
    note = _text(note, "note", 300, required=not approve)
    now = now or timezone.now()
    current = Disbursement.objects.filter(pk=d.pk, status=Disbursement.Status.REVIEWED)
    if not approve:
        if current.update(status=Disbursement.Status.REJECTED, decided_by=by, decided_at=now,
                          decision_note=note) != 1:
            raise CareError("该申请不在待审批状态")
    else:
        if not current.exists():
            raise CareError("该申请不在待审批状态")
        txn = ledger.ledger_post(
            entries=[(d.fund.account_id, -d.amount), (aid_account(), d.amount)],
            memo=f"{d.fund.name} 拨付 {d.case.member}：{d.reason}"[:300], kind="care.disbursement",
            key=f"care.disbursement:{d.pk}", actor=by)
        if current.update(status=Disbursement.Status.PAID, decided_by=by, decided_at=now, decision_note=note,
                          transaction=txn) != 1:
            raise CareError("该申请不在待审批状态")
    d.refresh_from_db()
    audit_record(by=by, action="update", obj=d, after={"status": d.status, "note": note},
                 summary=f"审批关爱资金申请 #{d.pk}：{d.get_status_display()}")
    return d


def fund_statement(fund: CareFund, *, start: dt.date | None = None, end: dt.date | None = None):
    """The fund's ledger entries in [start, end] (local dates), oldest first, each with its running balance."""
    since = timezone.make_aware(dt.datetime.combine(start, dt.time())) if start else None
    until = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time())) if end else None
    return ledger.account_statement(fund.account_id, since=since, until=until)


def fund_statement_sheet(fund: CareFund, *, start: dt.date | None, end: dt.date | None, by: Any = None):
    """The period's statement as a core.excel Sheet (amounts in yuan). Audited as an export."""
    from xianfeng.core.excel import Sheet

    rows = []
    for entry in fund_statement(fund, start=start, end=end):
        txn = entry.transaction
        rows.append([timezone.localtime(txn.created_at), txn.kind, txn.memo,
                     entry.amount / 100 if entry.amount > 0 else None,
                     -entry.amount / 100 if entry.amount < 0 else None, entry.running_balance / 100])
    audit_record(by=by, action="export", obj=fund,
                 summary=f"导出关爱基金对账单 {fund.name} {start or ''}–{end or ''}（{len(rows)} 行）")
    return Sheet(title="对账单", headers=["时间", "类型", "摘要", "收入（元）", "支出（元）", "余额（元）"], rows=rows,
                 widths={"时间": 20, "摘要": 50})


# ------------------------------------------------------------------------------------------------------------ cases


def may_care(user: Any, case: CareCase) -> bool:
    """Staff over the case's organisation, or one of its carers."""
    return can(user, "change", case.org) or case.carers.filter(pk=getattr(user, "pk", None)).exists()


@transaction.atomic
def case_open(*, member: Member, org: Organisation, reason: str, by: Any, carers: list | None = None,
              visit_every_days: int = 30, next_visit_due: dt.date | None = None, notes: str = "",
              today: dt.date | None = None) -> CareCase:
    """Put a member in need under care, with carers and a visit period. Raises CareError."""
    if not can(by, "change", org):
        raise CareError("无权在该组织建立关爱对象")
    member_orgs = [member.org] + ([member.managing_org] if member.managing_org_id else [])
    if not any(o.path.startswith(org.path) for o in member_orgs):
        raise CareError({"member": ["该党员不属于这个组织"]})
    if reason not in CareCase.Reason.values:
        raise CareError({"reason": ["未知的关爱原因"]})
    if not isinstance(visit_every_days, int) or not 1 <= visit_every_days <= 366:
        raise CareError({"visit_every_days": ["走访周期须为1到366天"]})
    if CareCase.objects.filter(member=member, status=CareCase.Status.OPEN).exists():
        raise CareError({"member": ["该党员已是关爱对象"]})
    today = today or timezone.localdate()
    case = CareCase.objects.create(member=member, org=org, reason=reason, notes=_text(notes, "notes", 2000,
                                   required=False), visit_every_days=visit_every_days,
                                   next_visit_due=next_visit_due or today + dt.timedelta(days=visit_every_days),
                                   opened_on=today, created_by=by if getattr(by, "pk", None) else None)
    if carers:
        case.carers.set(carers)
    audit_record(by=by, action="create", obj=case, after=snapshot(case), summary=f"建立关爱对象 {member}")
    return case


@transaction.atomic
def case_close(*, case: CareCase, by: Any, today: dt.date | None = None) -> CareCase:
    if not can(by, "change", case.org):
        raise CareError("无权结束该关爱对象")
    if CareCase.objects.filter(pk=case.pk, status=CareCase.Status.OPEN).update(
            status=CareCase.Status.CLOSED, closed_on=today or timezone.localdate()) != 1:
        raise CareError("该关爱对象已结束")
    case.refresh_from_db()
    audit_record(by=by, action="update", obj=case, after={"status": case.status}, summary=f"结束关爱 {case}")
    return case


@transaction.atomic
def action_record(*, case: CareCase, kind: str, date: dt.date, notes: str, by: Any,
                  disbursement: Disbursement | None = None, today: dt.date | None = None) -> CareAction:
    """Log a visit, aid or 春风 action. A visit (or 春风 action) moves the next visit to its date + the case's
    period. Raises CareError for a date in the future, an unknown kind, or a user who is not a carer or staff."""
    if not may_care(by, case):
        raise CareError("只有结对关爱人或本组织工作人员可以记录")
    if kind not in CareAction.Kind.values:
        raise CareError({"kind": ["未知的行动类型"]})
    today = today or timezone.localdate()
    if not isinstance(date, dt.date) or date > today:
        raise CareError({"date": ["日期不能晚于今天"]})
    if disbursement is not None and disbursement.case_id != case.pk:
        raise CareError({"disbursement": ["拨付不属于该关爱对象"]})
    action = CareAction.objects.create(case=case, kind=kind, date=date, notes=_text(notes, "notes", 2000),
                                       disbursement=disbursement, recorded_by=by if getattr(by, "pk", None) else None)
    if kind in VISIT_KINDS:
        last = case.actions.filter(kind__in=VISIT_KINDS).order_by("-date").values_list("date", flat=True).first()
        due = last + dt.timedelta(days=case.visit_every_days)
        CareCase.objects.filter(pk=case.pk).update(next_visit_due=due)
        case.next_visit_due = due
    audit_record(by=by, action="create", obj=action, summary=f"{action.get_kind_display()} {case.member} {date}")
    return action


def _role_holders(org_ids: list[int], kinds: tuple[str, ...]) -> dict[int, list[int]]:
    """{organisation id: [user ids holding one of `kinds` there]} for active users."""
    holders: dict[int, list[int]] = {}
    rows = (Role.objects.filter(org_id__in=org_ids, kind__in=kinds, user__is_active=True)
            .order_by("user_id").values_list("org_id", "user_id"))
    for org_id, user_id in rows:
        holders.setdefault(org_id, []).append(user_id)
    return holders


def _ancestor_ids(org: Organisation) -> list[int]:
    """`org` and its ancestors, nearest first."""
    prefixes = [org.path[:i] for i in range(len(org.path), 0, -4)]
    by_path = dict(Organisation.objects.filter(path__in=prefixes).values_list("path", "pk"))
    return [by_path[p] for p in prefixes if p in by_path]


@transaction.atomic
def cases_flag_overdue(*, today: dt.date | None = None) -> int:
    """Tell the secretary (of the case's organisation, else the nearest one above) about each open case whose visit
    is overdue, once per due date. Returns how many cases were flagged."""
    today = today or timezone.localdate()
    User = get_user_model()
    flagged = 0
    cases = (CareCase.objects.overdue(today).exclude(overdue_notified_for=F("next_visit_due"))
             .select_related("org", "member__person"))
    for case in cases:
        chain = _ancestor_ids(case.org)
        holders = _role_holders(chain, ("secretary",))
        users = next((holders[o] for o in chain if o in holders), [])
        for user in User.objects.filter(pk__in=users):
            notify(to=user, kind="care.visit_overdue", subject=f"关爱走访逾期：{case.member}",
                   body=f"{case.member}（{case.get_reason_display()}）应于 {case.next_visit_due} 前走访，已逾期。",
                   link=reverse("care:case_detail", args=[case.pk]),
                   key=f"care.case:{case.pk}:overdue:{case.next_visit_due}")
        CareCase.objects.filter(pk=case.pk).update(overdue_notified_for=case.next_visit_due)
        flagged += 1
    return flagged


# ---------------------------------------------------------------------------------------------------------- devices


@transaction.atomic
def policy_save(*, org: Organisation, name: str, by: Any, ack_timeout_seconds: int = 60, repeat_seconds: int = 60,
                channels: list[str] | None = None, is_default: bool = True,
                policy: EscalationPolicy | None = None) -> EscalationPolicy:
    """Create (or, given `policy`, change) an escalation policy. A change applies to alerts raised afterwards: each
    alert keeps the copy it was raised with. Raises CareError."""
    if not can(by, "change", org):
        raise CareError("无权设置该组织的响应链")
    for field, value in (("ack_timeout_seconds", ack_timeout_seconds), ("repeat_seconds", repeat_seconds)):
        if not isinstance(value, int) or isinstance(value, bool) or not 5 <= value <= 3600:
            raise CareError({field: ["须为5到3600秒"]})
    channels = list(channels if channels is not None else alert_channels())
    unknown = set(channels) - set(Channel.values)
    if unknown or not channels:
        raise CareError({"channels": [f"渠道无效：{', '.join(sorted(unknown)) or '至少选一个'}"]})
    before = snapshot(policy) if policy else None
    if is_default:
        EscalationPolicy.objects.filter(org=org, is_default=True).exclude(pk=getattr(policy, "pk", None)).update(
            is_default=False)
    policy = policy or EscalationPolicy(org=org)
    policy.name = _text(name, "name", 100)
    policy.ack_timeout_seconds, policy.repeat_seconds = ack_timeout_seconds, repeat_seconds
    policy.channels, policy.is_default = channels, is_default
    policy.save()
    audit_record(by=by, action="update" if before else "create", obj=policy, before=before, after=snapshot(policy),
                 summary=f"响应链 {policy.name}")
    return policy


def _offline_after(device: Device, now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(minutes=device.heartbeat_minutes * float(conf("CARE_OFFLINE_AFTER_INTERVALS")))


@transaction.atomic
def device_register(*, serial: str, holder: Any, org: Organisation, address: str, by: Any, model: str = "",
                    grid: str = "", case: CareCase | None = None, heartbeat_minutes: int = 30,
                    policy: EscalationPolicy | None = None, installed_on: dt.date | None = None,
                    now: dt.datetime | None = None) -> Device:
    """Register a device with a fresh signing secret (shown to the installer once, on the device's page for staff).
    Raises CareError."""
    if not can(by, "change", org):
        raise CareError("无权在该组织登记设备")
    serial = _text(serial, "serial", 40)
    if not re.match(r"^[A-Za-z0-9_\-]+$", serial):
        raise CareError({"serial": ["序列号只能含字母、数字、横线和下划线"]})
    if Device.objects.filter(serial=serial).exists():
        raise CareError({"serial": ["该序列号已登记"]})
    _check_heartbeat(heartbeat_minutes)
    _check_policy(policy, org)
    if case is not None and not can(by, "change", case.org):  # (the case may be kept by the member's workplace)
        raise CareError({"case": ["无权关联该关爱对象"]})
    if getattr(holder, "pk", None) is None:
        raise CareError({"holder": ["须指定使用人"]})
    now = now or timezone.now()
    device = Device(serial=serial, model=_text(model, "model", 60, required=False), holder=holder, org=org,
                    address=_text(address, "address", 200), grid=_text(grid, "grid", 60, required=False), case=case,
                    policy=policy, secret=secrets.token_hex(32), heartbeat_minutes=heartbeat_minutes,
                    installed_on=installed_on or timezone.localdate(now))
    device.offline_after = _offline_after(device, now)
    device.save()
    audit_record(by=by, action="create", obj=device, after={"serial": serial, "org": org.pk},
                 summary=f"登记一键通设备 {serial}")
    return device


@transaction.atomic
def device_contact_add(*, device: Device, user: Any, level: int, relation: str, by: Any) -> DeviceContact:
    if not can(by, "change", device.org):
        raise CareError("无权修改该设备的响应人")
    if level not in (1, 2) or relation not in DeviceContact.Relation.values:
        raise CareError({"level": ["级别须为1（志愿者、家属）或2（网格团队）"]})
    if not getattr(user, "is_active", False):
        raise CareError({"user": ["响应人须为有效用户"]})
    contact, _ = DeviceContact.objects.get_or_create(device=device, user=user, level=level,
                                                     defaults={"relation": relation})
    audit_record(by=by, action="create", obj=contact, summary=f"设备 {device.serial} 增加{level}级响应人 {user}")
    return contact


def _check_policy(policy: EscalationPolicy | None, org: Organisation) -> None:
    """A device may name a policy of its own organisation or of one above it."""
    if policy is not None and not org.path.startswith(policy.org.path):
        raise CareError({"policy": ["响应链须属于设备所在组织或其上级"]})


def _check_heartbeat(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 24 * 60:
        raise CareError({"heartbeat_minutes": ["心跳间隔须为1到1440分钟"]})
    return value


@transaction.atomic
def device_update(*, device: Device, by: Any, model: str, address: str, grid: str = "", heartbeat_minutes: int,
                  policy: EscalationPolicy | None = None, is_active: bool = True,
                  now: dt.datetime | None = None) -> Device:
    """Change a device's facts, its heartbeat interval (the offline deadline moves with it), its policy, or switch it
    off (an inactive device's messages are refused and it is never marked offline). Raises CareError."""
    if not can(by, "change", device.org):
        raise CareError("无权修改该设备")
    _check_policy(policy, device.org)
    before = snapshot(device)
    device.model = _text(model, "model", 60, required=False)
    device.address = _text(address, "address", 200)
    device.grid = _text(grid, "grid", 60, required=False)
    device.heartbeat_minutes = _check_heartbeat(heartbeat_minutes)
    device.policy, device.is_active = policy, bool(is_active)
    device.offline_after = _offline_after(device, device.last_heartbeat_at or now or timezone.now())
    device.save(update_fields=["model", "address", "grid", "heartbeat_minutes", "policy", "is_active",
                               "offline_after"])
    audit_record(by=by, action="update", obj=device, before=before, after=snapshot(device),
                 summary=f"修改一键通设备 {device.serial}")
    return device


@transaction.atomic
def device_contact_remove(*, contact: DeviceContact, by: Any) -> None:
    """Take a person off a device's chain (alerts already raised keep the chain they were raised with)."""
    device = contact.device
    if not can(by, "change", device.org):
        raise CareError("无权修改该设备的响应人")
    audit_record(by=by, action="delete", model="care.DeviceContact", object_id=str(contact.pk),
                 before={"device": device.serial, "user": contact.user_id, "level": contact.level},
                 summary=f"设备 {device.serial} 移除{contact.level}级响应人 {contact.user}")
    contact.delete()


@transaction.atomic
def case_carers_set(*, case: CareCase, carers: list, by: Any) -> CareCase:
    """Replace the case's carers (active users). Raises CareError."""
    if not can(by, "change", case.org):
        raise CareError("无权修改该关爱对象")
    if any(not getattr(u, "is_active", False) for u in carers):
        raise CareError({"carers": ["结对关爱人须为有效用户"]})
    before = sorted(case.carers.values_list("pk", flat=True))
    case.carers.set(carers)
    audit_record(by=by, action="update", obj=case, before={"carers": before},
                 after={"carers": sorted(u.pk for u in carers)}, summary=f"调整结对关爱人 {case}")
    return case


# -------------------------------------------------------------------------------------------------- responder chain


class ChainCache:
    """Look-ups shared while building many chains at once (the offline sweep)."""

    def __init__(self) -> None:
        self.ancestors: dict[int, list[int]] = {}
        self.kinds: dict[int, str] = {}
        self.policies: dict[int, EscalationPolicy | None] = {}
        self.duty: dict[int, list[int]] = {}

    def load(self, org: Organisation) -> None:
        if org.pk in self.ancestors:
            return
        ids = _ancestor_ids(org)
        self.ancestors[org.pk] = ids
        missing = [i for i in ids if i not in self.kinds]
        if missing:
            self.kinds.update(dict(Organisation.objects.filter(pk__in=missing).values_list("pk", "kind")))
            self.duty.update({i: [] for i in missing})
            self.duty.update(_role_holders(missing, ("duty_officer",)))
            defaults = {p.org_id: p for p in EscalationPolicy.objects.filter(org_id__in=missing, is_default=True)}
            self.policies.update({i: defaults.get(i) for i in missing})


def _prefixes(path: str) -> list[str]:
    """The paths of an organisation and its ancestors, nearest first."""
    return [path[:i] for i in range(len(path), 0, -4)]


def _assemble(contacts: dict[int, list[int]], community: list[int], town: list[int]) -> list[dict]:
    """The chain's four levels (empty ones kept, skipped when called); the county administrators as a last resort
    when nobody at all is in it."""
    chain = [{"level": 1, "users": contacts.get(1, [])}, {"level": 2, "users": contacts.get(2, [])},
             {"level": 3, "users": community}, {"level": 4, "users": [u for u in town if u not in community]}]
    if not any(level["users"] for level in chain):
        chain.append({"level": 5, "users": _county_admins()})
    for level in chain:
        level["label"] = LEVEL_LABELS[level["level"]]
    return chain


def _chain_people(device: Device, *, offline: bool) -> tuple[dict[int, list[int]], list[int], list[int]]:
    """(contacts by level, the community's duty officers, the nearest town's) in one query: the device's active
    contacts UNION the active duty officers of its organisation and of the towns (streets) above it."""
    level = Case(When(org_id=device.org_id, then=Value(3)), default=Value(4), output_field=IntegerField())
    duty = (Role.objects.filter(kind=Role.Kind.DUTY_OFFICER, user__is_active=True,
                                org__path__in=_prefixes(device.org.path))
            .filter(Q(org_id=device.org_id) | Q(org__kind__in=[OrgKind.TOWN, OrgKind.STREET]))
            .order_by().annotate(lv=level, uid=F("user_id"), dep=F("org__depth")).values_list("lv", "uid", "dep"))
    rows = duty
    if not offline:
        contacts = (DeviceContact.objects.filter(device_id=device.pk, user__is_active=True).order_by()
                    .annotate(lv=F("level"), uid=F("user_id"), dep=Value(0, output_field=IntegerField()))
                    .values_list("lv", "uid", "dep"))
        rows = contacts.union(duty, all=True)
    by_level: dict[int, list[int]] = {1: [], 2: []}
    community: list[int] = []
    towns: dict[int, list[int]] = {}
    for lv, uid, depth in sorted(set(rows)):
        if lv in (1, 2):
            by_level[lv].append(uid)
        elif lv == 3:
            community.append(uid)
        else:
            towns.setdefault(depth, []).append(uid)
    return by_level, community, towns[max(towns)] if towns else []


def _policy_for(device: Device) -> EscalationPolicy | None:
    """The device's own policy, else the default of its organisation or the nearest one above."""
    if device.policy_id:
        return device.policy
    return (EscalationPolicy.objects.filter(is_default=True, org__path__in=_prefixes(device.org.path))
            .order_by("-org__depth").first())


def build_chain(device: Device, *, offline: bool = False, cache: ChainCache | None = None):
    """The responder chain for an alert on `device` now, and the policy in force.

    Level 1: the device's paired volunteer and family; 2: its grid team; 3: duty officers of its community (village);
    4: duty officers of the town (street) above. Offline alerts go to the duty officers only. Levels nobody holds are
    kept empty and skipped when called. If no level has anyone, the county administrators are the last resort.
    Without `cache`: two queries (one with a device policy of its own). With it (the offline sweep): none once the
    organisations above are cached, plus one for the contacts of a press.
    """
    if cache is None:
        contacts, community, town = _chain_people(device, offline=offline)
        return _assemble(contacts, community, town), _policy_for(device)
    cache.load(device.org)
    ancestors = cache.ancestors[device.org.pk]
    policy = device.policy or next((cache.policies[o] for o in ancestors if cache.policies.get(o)), None)
    contacts: dict[int, list[int]] = {1: [], 2: []}
    if not offline:
        for user_id, level in device.contacts.filter(user__is_active=True).values_list("user_id", "level"):
            contacts[level].append(user_id)
    town_id = next((o for o in ancestors[1:] if cache.kinds.get(o) in (OrgKind.TOWN, OrgKind.STREET)), None)
    return _assemble(contacts, cache.duty.get(device.org.pk, []), cache.duty.get(town_id, []) if town_id else []), policy


def _county_admins() -> list[int]:
    return list(Role.objects.filter(kind="county_admin", org__depth=1, user__is_active=True)
                .order_by("user_id").values_list("user_id", flat=True).distinct())


def _next_level(chain: list[dict], after: int) -> int | None:
    return next((lv["level"] for lv in chain if lv["level"] > after and lv["users"]), None)


def _level_users(chain: list[dict], level: int) -> list[int]:
    return next((lv["users"] for lv in chain if lv["level"] == level), [])


# ----------------------------------------------------------------------------------------------------------- alerts


class AlertClosed(CareError):
    """The alert is no longer in the state the action needs (acknowledged already, resolved …)."""


def ack_token(alert: Alert, user: Any) -> str:
    """A signed token naming the alert and the responder: the one-tap link's proof, valid CARE_ACK_LINK_MAX_AGE."""
    return signing.dumps({"a": alert.pk, "u": getattr(user, "pk", user)}, salt=ACK_SALT, compress=True)


def ack_token_read(token: str) -> tuple[int, int] | None:
    """(alert id, user id) from a token, or None if it is forged, malformed or expired."""
    try:
        data = signing.loads(token, salt=ACK_SALT, max_age=int(conf("CARE_ACK_LINK_MAX_AGE")))
        return int(data["a"]), int(data["u"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def may_respond(user: Any, alert: Alert) -> bool:
    """Someone in the alert's chain, staff over its organisation, or a duty officer over it."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.pk in alert.chain_users() or can(user, "change", alert.org):
        return True
    return Role.objects.filter(user=user, kind="duty_officer", org__pk__in=_ancestor_ids(alert.org)).exists()


def _new_alert(*, device: Device, kind: str, key: str, now: dt.datetime, event: DeviceEvent | None,
               cache: ChainCache | None = None) -> Alert:
    """An unsaved alert with the responder chain and the policy in force copied onto it."""
    chain, policy = build_chain(device, offline=kind == Alert.Kind.OFFLINE, cache=cache)
    timeout = policy.ack_timeout_seconds if policy else int(conf("CARE_ACK_TIMEOUT_SECONDS"))
    repeat = policy.repeat_seconds if policy else int(conf("CARE_REPEAT_SECONDS"))
    if kind == Alert.Kind.OFFLINE:
        timeout = max(timeout, int(conf("CARE_OFFLINE_ACK_TIMEOUT_SECONDS")))
        repeat = max(repeat, int(conf("CARE_OFFLINE_REPEAT_SECONDS")))
    return Alert(device=device, org_id=device.org_id, kind=kind, key=key, event=event, raised_at=now, chain=chain,
                 ack_timeout_seconds=timeout, repeat_seconds=repeat,
                 channels=list(policy.channels) if policy and policy.channels else alert_channels())


def _alert_text(alert: Alert) -> tuple[str, str]:
    device = alert.device
    holder = device.holder.name
    at = timezone.localtime(alert.raised_at)
    if alert.kind == Alert.Kind.OFFLINE:
        return f"一键通离线：{holder}", f"{device.address}（{device.serial}）的设备 {at:%H:%M} 起无心跳，请联系确认。"
    what = "测试呼叫" if alert.kind == Alert.Kind.TEST else "紧急呼叫"
    return f"一键通{what}：{holder}", f"{holder} 在 {device.address} 按下了呼叫键（{at:%H:%M:%S}）。请点链接确认响应。"


@dataclass
class _Call:
    """What calling one level writes: its people paged, the event, the next step, the jobs to queue."""

    notified: list[int]
    event: AlertEvent
    following: AlertStep
    jobs: list[tuple[str, dict[str, Any], dt.datetime, str]]


def _call_level(alert: Alert, *, seq: int, level: int, now: dt.datetime,
                people: list[notify_bulk_rows.Recipient] | None = None) -> _Call:
    """Page `level` of `alert`'s chain as step `seq` (inside the caller's transaction; one query for the people,
    three INSERTs for their notifications) and work out the next step: the next level with anyone in it after
    `ack_timeout_seconds`, or this level again after `repeat_seconds`."""
    if people is None:
        people = notify_bulk_rows.recipients(_level_users(alert.chain, level), ALERT_KIND, alert.channels)
    subject, body = _alert_text(alert)
    links = {p.pk: reverse("care:ack", args=[ack_token(alert, p.pk)]) for p in people}
    jobs = notify_bulk_rows.notify_bulk(people=people, kind=ALERT_KIND, subject=subject, body=body, links=links,
                       key=f"care.alert:{alert.pk}:step:{seq}", default_channels=alert.channels, now=now)
    names = "、".join(p.name for p in people) or "无人"
    event = AlertEvent(alert=alert, at=now, kind=AlertEvent.Kind.CALLED if people else AlertEvent.Kind.SKIPPED,
                       level=level, detail=f"{LEVEL_LABELS.get(level, '')}：{names}"[:500])
    following = _next_level(alert.chain, level)
    if following is not None:
        nxt, due = following, now + dt.timedelta(seconds=alert.ack_timeout_seconds)
    else:
        nxt, due = level, now + dt.timedelta(seconds=alert.repeat_seconds)
    return _Call(notified=[p.pk for p in people], event=event, jobs=jobs,
                 following=AlertStep(alert=alert, seq=seq + 1, level=nxt, due_at=due))


def _step_job(step: AlertStep) -> tuple[str, dict[str, Any], dt.datetime, str]:
    return STEP_JOB, {"step_id": step.pk}, step.due_at, f"{STEP_JOB}:{step.pk}"


def _first_call(alert: Alert, *, now: dt.datetime, people: list[notify_bulk_rows.Recipient] | None = None) -> None:
    """Call the first level now, in the raising transaction (the alert row exists, with calls = 1): the raised and
    called events, step 1 done and step 2 pending, the notifications, and the jobs (step 2, the deliveries)."""
    level = alert.current_level
    call = _call_level(alert, seq=1, level=level, now=now, people=people)
    raised = AlertEvent(alert=alert, at=now, kind=AlertEvent.Kind.RAISED,
                        detail=f"{alert.get_kind_display()}，{alert.device.address}"[:500])
    AlertEvent.objects.bulk_create([raised, call.event])
    first = AlertStep(alert=alert, seq=1, level=level, due_at=now, status=AlertStep.Status.DONE, ran_at=now,
                      ran_by="inline", notified=call.notified)
    AlertStep.objects.bulk_create([first, call.following])
    jobs_schedule_new([*call.jobs, _step_job(call.following)])


def _first_steps_pending(alerts: list[Alert], *, now: dt.datetime) -> None:
    """Leave the first calls to the worker: for each alert its raised event and step 1 due now with its job (three
    INSERTs however many alerts)."""
    AlertEvent.objects.bulk_create([
        AlertEvent(alert=a, at=now, kind=AlertEvent.Kind.RAISED, detail=f"{a.get_kind_display()}，{a.device.address}"[:500])
        for a in alerts])
    steps = AlertStep.objects.bulk_create([
        AlertStep(alert=a, seq=1, level=a.current_level or _first_level(a.chain), due_at=now) for a in alerts])
    jobs_schedule_new([_step_job(step) for step in steps])


def _first_level(chain: list[dict]) -> int:
    return _next_level(chain, 0) or chain[0]["level"]


def first_level_people(alert: Alert) -> list[notify_bulk_rows.Recipient]:
    """The people the first call of a new alert pages (read before the raising transaction, to keep it short)."""
    return notify_bulk_rows.recipients(_level_users(alert.chain, _first_level(alert.chain)), ALERT_KIND, alert.channels)


def _insert_alert(alert: Alert, *, now: dt.datetime, inline: bool,
                  people: list[notify_bulk_rows.Recipient] | None = None) -> Alert:
    """Save a new alert and make or schedule its first call (inside the caller's transaction). With `inline`, the
    first call is written in this transaction, so it is recorded exactly when the alert is; if it fails, the
    savepoint is undone and the first step is left pending with its job — the worker makes the call. Raises
    IntegrityError if an alert with the key exists (the caller answers with that one)."""
    level = _first_level(alert.chain)
    alert.current_level, alert.calls = (level, 1) if inline else (0, 0)
    alert.save(force_insert=True)
    if inline:
        try:
            with transaction.atomic():
                _first_call(alert, now=now, people=people)
            return alert
        except Exception:
            logger.exception("first call of alert %s failed in its transaction; the worker will make it", alert.pk)
            Alert.objects.filter(pk=alert.pk).update(current_level=0, calls=0)
            alert.current_level, alert.calls = 0, 0
    _first_steps_pending([alert], now=now)
    return alert


@transaction.atomic
def alert_raise(*, device: Device, kind: str, key: str, now: dt.datetime | None = None,
                event: DeviceEvent | None = None) -> tuple[Alert, bool]:
    """Raise an alert on `device` (idempotent by `key`). The first call is recorded in this transaction
    (CARE_INLINE_FIRST_STEP; else the worker's job makes it). `device` needs its org, holder and policy loaded
    (select_related) to save queries. Returns (alert, created)."""
    if kind not in Alert.Kind.values:
        raise CareError({"kind": ["未知的警报类型"]})
    now = now or timezone.now()
    existing = Alert.objects.filter(key=key).first()
    if existing is not None:
        return existing, False
    alert = _new_alert(device=device, kind=kind, key=key, now=now, event=event)
    try:
        with transaction.atomic():
            return _insert_alert(alert, now=now, inline=bool(conf("CARE_INLINE_FIRST_STEP"))), True
    except IntegrityError:
        return Alert.objects.get(key=key), False


def alert_step_run(*, step_id: int, now: dt.datetime | None = None, ran_by: str = "worker") -> str:
    """Call one step's level (the `care.alert_step` job, the clock in tests, the rescue). Safe to run any number
    of times and at the same time: the step row is locked and only a pending step is called, in the transaction
    that marks it done. Returns the step's status afterwards ("missing" if there is no such step)."""
    with transaction.atomic():
        step = AlertStep.objects.select_for_update().filter(pk=step_id).first()
        if step is None:
            return "missing"
        if step.status != AlertStep.Status.PENDING:
            return step.status
        alert = (Alert.objects.select_for_update(of=("self",)).select_related("device__holder")
                 .get(pk=step.alert_id))
        now = now or timezone.now()
        if alert.status != Alert.Status.OPEN:
            AlertStep.objects.filter(pk=step.pk).update(status=AlertStep.Status.CANCELLED)
            return AlertStep.Status.CANCELLED
        call = _call_level(alert, seq=step.seq, level=step.level, now=now)
        AlertStep.objects.filter(pk=step.pk).update(status=AlertStep.Status.DONE, ran_at=now, ran_by=ran_by[:100],
                                                    notified=call.notified)
        Alert.objects.filter(pk=alert.pk).update(current_level=step.level, calls=F("calls") + 1)
        call.event.save()
        call.following.save()
        jobs_schedule_new([*call.jobs, _step_job(call.following)])
    return AlertStep.Status.DONE


def steps_run_due(*, now: dt.datetime | None = None, ran_by: str = "clock") -> int:
    """Run every pending step due by `now`, oldest first, until none is left (a clock-driven loop for tests and the
    rescue). Returns how many steps were called."""
    now = now or timezone.now()
    called = 0
    while True:
        ids = list(AlertStep.objects.filter(status=AlertStep.Status.PENDING, due_at__lte=now)
                   .order_by("due_at", "id").values_list("pk", flat=True)[:200])
        if not ids:
            return called
        for step_id in ids:
            called += alert_step_run(step_id=step_id, now=now, ran_by=ran_by) == AlertStep.Status.DONE


def steps_rescue(*, now: dt.datetime | None = None) -> int:
    """Run pending steps overdue by more than CARE_RESCUE_AFTER_SECONDS — their job was lost or parked. A step whose
    job is merely slow is run here or there, once. Returns how many were called."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=float(conf("CARE_RESCUE_AFTER_SECONDS")))
    called = 0
    for step_id in AlertStep.objects.filter(status=AlertStep.Status.PENDING, due_at__lt=cutoff).order_by(
            "due_at").values_list("pk", flat=True)[:500]:
        if alert_step_run(step_id=step_id, ran_by="rescue") == AlertStep.Status.DONE:
            called += 1
            logger.warning("rescued alert step %s (its job did not run it in time)", step_id)
    return called


def _cancel_pending_steps(alert: Alert) -> None:
    pending = list(alert.steps.filter(status=AlertStep.Status.PENDING).values_list("pk", flat=True))
    AlertStep.objects.filter(pk__in=pending).update(status=AlertStep.Status.CANCELLED)
    for step_id in pending:
        job_cancel(key=f"{STEP_JOB}:{step_id}")


@transaction.atomic
def alert_acknowledge(*, alert: Alert, by: Any, now: dt.datetime | None = None) -> Alert:
    """A responder takes the alert: escalation stops (pending steps cancelled) and those already called are told who
    took it. Raises AlertClosed if somebody acknowledged first, CareError if `by` may not respond."""
    if not may_respond(by, alert):
        raise CareError("您不在该警报的响应人之列")
    now = now or timezone.now()
    seconds = max(0.0, (now - alert.raised_at).total_seconds())
    if Alert.objects.filter(pk=alert.pk, status=Alert.Status.OPEN).update(
            status=Alert.Status.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=by, ack_seconds=seconds) != 1:
        alert.refresh_from_db()
        raise AlertClosed(f"该警报已由 {alert.acknowledged_by or '他人'} 响应")
    alert.refresh_from_db()
    _cancel_pending_steps(alert)
    name = display_name(by)
    AlertEvent.objects.create(alert=alert, at=now, kind=AlertEvent.Kind.ACKNOWLEDGED, by=by,
                              detail=f"{name} 响应（{seconds:.0f} 秒）")
    User = get_user_model()
    called = {u for s in alert.steps.filter(status=AlertStep.Status.DONE) for u in s.notified} - {by.pk}
    for user in User.objects.filter(pk__in=called):
        notify(to=user, kind="care.alert_taken", subject=f"已有人响应：{alert.device.holder.name}",
               body=f"{name} 已响应该呼叫，您无需前往。", link=reverse("care:alert_detail", args=[alert.pk]),
               key=f"care.alert:{alert.pk}:acknowledged", default_channels=[Channel.IN_APP])
    audit_record(by=by, action="update", obj=alert, after={"status": alert.status, "ack_seconds": seconds},
                 summary=f"响应警报 #{alert.pk}")
    return alert


@transaction.atomic
def alert_arrive(*, alert: Alert, by: Any, now: dt.datetime | None = None) -> Alert:
    """The responder is at the member's home. Raises AlertClosed unless the alert is acknowledged."""
    if not may_respond(by, alert):
        raise CareError("您不在该警报的响应人之列")
    now = now or timezone.now()
    seconds = max(0.0, (now - alert.raised_at).total_seconds())
    if Alert.objects.filter(pk=alert.pk, status=Alert.Status.ACKNOWLEDGED).update(
            status=Alert.Status.ON_SITE, arrived_at=now, arrived_by=by, arrive_seconds=seconds) != 1:
        raise AlertClosed("该警报不在“已响应”状态")
    alert.refresh_from_db()
    AlertEvent.objects.create(alert=alert, at=now, kind=AlertEvent.Kind.ARRIVED, by=by,
                              detail=f"到场（{seconds / 60:.0f} 分钟）")
    audit_record(by=by, action="update", obj=alert, after={"status": alert.status}, summary=f"到场 警报 #{alert.pk}")
    return alert


@transaction.atomic
def alert_resolve(*, alert: Alert, by: Any, outcome: str, notes: str = "", now: dt.datetime | None = None) -> Alert:
    """Close an acknowledged alert with its outcome (false alarm, test, helped, hospital …) and notes."""
    if not may_respond(by, alert):
        raise CareError("您不在该警报的响应人之列")
    if outcome not in Alert.Outcome.values or outcome == Alert.Outcome.BACK_ONLINE:
        raise CareError({"outcome": ["请选择处置结果"]})
    notes = _text(notes, "notes", 2000, required=outcome in (Alert.Outcome.HOSPITAL, Alert.Outcome.OTHER))
    now = now or timezone.now()
    if Alert.objects.filter(pk=alert.pk, status__in=[Alert.Status.ACKNOWLEDGED, Alert.Status.ON_SITE]).update(
            status=Alert.Status.RESOLVED, resolved_at=now, resolved_by=by, outcome=outcome, notes=notes) != 1:
        raise AlertClosed("该警报须先响应，且尚未处置")
    alert.refresh_from_db()
    AlertEvent.objects.create(alert=alert, at=now, kind=AlertEvent.Kind.RESOLVED, by=by,
                              detail=f"{alert.get_outcome_display()}：{notes}"[:500])
    audit_record(by=by, action="update", obj=alert, after={"status": alert.status, "outcome": outcome},
                 summary=f"处置警报 #{alert.pk}")
    return alert


# ---------------------------------------------------------------------------------------------------------- ingress


def sign_message(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    """HMAC-SHA256 over '<timestamp>.<nonce>.<body>', hex: what a gateway sends and the server recomputes."""
    return hmac.new(secret.encode(), f"{timestamp}.{nonce}.".encode() + body, hashlib.sha256).hexdigest()


def signed_envelope(device: Device, event: dict, *, timestamp: int | None = None, nonce: str | None = None) -> dict:
    """What a gateway sends for `event`: the body, a timestamp, a nonce and the signature (HTTP headers or MQTT)."""
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    ts = str(int(timestamp if timestamp is not None else timezone.now().timestamp()))
    nonce = nonce or secrets.token_hex(12)
    return {"body": body, "ts": ts, "nonce": nonce, "sig": sign_message(device.secret, ts, nonce, body.encode())}


@dataclass
class IngestResult:
    status: int  # the HTTP status the gateway gets
    outcome: str
    detail: str = ""
    alert: Alert | None = None

    def as_json(self) -> dict:
        data = {"outcome": self.outcome, "detail": self.detail}
        if self.alert is not None:
            data["alert"] = self.alert.pk
        return data


def ingress_max_bytes() -> int:
    """The largest message either path takes (the HTTPS body, the MQTT payload): CARE_INGRESS_MAX_BYTES, 8 KB."""
    return int(getattr(settings, "CARE_INGRESS_MAX_BYTES", 8192))


def refuse_oversize(*, size: int, serial: Any, source: str, now: dt.datetime | None = None) -> IngestResult | None:
    """The size cap, the same for HTTPS and MQTT: a refusal (413, logged like every refusal) for a message larger than
    ingress_max_bytes(), checked before anything parses it; None for one that fits."""
    limit = ingress_max_bytes()
    if size <= limit:
        return None
    return _reject(status=413, outcome=DeviceEvent.Outcome.MALFORMED, detail=f"消息过大（{size:,} 字节，上限 {limit:,}）",
                   serial=str(serial or "")[:40], source=source, now=now or timezone.now())


REFUSAL_WINDOW_SECONDS = 60


def _refusal_rows_allowed(*, source: str, outcome: str, device: Device | None, now: dt.datetime) -> tuple[bool, int]:
    """Whether this refusal may still be written as a row, and how many like it the previous window refused.

    At most CARE_REFUSED_ROWS_PER_MINUTE rows per minute for each (path, outcome, device) — every unknown serial
    counting as one stranger — so a flood of refused messages (random serials, a known serial with a bad signature,
    oversize bodies) cannot grow the table. The database decides (rows already written in this window, one indexed
    range); the cache counts every refusal, written or not, for the next row and the log."""
    from django.core.cache import cache

    cap = int(getattr(settings, "CARE_REFUSED_ROWS_PER_MINUTE", 5))
    window = int(now.timestamp()) // REFUSAL_WINDOW_SECONDS
    who = device.pk if device is not None else "stranger"
    counter = f"care:refused:{source}:{outcome}:{who}:{window}"
    try:
        cache.add(counter, 0, timeout=REFUSAL_WINDOW_SECONDS * 3)
        refused = cache.incr(counter)
        previous = int(cache.get(f"care:refused:{source}:{outcome}:{who}:{window - 1}") or 0)
    except ValueError:  # evicted between add and incr: count this one only
        refused, previous = 1, 0
    if refused <= cap:  # cheap path: this process has not seen the cap yet; the database decides
        start = dt.datetime.fromtimestamp(window * REFUSAL_WINDOW_SECONDS, tz=dt.UTC)
        written = DeviceEvent.objects.filter(source=source, outcome=outcome, device=device, received_at__gte=start,
                                             received_at__lt=start + dt.timedelta(seconds=REFUSAL_WINDOW_SECONDS))
        if written[:cap].count() < cap:
            return True, previous
    if refused == cap + 1:
        logger.warning("device messages refused (%s, %s, %s): more than %d this minute; counting, not storing, the rest",
                       source, outcome, who, cap)
    return False, previous


def _reject(*, status: int, outcome: str, detail: str, serial: str, source: str, now: dt.datetime,
            device: Device | None = None, event_id: str = "", kind: str = "", payload: Any = None) -> IngestResult:
    """Every refusal of both paths: logged as a DeviceEvent row, within the per-minute cap (_refusal_rows_allowed)."""
    allowed, previous = _refusal_rows_allowed(source=source, outcome=outcome, device=device, now=now)
    if allowed:
        logger.warning("device message refused (%s, %s): %s %s", source, serial[:40], outcome, detail)
        if previous:
            payload = {**(payload if isinstance(payload, dict) else {}), "refused_previous_minute": previous}
        DeviceEvent.objects.create(device=device, serial=str(serial)[:40], source=source, event_id=event_id[:100],
                                   kind=kind[:20], outcome=outcome, detail=detail[:300], payload=payload,
                                   received_at=now)
    return IngestResult(status=status, outcome=outcome, detail=detail)


def _parse_event(body: bytes) -> dict:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CareError("消息体不是 JSON") from None
    if not isinstance(data, dict):
        raise CareError("消息体须为 JSON 对象")
    event_id, kind = data.get("event_id"), data.get("type")
    if not isinstance(event_id, str) or not _EVENT_ID_RE.match(event_id):
        raise CareError("event_id 须为1到100个字母、数字或 _.:-")
    if kind not in EVENT_TYPES:
        raise CareError(f"type 须为 {'/'.join(EVENT_TYPES)}")
    battery = data.get("battery")
    if battery is not None and (not isinstance(battery, int) or isinstance(battery, bool) or not 0 <= battery <= 100):
        raise CareError("battery 须为0到100的整数")
    return {"event_id": event_id, "type": kind, "battery": battery}


def ingest(*, serial: Any, body: bytes, timestamp: Any, nonce: Any, signature: Any, source: str,
           now: dt.datetime | None = None) -> IngestResult:
    """One signed message from a device gateway (HTTPS or MQTT). Checks, in order: the device is known and active
    (404), the signature (401), the timestamp within CARE_INGRESS_MAX_SKEW_SECONDS (401), the body (400), the nonce
    unused (409). Then, idempotently by the event id: a press or test raises an alert (201) whose first call is
    recorded in the same transaction, a repeat answers the first alert (200); every accepted message counts as a
    heartbeat. Every refusal is logged as a DeviceEvent.

    The press path is a few statements: the device, its chain and policy, the first level's people (reads, before
    the transaction), then one transaction of single or bulk INSERTs — nonce, event, heartbeat, alert (the policy
    copied onto it), events, steps, notifications, deliveries, attempts, jobs. A replayed nonce or a repeated
    event id fails on its unique index, the transaction is undone, and the slow path below tells which it was."""
    now = now or timezone.now()
    serial = str(serial or "")[:40]
    device = (Device.objects.select_related("org", "holder", "policy").filter(serial=serial).first()
              if serial else None)
    reject = {"serial": serial, "source": source, "now": now, "device": device}
    if device is None:
        return _reject(status=404, outcome=DeviceEvent.Outcome.UNKNOWN_DEVICE, detail="未登记的设备", **reject)
    if not device.is_active:
        return _reject(status=404, outcome=DeviceEvent.Outcome.INACTIVE, detail="设备已停用", **reject)
    signature, timestamp, nonce = str(signature or "").lower(), str(timestamp or ""), str(nonce or "")
    if not _SIG_RE.match(signature) or not _NONCE_RE.match(nonce) or not hmac.compare_digest(
            sign_message(device.secret, timestamp, nonce, body), signature):
        return _reject(status=401, outcome=DeviceEvent.Outcome.BAD_SIGNATURE, detail="签名不正确", **reject)
    try:
        skew = abs(now.timestamp() - int(timestamp))
    except ValueError:
        skew = float("inf")
    if skew > int(conf("CARE_INGRESS_MAX_SKEW_SECONDS")):
        return _reject(status=401, outcome=DeviceEvent.Outcome.STALE, detail="时间戳超出允许范围", **reject)
    try:
        event = _parse_event(body)
    except CareError as exc:
        return _reject(status=400, outcome=DeviceEvent.Outcome.MALFORMED, detail=exc.messages[0], **reject)
    kind = {"press": Alert.Kind.PRESS, "test": Alert.Kind.TEST}.get(event["type"])
    key = f"event:{device.pk}:{event['event_id']}"
    inline = bool(conf("CARE_INLINE_FIRST_STEP"))
    alert = _new_alert(device=device, kind=kind, key=key, now=now, event=None) if kind else None
    people = first_level_people(alert) if alert is not None and inline else None
    try:
        with transaction.atomic():
            DeviceNonce.objects.create(device=device, nonce=nonce, seen_at=now)
            row = DeviceEvent.objects.create(
                device=device, serial=device.serial, source=source, event_id=event["event_id"], kind=event["type"],
                outcome=DeviceEvent.Outcome.ACCEPTED, received_at=now,
                payload={"battery": event["battery"]} if event["battery"] is not None else None)
            if alert is not None:
                alert.event = row
                _insert_alert(alert, now=now, inline=inline, people=people)
                _heartbeat(device=device, battery=event["battery"], now=now)  # last: the device row stays locked
                return IngestResult(status=201, outcome=DeviceEvent.Outcome.ACCEPTED, alert=alert)  # until commit
            _heartbeat(device=device, battery=event["battery"], now=now)
            if event["type"] == "low_battery" or (event["battery"] is not None
                                                   and event["battery"] <= int(conf("CARE_LOW_BATTERY_PCT"))):
                _low_battery(device=device, battery=event["battery"], now=now)
            return IngestResult(status=200, outcome=DeviceEvent.Outcome.ACCEPTED)
    except IntegrityError:
        pass
    if DeviceNonce.objects.filter(device=device, nonce=nonce).exists():
        return _reject(status=409, outcome=DeviceEvent.Outcome.REPLAY, detail="nonce 已使用（重放）", **reject,
                       event_id=event["event_id"], kind=event["type"])
    return _repeat(device=device, event=event, nonce=nonce, key=key, source=source, now=now)


def _repeat(*, device: Device, event: dict, nonce: str, key: str, source: str, now: dt.datetime) -> IngestResult:
    """An event id seen before (the gateway's retry, or the same press by the other path): logged as a duplicate,
    answered with the first alert."""
    with transaction.atomic():
        DeviceNonce.objects.get_or_create(device=device, nonce=nonce, defaults={"seen_at": now})
        DeviceEvent.objects.create(device=device, serial=device.serial, source=source, event_id=event["event_id"],
                                   kind=event["type"], outcome=DeviceEvent.Outcome.DUPLICATE, received_at=now)
    return IngestResult(status=200, outcome=DeviceEvent.Outcome.DUPLICATE, detail="已处理过",
                        alert=Alert.objects.filter(key=key).first())


def _heartbeat(*, device: Device, battery: int | None, now: dt.datetime) -> None:
    fields: dict[str, Any] = {"last_heartbeat_at": now, "offline_after": _offline_after(device, now),
                              "offline_since": None}
    if battery is not None:
        fields["battery_pct"] = battery
    Device.objects.filter(pk=device.pk).update(**fields)
    if device.offline_since is not None:
        for alert in Alert.objects.filter(device=device, kind=Alert.Kind.OFFLINE, status__in=Alert.OPEN_STATES):
            Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.RESOLVED, resolved_at=now,
                                                     outcome=Alert.Outcome.BACK_ONLINE)
            _cancel_pending_steps(alert)
            AlertEvent.objects.create(alert=alert, at=now, kind=AlertEvent.Kind.RESOLVED, detail="设备恢复在线")
    for name, value in fields.items():
        setattr(device, name, value)


def _low_battery(*, device: Device, battery: int | None, now: dt.datetime) -> None:
    """Tell the level-1 contacts and the community's duty officers, once a day per device."""
    User = get_user_model()
    chain, _ = build_chain(device)
    users = set(_level_users(chain, 1)) | set(_level_users(chain, 3))
    level = f"{battery}%" if battery is not None else "低"
    for user in User.objects.filter(pk__in=users, is_active=True):
        notify(to=user, kind="care.low_battery", subject=f"一键通电量低：{device.holder.name}",
               body=f"{device.address} 的设备 {device.serial} 电量{level}，请尽快充电或更换电池。",
               link=reverse("care:device_detail", args=[device.pk]),
               key=f"care.battery:{device.pk}:{timezone.localdate(now)}", default_channels=[Channel.IN_APP])


def devices_offline_sweep(*, now: dt.datetime | None = None, chunk: int = 500) -> int:
    """Mark active devices whose heartbeat deadline passed as offline and raise an offline alert for each (to the
    duty officers; the worker makes the calls). One indexed query finds them; each device is marked once (a
    conditional UPDATE: of two sweeps at once, each marks and raises for its own devices). Per chunk of devices: the
    chains come from a cache of the organisations above; the alerts, their events, first steps and jobs are four
    bulk INSERTs. (Bulk rows send no save signals; no rollup counts offline alerts — calls are presses and tests.)
    Returns how many were raised."""
    now = now or timezone.now()
    due = list(Device.objects.filter(is_active=True, offline_since__isnull=True, offline_after__lt=now)
               .values_list("pk", flat=True))
    cache = ChainCache()
    raised = 0
    for start in range(0, len(due), chunk):
        with transaction.atomic():
            ids = due[start:start + chunk]
            Device.objects.filter(pk__in=ids, offline_since__isnull=True, offline_after__lt=now).update(
                offline_since=now)
            devices = list(Device.objects.filter(pk__in=ids, offline_since=now).select_related("org", "policy"))
            keys = {d.pk: f"offline:{d.pk}:{d.offline_after.isoformat()}" for d in devices}
            seen = set(Alert.objects.filter(key__in=keys.values()).values_list("key", flat=True))
            alerts = Alert.objects.bulk_create([
                _new_alert(device=device, kind=Alert.Kind.OFFLINE, key=keys[device.pk], now=now, event=None,
                           cache=cache) for device in devices if keys[device.pk] not in seen])
            _first_steps_pending(alerts, now=now)
            raised += len(alerts)
    return raised


def nonces_prune(*, now: dt.datetime | None = None) -> int:
    """Drop nonces older than twice the accepted skew: a request that old is refused for its timestamp anyway."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=2 * int(conf("CARE_INGRESS_MAX_SKEW_SECONDS")))
    deleted, _ = DeviceNonce.objects.filter(seen_at__lt=cutoff).delete()
    return deleted
