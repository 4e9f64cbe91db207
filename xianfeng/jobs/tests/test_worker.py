"""The worker loop in this process (SQLite or PostgreSQL): bad jobs, unknown jobs, stopping."""

import signal

import pytest
from django.core.management import call_command

from xianfeng.jobs.models import Job
from xianfeng.jobs.services import job_schedule
from xianfeng.jobs.tests import jobs_for_tests
from xianfeng.jobs.worker import Worker

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_calls():
    jobs_for_tests.CALLS.clear()


def make_worker(**kwargs):
    kwargs.setdefault("exit_when_idle", True)
    kwargs.setdefault("sync_periodic", False)
    kwargs.setdefault("heartbeat_thread", False)
    return Worker(worker_id="test-worker", **kwargs)


def test_worker_runs_due_jobs_with_their_arguments():
    job_schedule(name="tests.record", args={"case": 7})
    stats = make_worker().run()
    assert stats.ran == 1 and stats.failed == 0
    assert jobs_for_tests.CALLS == [("record", {"case": 7})]
    assert Job.objects.get().status == Job.Status.DONE


def test_one_bad_job_never_stops_the_loop():
    bad = job_schedule(name="tests.boom", args={"n": 1})
    crash = job_schedule(name="tests.exit")
    good = job_schedule(name="tests.record", args={"n": 2})
    stats = make_worker().run()
    assert stats.ran == 3 and stats.failed == 2
    bad.refresh_from_db()
    crash.refresh_from_db()
    good.refresh_from_db()
    assert good.status == Job.Status.DONE
    assert bad.status == Job.Status.PENDING and bad.attempts == 1 and "RuntimeError: boom" in bad.last_error
    assert crash.status == Job.Status.PENDING and "SystemExit" in crash.last_error


def test_a_job_whose_code_is_gone_is_retried_then_parked():
    job = job_schedule(name="tests.record", max_attempts=2)
    Job.objects.filter(pk=job.pk).update(name="tests.removed_long_ago")
    make_worker().run()
    job.refresh_from_db()
    assert job.status == Job.Status.PENDING and "tests.removed_long_ago" in job.last_error
    Job.objects.filter(pk=job.pk).update(due_at=job.created_at)
    make_worker().run()
    job.refresh_from_db()
    assert job.status == Job.Status.PARKED and job.attempts == 2


def test_max_jobs_stops_the_worker():
    for n in range(3):
        job_schedule(name="tests.record", args={"n": n})
    assert make_worker(max_jobs=2).run().ran == 2
    assert Job.objects.filter(status=Job.Status.PENDING).count() == 1


def test_sigterm_finishes_the_running_job_then_stops():
    previous = signal.getsignal(signal.SIGTERM)
    first = job_schedule(name="tests.stop_self")
    second = job_schedule(name="tests.record")
    worker = make_worker(exit_when_idle=False)
    signal.signal(signal.SIGTERM, worker.request_stop)
    try:
        stats = worker.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
    first.refresh_from_db()
    second.refresh_from_db()
    assert stats.ran == 1
    assert first.status == Job.Status.DONE
    assert second.status == Job.Status.PENDING


def test_worker_command_runs_jobs_and_prints_a_summary(capsys):
    job_schedule(name="tests.record", args={"n": 1})
    call_command("worker", "--exit-when-idle", "--no-periodic", "--import", "xianfeng.jobs.tests.jobs_for_tests")
    out = capsys.readouterr().out
    assert "started" in out and "ran 1 jobs" in out
    assert Job.objects.get().status == Job.Status.DONE


def test_an_idle_worker_sleeps_until_the_next_due_job_but_no_longer_than_its_poll():
    import datetime as dt

    from django.utils import timezone

    worker = make_worker(poll=0.25)
    assert worker._idle_seconds() == 0.25
    job_schedule(name="tests.record", due_at=timezone.now() + dt.timedelta(seconds=0.1))
    assert 0 < worker._idle_seconds() <= 0.1
    job_schedule(name="tests.record", due_at=timezone.now() - dt.timedelta(seconds=1))
    assert worker._idle_seconds() == 0


def test_a_database_outage_is_waited_out(monkeypatch):
    from django.db import OperationalError

    from xianfeng.jobs import worker as worker_module

    calls = []

    def flaky_claim(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return None

    monkeypatch.setattr(worker_module, "job_claim", flaky_claim)
    monkeypatch.setattr(worker_module.Worker, "_drop_connection", staticmethod(lambda: None))
    worker = make_worker(poll=0.01)
    worker.stop_event.wait = lambda timeout=None: False  # no real sleeping in the test
    worker.run()
    assert len(calls) == 2  # it retried after the error, then found nothing and left


def test_the_heartbeat_thread_beats_while_a_job_runs(monkeypatch):
    from xianfeng.jobs import worker as worker_module

    beats = []
    monkeypatch.setattr(worker_module, "job_heartbeat", lambda **kw: beats.append(kw))
    monkeypatch.setattr(worker_module.connections, "close_all", lambda: None)
    beat = worker_module._Heartbeat(job_id=1, worker_id="w", every=0.01)
    beat.start()
    import time

    time.sleep(0.1)
    beat.stop()
    assert beats and beats[0] == {"job_id": 1, "worker_id": "w"} and not beat.is_alive()
