"""Real concurrent clients on PostgreSQL: simultaneous scans of one person leave one attendance row; simultaneous
sign-ups never take more places than there are. Skipped loudly on SQLite."""

import datetime as dt
import threading
from collections import Counter

import pytest
from django.db import connection

from xianfeng.core.testing import make_person
from xianfeng.events import services
from xianfeng.events.models import Activity, Attendance, Audience, Registration

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 16


def run_threads(work) -> Counter:
    results: Counter = Counter()
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)
    lock = threading.Lock()

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            outcome = work(i)
            with lock:
                results[outcome] += 1
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results


def test_simultaneous_scans_of_one_person_leave_one_row(postgres_only, world, make_activity):
    activity = make_activity()
    person = world.members["hebin_a"].person
    methods = ["rotating_qr", "personal_qr"]

    def scan(i: int) -> str:
        att, created = services.attendance_check_in(activity=activity, person=person, method=methods[i % 2],
                                                    by=world.hebin_secretary)
        return "created" if created else "existing"

    results = run_threads(scan)
    assert results == Counter(created=1, existing=THREADS - 1)
    assert Attendance.objects.filter(activity=activity).count() == 1


def test_simultaneous_sign_ups_never_overbook(postgres_only, world, make_activity):
    activity = make_activity(capacity=5, audience=Audience.PUBLIC, start_in=dt.timedelta(days=1))
    people = [make_person(f"志愿者{i}") for i in range(THREADS)]

    def signup(i: int) -> str:
        return services.activity_signup(activity=activity, person=people[i]).status

    results = run_threads(signup)
    assert results == Counter(registered=5, waitlisted=THREADS - 5)
    assert Activity.objects.get(pk=activity.pk).registered_count == 5
    assert Registration.objects.filter(activity=activity, status="registered").count() == 5
