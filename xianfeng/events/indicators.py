"""The events module's indicators (xianfeng.core.indicators): teams, activities, lessons and attendance."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xianfeng.core.indicators import Indicator, Measure, link, on_datetime, register, trend

from .figures import lesson_attendance

TEAMS = Measure("teams", "events.Team", "org_id", on_datetime("created_at"))
ACTIVITIES = Measure("activities", "events.Activity", "org_id", on_datetime("starts_at"),
                     lambda t: ~Q(status="cancelled"))
LESSONS = Measure("lessons", "events.Activity", "org_id", on_datetime("starts_at"),
                  lambda t: ~Q(status="cancelled") & Q(kind="lesson"))
ATTENDANCES = Measure("attendances", "events.Attendance", "activity__org_id", on_datetime("check_in_at"))
LESSON_ATTENDANCES = Measure("lesson_attendances", "events.Attendance", "activity__org_id",
                             on_datetime("check_in_at"), lambda t: Q(activity__kind="lesson"))


def _lesson_rate(orgs, *, start=None, end=None):
    """Attendances / expected attendances of the subtree's members at party lessons held for them (figures.py)."""
    return lesson_attendance(orgs, start=start, end=end)


register(Indicator("events.lessons", _("Party lessons held"), LESSONS, ACTIVITIES, _("activities"),
                   section="events", order=10,
                   list_url=lambda o: link("events:activity_list", within=o, kind="lesson", live=1)))
register(Indicator("events.lesson_attendances", _("Lesson attendances"), LESSON_ATTENDANCES, ATTENDANCES,
                   _("all attendances"), section="events", order=20,
                   page_url=lambda o: link("events:lesson_members", org=o)))
register(Indicator("events.activities", _("Activities (not cancelled)"), ACTIVITIES, section="events", order=30,
                   list_url=lambda o: link("events:activity_list", within=o, live=1)))
register(Indicator("events.teams", _("Volunteer teams"), TEAMS, section="events", order=40,
                   page_url=lambda o: link("events:team_list")))
# a rate whose n (expected attendances: members × lessons held for them) is not a set of records: computed live
register(Indicator("events.lesson_attendance", _("Party-lesson attendance rate"), None, provider=_lesson_rate,
                   page_url=lambda o: link("events:lesson_members", org=o),
                   rate_label="党课参学率", rate_numerator="党员参学人次", rate_denominator="应参学人次"))

trend(ATTENDANCES, _("Attendances"), 40)
