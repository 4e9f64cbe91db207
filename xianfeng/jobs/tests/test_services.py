import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from xianfeng.core.models import AuditEvent
from xianfeng.jobs import registry
from xianfeng.jobs.models import Job
from xianfeng.jobs.services import (
    SWEPT_ERROR,
    backoff_delay,
    job_cancel,
    job_claim,
    job_fail,
    job_heartbeat,
    job_retry,
    job_schedule,
    job_succeed,
    jobs_prune,
    jobs_sweep,
    periodic_sync,
)
from xianfeng.jobs.tests import jobs_for_tests  # noqa: F401  (registers tests.* jobs)

pytestmark = pytest.mark.django_db
W = "worker-a"


def test_schedule_with_the_same_key_twice_makes_one_job():
    a = job_schedule(name="tests.record", args={"n": 1}, key="k1")
    b = job_schedule(name="tests.record", args={"n": 2}, key="k1")
    assert a.pk == b.pk
    assert Job.objects.count() == 1
    assert Job.objects.get().args == {"n": 1}


def test_schedule_refuses_an_unknown_job_and_writes_nothing():
    with pytest.raises(ValidationError, match="没有名为"):
        job_schedule(name="tests.nope")
    assert not Job.objects.exists()


def test_schedule_refuses_arguments_that_are_not_json():
    with pytest.raises(ValidationError, match="JSON"):
        job_schedule(name="tests.record", args={"when": dt.date(2024, 1, 1)})
    assert not Job.objects.exists()


def test_schedule_refuses_a_naive_due_time():
    with pytest.raises(ValidationError):
        job_schedule(name="tests.record", due_at=dt.datetime(2030, 1, 1, 17, 0))


def test_claim_takes_the_oldest_due_job_and_skips_future_ones():
    now = timezone.now()
    later = job_schedule(name="tests.record", due_at=now + dt.timedelta(hours=1))
    second = job_schedule(name="tests.record", due_at=now - dt.timedelta(seconds=5))
    first = job_schedule(name="tests.record", due_at=now - dt.timedelta(seconds=10))
    got = job_claim(worker_id=W, now=now)
    assert got.pk == first.pk
    assert got.status == Job.Status.RUNNING and got.attempts == 1 and got.claimed_by == W
    assert job_claim(worker_id="worker-b", now=now).pk == second.pk
    assert job_claim(worker_id="worker-c", now=now) is None
    later.refresh_from_db()
    assert later.status == Job.Status.PENDING


def test_a_claimed_job_is_not_claimed_again():
    job_schedule(name="tests.record")
    assert job_claim(worker_id=W) is not None
    assert job_claim(worker_id="worker-b") is None


def test_success_marks_a_one_off_job_done():
    job = job_schedule(name="tests.record")
    job = job_claim(worker_id=W)
    assert job_succeed(job=job, worker_id=W)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.finished_at is not None


def test_only_the_claiming_worker_can_record_the_outcome():
    job_schedule(name="tests.record")
    job = job_claim(worker_id=W)
    assert not job_succeed(job=job, worker_id="someone-else")
    assert job_fail(job=job, worker_id="someone-else", error="x") is None
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING


def test_failure_retries_with_exponential_backoff_then_parks_with_the_error():
    job = job_schedule(name="tests.boom")  # max_attempts=3, backoff=10
    now = timezone.now()
    delays = []
    for attempt in (1, 2):
        claimed = job_claim(worker_id=W, now=now)
        assert claimed.attempts == attempt
        assert job_fail(job=claimed, worker_id=W, error=f"failure {attempt}", now=now) == Job.Status.PENDING
        claimed.refresh_from_db()
        delays.append((claimed.due_at - now).total_seconds())
        assert job_claim(worker_id=W, now=now) is None  # not due yet
        now = claimed.due_at
    assert delays == [10, 20]
    claimed = job_claim(worker_id=W, now=now)
    assert job_fail(job=claimed, worker_id=W, error="failure 3", now=now) == Job.Status.PARKED
    job.refresh_from_db()
    assert job.status == Job.Status.PARKED and job.last_error == "failure 3" and job.attempts == 3


def test_backoff_doubles_and_is_capped(settings):
    settings.JOBS_BACKOFF_MAX_SECONDS = 100
    assert [backoff_delay(n, 30) for n in (1, 2, 3, 4)] == [30, 60, 100, 100]


def test_periodic_sync_creates_one_row_per_periodic_job_once():
    periodic_sync()
    periodic_sync()
    names = sorted(Job.objects.filter(periodic=True).values_list("name", flat=True))
    assert names == sorted(s.name for s in registry.periodic_specs())
    assert "jobs.prune" in names and "ledger.check" in names


def test_a_periodic_job_is_rearmed_after_success_and_never_parked(monkeypatch):
    spec = registry.JobSpec(name="tests.every_minute", func=lambda: None, every=60, max_attempts=1)
    monkeypatch.setattr(registry, "REGISTRY", {spec.name: spec})
    periodic_sync()
    now = timezone.now()
    job = job_claim(worker_id=W, now=now)
    assert job.name == "tests.every_minute"  # an interval job is due at once
    job_succeed(job=job, worker_id=W, now=now)
    job.refresh_from_db()
    assert job.status == Job.Status.PENDING and job.due_at == now + dt.timedelta(seconds=60)
    job = job_claim(worker_id=W, now=job.due_at)
    assert job_fail(job=job, worker_id=W, error="bad", now=job.due_at) == Job.Status.PENDING
    job.refresh_from_db()
    assert job.last_error == "bad" and job.attempts == 0


def test_daily_next_due_is_the_next_local_wall_clock_time():
    spec = registry.JobSpec(name="x", func=lambda: None, at=dt.time(2, 0))
    tz = timezone.get_current_timezone()
    before = dt.datetime(2025, 3, 1, 1, 0, tzinfo=tz)
    after = dt.datetime(2025, 3, 1, 3, 0, tzinfo=tz)
    assert timezone.localtime(spec.next_due(before)) == dt.datetime(2025, 3, 1, 2, 0, tzinfo=tz)
    assert timezone.localtime(spec.next_due(after)) == dt.datetime(2025, 3, 2, 2, 0, tzinfo=tz)


def test_registry_refuses_bad_declarations():
    with pytest.raises(ValueError):
        registry.daily(at="25:00")
    with pytest.raises(ValueError):
        registry.periodic(every=0)
    with pytest.raises(ValueError):
        registry.job("tests.record")(lambda: None)  # a different function under a taken name


def test_sweeper_hands_back_a_job_whose_worker_stopped_beating():
    job_schedule(name="tests.record")
    start = timezone.now()
    job = job_claim(worker_id=W, now=start)
    assert jobs_sweep(stale_after=30, now=start + dt.timedelta(seconds=10)) == (0, 0)
    assert jobs_sweep(stale_after=30, now=start + dt.timedelta(seconds=31)) == (1, 0)
    job.refresh_from_db()
    assert job.status == Job.Status.PENDING and job.last_error == SWEPT_ERROR
    again = job_claim(worker_id="worker-b", now=start + dt.timedelta(seconds=32))
    assert again.pk == job.pk and again.attempts == 2


def test_heartbeat_keeps_a_running_job_from_the_sweeper():
    past = timezone.now() - dt.timedelta(seconds=100)
    job_schedule(name="tests.record", due_at=past)
    job = job_claim(worker_id=W, now=past)
    assert job_heartbeat(job_id=job.pk, worker_id=W)
    assert jobs_sweep(stale_after=30) == (0, 0)
    assert not job_heartbeat(job_id=job.pk, worker_id="someone-else")


def test_sweeper_parks_a_job_that_used_its_last_attempt():
    job = job_schedule(name="tests.record", max_attempts=1)
    start = timezone.now()
    job_claim(worker_id=W, now=start)
    assert jobs_sweep(stale_after=5, now=start + dt.timedelta(seconds=6)) == (0, 1)
    job.refresh_from_db()
    assert job.status == Job.Status.PARKED


def test_cancel_stops_a_pending_job_only():
    job = job_schedule(name="tests.record", key="escalate:1")
    assert job_cancel(key="escalate:1")
    assert not job_cancel(job=job)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert job_claim(worker_id=W) is None


def test_admin_retry_requeues_a_parked_job_and_is_audited(world):
    job = job_schedule(name="tests.record", max_attempts=1)
    claimed = job_claim(worker_id=W)
    job_fail(job=claimed, worker_id=W, error="bad")
    job_retry(job=job, actor=world.county_admin)
    job.refresh_from_db()
    assert job.status == Job.Status.PENDING and job.attempts == 0
    assert AuditEvent.objects.filter(model="jobs.Job", object_id=str(job.pk)).exists()
    with pytest.raises(ValidationError):
        job_retry(job=job, actor=world.county_admin)


def test_prune_drops_old_finished_one_off_jobs_only():
    old = timezone.now() - dt.timedelta(days=40)
    done = job_schedule(name="tests.record")
    job_succeed(job=job_claim(worker_id=W), worker_id=W, now=old)
    parked = job_schedule(name="tests.record", max_attempts=1)
    job_fail(job=job_claim(worker_id=W), worker_id=W, error="x", now=old)
    pending = job_schedule(name="tests.record")
    assert jobs_prune(older_than_days=30) == 1
    assert not Job.objects.filter(pk=done.pk).exists()
    assert Job.objects.filter(pk__in=[parked.pk, pending.pk]).count() == 2


def test_two_step_claim_for_old_sqlite_gives_each_job_once():
    from xianfeng.jobs.services import _job_claim_two_steps

    a = job_schedule(name="tests.record")
    b = job_schedule(name="tests.record")
    now = timezone.now()
    assert _job_claim_two_steps(worker_id="x", now=now).pk == a.pk
    assert _job_claim_two_steps(worker_id="y", now=now).pk == b.pk
    assert _job_claim_two_steps(worker_id="z", now=now) is None


def test_next_due_at_is_the_earliest_pending_job():
    from xianfeng.jobs.services import next_due_at

    assert next_due_at() is None
    soon = timezone.now() + dt.timedelta(minutes=5)
    job_schedule(name="tests.record", due_at=soon + dt.timedelta(minutes=5))
    job_schedule(name="tests.record", due_at=soon)
    assert next_due_at() == soon


def test_cancel_needs_a_job_or_a_key_and_keys_are_bounded():
    with pytest.raises(ValidationError):
        job_cancel()
    with pytest.raises(ValidationError):
        job_schedule(name="tests.record", key="k" * 201)


def test_a_job_with_its_own_short_threshold_is_handed_back_within_seconds_while_long_jobs_keep_theirs():
    start = timezone.now()
    quick, long, default = (job_schedule(name=n, due_at=start) for n in ("tests.quick", "tests.long", "tests.record"))
    for _ in range(3):
        job_claim(worker_id=W, now=start)
    assert jobs_sweep(stale_after=60, now=start + dt.timedelta(seconds=4)) == (0, 0)
    assert jobs_sweep(stale_after=60, now=start + dt.timedelta(seconds=6)) == (1, 0)  # the quick one only
    statuses = {j.name: j.status for j in Job.objects.all()}
    assert statuses == {"tests.quick": "pending", "tests.long": "running", "tests.record": "running"}
    assert jobs_sweep(stale_after=60, now=start + dt.timedelta(seconds=61)) == (1, 0)  # the worker's threshold
    default.refresh_from_db()
    long.refresh_from_db()
    assert default.status == Job.Status.PENDING and long.status == Job.Status.RUNNING
    assert jobs_sweep(stale_after=60, now=start + dt.timedelta(seconds=3599)) == (0, 0)
    assert jobs_sweep(stale_after=60, now=start + dt.timedelta(seconds=3601)) == (1, 0)
    quick.refresh_from_db()
    assert quick.last_error == SWEPT_ERROR


def test_the_worker_sweeps_and_beats_often_enough_for_the_shortest_threshold():
    from xianfeng.jobs.worker import Worker

    worker = Worker(stale_after=60, sync_periodic=False)
    assert worker.sweep_every <= 2.5  # tests.quick declares 5 s
    assert registry.stale_after_for("tests.quick", 60) == 5 and registry.stale_after_for("tests.record", 60) == 60
    assert registry.stale_after_for("no.such.job", 60) == 60


def test_registry_refuses_a_threshold_under_a_second():
    with pytest.raises(ValueError):
        registry.job("tests.bad_stale", stale_after=0)


def test_schedule_new_inserts_many_in_one_statement_and_leaves_an_existing_key_alone(django_assert_num_queries):
    from xianfeng.jobs.services import jobs_schedule_new

    now = timezone.now()
    first = job_schedule(name="tests.record", key="bulk:1", args={"n": 0})
    with django_assert_num_queries(1):
        jobs_schedule_new([("tests.record", {"n": 1}, now, "bulk:1"), ("tests.record", {"n": 2}, now, "bulk:2"),
                           ("tests.boom", {}, now, "bulk:3")])
    assert sorted(Job.objects.values_list("key", "args")) == [("bulk:1", {"n": 0}), ("bulk:2", {"n": 2}),
                                                             ("bulk:3", {})]
    first.refresh_from_db()
    assert Job.objects.get(key="bulk:3").max_attempts == 3  # tests.boom's own
    with pytest.raises(ValidationError):
        jobs_schedule_new([("no.such.job", {}, now, "bulk:4")])
    assert not Job.objects.filter(key="bulk:4").exists()


def test_every_attempt_is_a_row_of_its_own_never_overwritten():
    from xianfeng.jobs.models import JobAttempt

    job = job_schedule(name="tests.boom")  # max_attempts=3, backoff=10
    now = timezone.now()
    claimed = job_claim(worker_id=W, now=now)
    job_fail(job=claimed, worker_id=W, error="first", now=now)
    claimed.refresh_from_db()
    later = claimed.due_at
    claimed = job_claim(worker_id="worker-b", now=later)
    assert jobs_sweep(stale_after=30, now=later + dt.timedelta(seconds=31)) == (1, 0)  # worker-b went silent
    claimed = job_claim(worker_id=W, now=later + dt.timedelta(seconds=32))
    assert job_succeed(job=claimed, worker_id=W, now=later + dt.timedelta(seconds=33))
    rows = list(JobAttempt.objects.filter(job=job).order_by("id").values_list("number", "worker", "outcome", "error"))
    assert rows == [(1, W, "failed", "first"), (2, "worker-b", "lost", SWEPT_ERROR), (3, W, "done", "")]
