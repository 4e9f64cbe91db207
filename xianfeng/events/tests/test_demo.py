"""The demo county shows the report's lesson and team figures, counted from per-person rows, within the budget."""

import time

import pytest

from xianfeng.core.demo import DemoContext
from xianfeng.events.demo import build_events
from xianfeng.events.figures import figures_for
from xianfeng.events.models import Activity, Attendance, Team, TeamMember
from xianfeng.orgs.demo import build_foundation
from xianfeng.orgs.models import Organisation
from xianfeng.points.models import Award


@pytest.mark.django_db
def test_demo_has_the_reports_lesson_and_team_figures():
    ctx = DemoContext(seed=2010, log=lambda s: None)
    build_foundation(ctx)
    started = time.perf_counter()
    build_events(ctx)
    elapsed = time.perf_counter() - started
    assert elapsed <= 6 * 2, f"events demo step took {elapsed:.1f} s"  # budget 6 s; slack for a loaded CI machine

    county = Organisation.objects.get(depth=1)
    fig = figures_for([county])[0]
    assert fig.lessons == 502
    assert fig.lesson_attendances >= 19_000
    assert fig.lesson_expected_attended == fig.lesson_attendances  # every lesson attendee was in its audience
    assert fig.teams == 262 and fig.team_activities == 518
    assert fig.team_members == 4_363 and fig.participants == 4_363
    # the figures are per-person rows, not counts typed in
    assert Attendance.objects.filter(activity__kind="lesson").count() == fig.lesson_attendances
    assert Attendance.objects.values("activity", "person").distinct().count() == Attendance.objects.count()
    assert Team.objects.filter(org__kind="department").count() >= 261
    assert TeamMember.objects.filter(status="active").values("person").distinct().count() == 4_363
    # teams' activities are attended only by their own members
    assert not Attendance.objects.filter(activity__team__isnull=False).exclude(
        person__volunteer_team_memberships__team=__import__("django").db.models.F("activity__team")).exists()
    # the demo member's hours went through review and earned points
    assert Award.objects.filter(source="activity_hours").count() == 2
    assert Activity.objects.filter(kind="theme_day", registrations__isnull=False).exists()


@pytest.mark.django_db
def test_small_demo_runs():
    ctx = DemoContext(seed=3, scale=0.03, log=lambda s: None)
    build_foundation(ctx)
    build_events(ctx)
    assert Activity.objects.filter(kind="lesson").count() >= 3
    assert Attendance.objects.exists()
