"""Care cases: members under care, their carers, the actions recorded for them, overdue visits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from xianfeng.core.audit import audit_record, snapshot
from xianfeng.core.policy import allows
from xianfeng.notify.services import notify
from xianfeng.orgs.models import Member, Organisation

from ..models import (
    CareAction,
    CareCase,
    Disbursement,
)
from .common import VISIT_KINDS, CareError, _ancestor_ids, _role_holders, clean_text

# ------------------------------------------------------------------------------------------------------------ cases


@transaction.atomic
def case_open(*, member: Member, org: Organisation, reason: str, actor: Any, carers: list | None = None,
              visit_every_days: int = 30, next_visit_due: dt.date | None = None, notes: str = "",
              today: dt.date | None = None) -> CareCase:
    """Put a member in need under care, with carers and a visit period. Raises CareError."""
    if not allows(actor, "change", org):
        raise CareError("无权在该组织建立关爱对象")
    member_orgs = [member.org, member.managing_org]
    if not any(o is not None and o.path.startswith(org.path) for o in member_orgs):
        raise CareError({"member": ["该党员不属于这个组织"]})
    if reason not in CareCase.Reason.values:
        raise CareError({"reason": ["未知的关爱原因"]})
    if not isinstance(visit_every_days, int) or not 1 <= visit_every_days <= 366:
        raise CareError({"visit_every_days": ["走访周期须为1到366天"]})
    if CareCase.objects.filter(member=member, status=CareCase.Status.OPEN).exists():
        raise CareError({"member": ["该党员已是关爱对象"]})
    today = today or timezone.localdate()
    case = CareCase.objects.create(member=member, org=org, reason=reason, notes=clean_text(notes, "notes", 2000,
                                   required=False, multiline=True), visit_every_days=visit_every_days,
                                   next_visit_due=next_visit_due or today + dt.timedelta(days=visit_every_days),
                                   opened_on=today, created_by=actor if getattr(actor, "pk", None) else None)
    if carers:
        case.carers.set(carers)
    audit_record(by=actor, action="create", obj=case, after=snapshot(case), summary=f"建立关爱对象 {member}")
    return case


@transaction.atomic
def case_close(*, case: CareCase, actor: Any, today: dt.date | None = None) -> CareCase:
    if not allows(actor, "change", case):
        raise CareError("无权结束该关爱对象")
    if CareCase.objects.filter(pk=case.pk, status=CareCase.Status.OPEN).update(
            status=CareCase.Status.CLOSED, closed_on=today or timezone.localdate()) != 1:
        raise CareError("该关爱对象已结束")
    case.refresh_from_db()
    audit_record(by=actor, action="update", obj=case, after={"status": case.status}, summary=f"结束关爱 {case}")
    return case


@transaction.atomic
def action_record(*, case: CareCase, kind: str, date: dt.date, notes: str, actor: Any,
                  disbursement: Disbursement | None = None, today: dt.date | None = None) -> CareAction:
    """Log a visit, aid or 春风 action. A visit (or 春风 action) moves the next visit to its date + the case's
    period. Raises CareError for a date in the future, an unknown kind, or a user who is not a carer or staff."""
    if not allows(actor, "care", case):
        raise CareError("只有结对关爱人或本组织工作人员可以记录")
    if kind not in CareAction.Kind.values:
        raise CareError({"kind": ["未知的行动类型"]})
    today = today or timezone.localdate()
    if not isinstance(date, dt.date) or date > today:
        raise CareError({"date": ["日期不能晚于今天"]})
    if disbursement is not None and disbursement.case_id != case.pk:
        raise CareError({"disbursement": ["拨付不属于该关爱对象"]})
    action = CareAction.objects.create(case=case, kind=kind, date=date, notes=clean_text(notes, "notes", 2000, multiline=True),
                                       disbursement=disbursement, recorded_by=actor if getattr(actor, "pk", None) else None)
    if kind in VISIT_KINDS:
        last = case.actions.filter(kind__in=VISIT_KINDS).order_by("-date").values_list("date", flat=True).first()
        due: dt.date = (last or date) + dt.timedelta(days=case.visit_every_days)
        CareCase.objects.filter(pk=case.pk).update(next_visit_due=due)
        case.next_visit_due = due
    audit_record(by=actor, action="create", obj=action, summary=f"{action.get_kind_display()} {case.member} {date}")
    return action


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



@transaction.atomic
def case_carers_set(*, case: CareCase, carers: list, actor: Any) -> CareCase:
    """Replace the case's carers (active users). Raises CareError."""
    if not allows(actor, "change", case):
        raise CareError("无权修改该关爱对象")
    if any(not getattr(u, "is_active", False) for u in carers):
        raise CareError({"carers": ["结对关爱人须为有效用户"]})
    before = sorted(case.carers.values_list("pk", flat=True))
    case.carers.set(carers)
    audit_record(by=actor, action="update", obj=case, before={"carers": before},
                 after={"carers": sorted(u.pk for u in carers)}, summary=f"调整结对关爱人 {case}")
    return case
