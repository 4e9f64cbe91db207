"""Real concurrent clients on PostgreSQL (xianfeng.core.testing.race): simultaneous scans of one person leave one
attendance row; simultaneous sign-ups never take more places than there are; simultaneous approvals of the same
hours award points once. Skipped loudly on SQLite."""

import datetime as dt
from collections import Counter

import pytest
from django.core.exceptions import ValidationError

from xianfeng.core.testing import make_person, race
from xianfeng.events import services
from xianfeng.events.models import Activity, Attendance, Audience, Registration
from xianfeng.ledger.models import Transaction as LedgerTransaction
from xianfeng.points.models import Award

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 16


def test_simultaneous_scans_of_one_person_leave_one_row(postgres_only, world, make_activity):
    activity = Activity.objects.select_related("org").get(pk=make_activity().pk)
    person = world.members["hebin_a"].person
    methods = ["rotating_qr", "personal_qr"]

    # The rotating code is scanned by the person themself; the personal code by the organiser.
    actors = [world.member, world.hebin_secretary]

    def scan(i: int) -> str:
        _att, created = services.attendance_check_in(activity=activity, person=person, method=methods[i % 2],
                                                     actor=actors[i % 2])
        return "created" if created else "existing"

    assert Counter(race(THREADS, scan)) == Counter(created=1, existing=THREADS - 1)
    assert Attendance.objects.filter(activity=activity).count() == 1


def test_a_crowd_checking_in_at_once_each_gets_a_row(postgres_only, world, make_activity):
    activity = Activity.objects.select_related("org").get(pk=make_activity(audience=Audience.PUBLIC).pk)
    people = [make_person(f"参加者{i}") for i in range(THREADS)]

    def scan(i: int) -> bool:
        return services.attendance_check_in(activity=activity, person=people[i], method="rotating_qr", actor=None)[1]

    assert race(THREADS, scan) == [True] * THREADS
    assert Attendance.objects.filter(activity=activity).count() == THREADS


def test_simultaneous_sign_ups_never_overbook(postgres_only, world, make_activity):
    activity = make_activity(capacity=5, audience=Audience.PUBLIC, start_in=dt.timedelta(days=1))
    people = [make_person(f"志愿者{i}") for i in range(THREADS)]

    def signup(i: int) -> str:
        return services.activity_signup(activity=activity, person=people[i], actor=None).status

    assert Counter(race(THREADS, signup)) == Counter(registered=5, waitlisted=THREADS - 5)
    assert Activity.objects.get(pk=activity.pk).registered_count == 5
    assert Registration.objects.filter(activity=activity, status="registered").count() == 5


def test_simultaneous_approvals_award_points_once(postgres_only, world, make_activity):
    activity = make_activity(start_in=dt.timedelta(hours=-3), hours=2)
    att, _ = services.attendance_check_in(activity=activity, person=world.members["hebin_a"].person, method="manual",
                                          at=activity.starts_at, actor=world.hebin_secretary)
    services.attendance_check_out(attendance=att, at=activity.ends_at, actor=world.hebin_secretary)

    def approve(_i: int) -> str:
        services.hours_approve(attendance=att, actor=world.hebin_secretary)
        return "approved"

    outcomes = race(8, approve)
    assert outcomes.count("approved") == 1
    assert all(isinstance(o, ValidationError) for o in outcomes if o != "approved")
    assert Award.objects.filter(source="activity_hours", source_id=str(att.pk)).count() == 1
    assert LedgerTransaction.objects.filter(key=f"points:activity_hours:{att.pk}").count() == 1
