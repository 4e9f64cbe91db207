"""The demo county shows the report's lesson and team figures, counted from per-person rows."""

import pytest
from django.core.exceptions import ValidationError

from xianfeng.core.demo import DemoContext
from xianfeng.events.demo import build_events
from xianfeng.events.figures import figures_for
from xianfeng.events.models import Activity, Attendance, Team, TeamMember
from xianfeng.events.services import hours_approve
from xianfeng.ledger.models import Transaction as LedgerTransaction
from xianfeng.orgs.demo import build_foundation
from xianfeng.orgs.models import Organisation
from xianfeng.points.models import Award
from xianfeng.points.services import points_award


@pytest.mark.django_db
def test_demo_has_the_reports_lesson_and_team_figures():
    ctx = DemoContext(seed=2010, log=lambda s: None)
    build_foundation(ctx)
    build_events(ctx)  # its time is measured by bench/bench_events.py (pages), not here

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
    # approved volunteer hours earned their points through the rules, once each, keyed by the attendance — the
    # Hebin story's through hours_approve, the rest through the bulk path with the same keys
    approved = set(Attendance.objects.filter(hours_status="approved", member__isnull=False, minutes__gt=0)
                   .values_list("pk", flat=True))
    awarded = list(Award.objects.filter(source="activity_hours").values_list("source_id", flat=True))
    assert len(awarded) == len(set(awarded)) and {int(a) for a in awarded} <= approved
    assert len(awarded) >= 0.95 * len(approved) > 4_000  # only the daily and yearly caps may leave one out
    assert LedgerTransaction.objects.filter(key__startswith="points:activity_hours:").count() == len(awarded)
    sample = Award.objects.filter(source="activity_hours").select_related("member").first()
    assert points_award(member=sample.member, source="activity_hours", source_id=sample.source_id,
                        category="志愿服务", minutes=sample.minutes, on=sample.on) == sample.transaction  # a replay
    assert Award.objects.filter(source="activity_hours").count() == len(awarded)
    with pytest.raises(ValidationError):  # and approving again is refused
        hours_approve(attendance=Attendance.objects.get(pk=int(sample.source_id)), actor=None)
    assert Activity.objects.filter(kind="theme_day", registrations__isnull=False).exists()


@pytest.mark.django_db
def test_small_demo_runs():
    ctx = DemoContext(seed=3, scale=0.03, log=lambda s: None)
    build_foundation(ctx)
    build_events(ctx)
    assert Activity.objects.filter(kind="lesson").count() >= 3
    assert Attendance.objects.exists()
