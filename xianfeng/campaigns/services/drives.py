"""The 100-day drive (百日双提升): drives, targets and progress reports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from xianfeng.core.audit import audit_record
from xianfeng.core.text import clean_text
from xianfeng.orgs.models import Organisation

from ..models import (
    Drive,
    DriveProgress,
    DriveTarget,
)
from .common import _in_subtree, _require


@transaction.atomic
def drive_create(*, org: Organisation, name: str, start: dt.date, end: dt.date,
                 targets: list[tuple[Organisation, str, int]] | None = None, actor: Any) -> Drive:
    """A drive with targets (organisation, metric, number), each organisation in `org`'s subtree; the actor
    administers `org` and each target's organisation."""
    _require(actor, "admin", org)
    if end <= start:
        raise ValidationError({"end": ["结束日期须晚于开始日期"]})
    drive = Drive(org=org, name=clean_text(name, "name", 200), start=start, end=end)
    drive.full_clean()
    drive.save()
    for target_org, metric, number in targets or []:
        drive_target_set(drive=drive, org=target_org, metric=metric, target=number, actor=actor)
    audit_record(by=actor, action="create", obj=drive, summary=f"新建行动 {drive.name}")
    return drive


@transaction.atomic
def drive_target_set(*, drive: Drive, org: Organisation, metric: str, target: int, actor: Any) -> DriveTarget:
    """One target of a drive (the actor administers the drive and the target's organisation)."""
    _require(actor, "admin", drive)
    _require(actor, "admin", org)
    if not _in_subtree(org, drive.org):
        raise ValidationError({"org": ["目标单位不在行动范围内"]})
    if not isinstance(target, int) or target <= 0:
        raise ValidationError({"target": ["目标数须为正整数"]})
    row = DriveTarget(drive=drive, org=org, metric=metric, target=target)
    row.full_clean()
    row.save()
    audit_record(by=actor, action="create", obj=row, summary=f"{drive.name} 目标 {org.name} {row.get_metric_display()}")
    return row


@transaction.atomic
def drive_progress_report(*, target: DriveTarget, date: dt.date, achieved: int, note: str = "", reason: str = "",
                          actor: Any) -> DriveProgress:
    """Report the number achieved so far on a target, as of `date` (inside the drive, not in the future).

    Every report is a new row; none is changed. A report dated before the latest one is refused. One on the latest
    report's date, or with a lower number, is a correction of that report: it needs a `reason` and names the row it
    corrects. The actor may change the target's organisation."""
    _require(actor, "change", target)
    drive = target.drive
    if not isinstance(date, dt.date) or not drive.start <= date <= drive.end or date > timezone.localdate():
        raise ValidationError({"date": ["日期须在行动期间且不晚于今天"]})
    if not isinstance(achieved, int) or isinstance(achieved, bool) or achieved < 0:
        raise ValidationError({"achieved": ["完成数须为非负整数"]})
    note = clean_text(note, "note", 300, required=False)
    reason = clean_text(reason, "reason", 300, required=False)
    latest = (DriveProgress.objects.select_for_update().filter(target=target).order_by("-date", "-id").first())
    corrects = None
    if latest is not None:
        if date < latest.date:
            raise ValidationError({"date": [f"日期早于最近一次报告（{latest.date:%Y-%m-%d}）；"
                                            "如需更正，请按最近日期报告并写明更正原因"]})
        if date == latest.date or achieved < latest.achieved:
            if not reason:
                raise ValidationError({"reason": [f"这是对 {latest.date:%Y-%m-%d} 报告（{latest.achieved}）的更正，"
                                                  "须写明更正原因"]})
            corrects = latest
    if corrects is None and reason:
        raise ValidationError({"reason": ["只有更正（同一日期或数字减少）才填写更正原因"]})
    row = DriveProgress.objects.create(target=target, date=date, achieved=achieved, note=note, corrects=corrects,
                                       reason=reason, by=actor if getattr(actor, "is_authenticated", False) else None)
    summary = f"{drive.name} 进度 {target.org.name} {achieved}/{target.target}"
    if corrects is not None:
        summary += f"（更正 {corrects.date:%Y-%m-%d} 的 {corrects.achieved}：{reason}）"
    audit_record(by=actor, action="create", model="campaigns.DriveProgress", object_id=row.pk, summary=summary)
    return row


