"""Leading-group and standing-committee meetings and the follow-ups of meetings and guidance visits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from xianfeng.core.audit import audit_record
from xianfeng.core.ids import normalise_text
from xianfeng.core.text import clean_text
from xianfeng.orgs.models import GuidanceVisit, Organisation

from ..models import (
    Campaign,
    FollowUp,
    Meeting,
)
from .common import _in_subtree, _require


@transaction.atomic
def meeting_record(*, org: Organisation, kind: str, date: dt.date, title: str, chair: str = "", attendees: str = "",
                   minutes: str = "", campaign: Campaign | None = None,
                   follow_ups: list[dict[str, Any]] | None = None, actor: Any) -> Meeting:
    """A leading-group or standing-committee meeting, with its decisions' follow-ups (each: org, text, due)."""
    _require(actor, "admin", org)
    if campaign is not None:
        _require(actor, "admin", campaign)
    if date > timezone.localdate():
        raise ValidationError({"date": ["会议日期晚于今天"]})
    meeting = Meeting(org=org, kind=kind, date=date, title=clean_text(title, "title", 200), chair=normalise_text(chair),
                      attendees=attendees, minutes=minutes, campaign=campaign)
    meeting.full_clean()
    meeting.save()
    for item in follow_ups or []:
        follow_up_create(meeting=meeting, org=item["org"], text=item["text"], due=item["due"], actor=actor)
    audit_record(by=actor, action="create", obj=meeting, summary=f"会议 {meeting.title}")
    return meeting


@transaction.atomic
def follow_up_create(*, org: Organisation, text: str, due: dt.date, meeting: Meeting | None = None,
                     visit: GuidanceVisit | None = None, actor: Any) -> FollowUp:
    """A follow-up task from a meeting (the actor administers it and `org`) or a guidance visit (the actor may
    change the visit), owned by `org`."""
    if (meeting is None) == (visit is None):
        raise ValidationError({"source": ["后续事项须来自一次会议或一次指导"]})
    if meeting is not None:
        _require(actor, "admin", meeting)
        _require(actor, "admin", org)
    else:
        _require(actor, "change", visit)
    source = meeting if meeting is not None else visit
    assert source is not None
    owner = meeting.org if meeting is not None else visit.contact_point.org  # type: ignore[union-attr]
    if not _in_subtree(org, owner):
        raise ValidationError({"org": ["责任单位须在会议或联系点单位的范围内"]})
    source_date = source.date
    if due < source_date:
        raise ValidationError({"due": ["完成时限早于会议或指导日期"]})
    item = FollowUp(meeting=meeting, visit=visit, org=org, text=clean_text(text, "text", 500), due=due)
    item.full_clean()
    item.save()
    audit_record(by=actor, action="create", obj=item, summary=f"后续事项 {org.name}：{item.text}")
    return item


FOLLOW_UP_DAYS = 30  # a visit's follow-up is due this many days after the visit unless someone sets another date


def follow_ups_from_visit(sender: Any, *, visit: GuidanceVisit, actor: Any, **kwargs: Any) -> list[FollowUp]:
    """A guidance visit's 后续事项, one task per line, owned by the visited unit and due FOLLOW_UP_DAYS after the
    visit (receiver of orgs.signals.visit_recorded, in the visit's transaction): what a leader asked for is tracked
    to done without being typed in twice."""
    lines = [line.strip() for line in visit.follow_ups.splitlines() if line.strip()]
    due = visit.date + dt.timedelta(days=FOLLOW_UP_DAYS)
    return [follow_up_create(visit=visit, org=visit.contact_point.org, text=line[:500], due=due, actor=actor)
            for line in lines]


@transaction.atomic
def follow_up_close(*, follow_up: FollowUp, done_on: dt.date, note: str, actor: Any) -> FollowUp:
    """Mark a follow-up done, with what was done. A done one cannot be closed again."""
    _require(actor, "change", follow_up)
    note = clean_text(note, "note", 500)
    if done_on > timezone.localdate():
        raise ValidationError({"done_on": ["完成日期晚于今天"]})
    if FollowUp.objects.filter(pk=follow_up.pk, done_on__isnull=True).update(done_on=done_on, done_note=note) != 1:
        raise ValidationError({"done_on": ["该事项已落实"]})
    follow_up.refresh_from_db()
    audit_record(by=actor, action="update", obj=follow_up, after={"done_on": str(done_on), "note": note},
                 summary=f"落实后续事项 {follow_up.text}")
    return follow_up
