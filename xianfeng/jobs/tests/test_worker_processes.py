"""Real worker processes against PostgreSQL: two never run the same job; a killed one's job is resumed.

Skipped, loudly, on SQLite: the test database there lives in this process's memory.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from xianfeng.jobs.models import Job
from xianfeng.jobs.services import job_schedule
from xianfeng.jobs.tests import jobs_for_tests  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(settings.BASE_DIR).parent


def database_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker(*args: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "xianfeng.settings"}
    return subprocess.Popen(
        [sys.executable, "-m", "xianfeng.cli", "worker", "--no-periodic", "--poll", "0.05",
         "--import", "xianfeng.jobs.tests.jobs_for_tests", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_workers_never_run_the_same_job(postgres_only, tmp_path):
    out = tmp_path / "runs.txt"
    n = 300
    for i in range(n):
        job_schedule(name="tests.append_line", args={"path": str(out), "token": f"t{i}", "pause": 0.01})
    workers = [start_worker("--exit-when-idle", "--worker-id", f"w{k}") for k in (1, 2)]
    logs = [w.communicate(timeout=180)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], logs
    runs = Counter(line.split()[0] for line in out.read_text().splitlines())
    assert len(runs) == n and set(runs.values()) == {1}, [t for t, c in runs.items() if c > 1]
    assert Job.objects.filter(status=Job.Status.DONE).count() == n
    per_worker = Counter(Job.objects.values_list("claimed_by", flat=True))
    assert set(per_worker) == {"w1", "w2"}, per_worker  # both really took part


def test_a_sigkilled_workers_job_is_resumed_by_the_sweeper(postgres_only, tmp_path):
    marker, out = tmp_path / "started", tmp_path / "done.txt"
    job = job_schedule(name="tests.slow_once", args={"marker": str(marker), "path": str(out), "seconds": 120})
    first = start_worker("--stale-after", "2", "--worker-id", "doomed")
    try:
        wait_for(marker.exists, 60, "the first worker to start the job")
        job.refresh_from_db()
        assert job.status == Job.Status.RUNNING and job.claimed_by == "doomed"
        time.sleep(3)  # alive and beating: nobody takes the job away meanwhile
        job.refresh_from_db()
        assert job.claimed_by == "doomed" and job.status == Job.Status.RUNNING
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    second = start_worker("--stale-after", "2", "--worker-id", "rescuer", "--max-jobs", "1")
    log = second.communicate(timeout=120)[0]
    assert second.returncode == 0, log
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.claimed_by == "rescuer" and job.attempts == 2
    assert out.read_text().count("done") == 1


def test_sigterm_lets_the_running_job_finish_and_exits_cleanly(postgres_only, tmp_path):
    out = tmp_path / "runs.txt"
    long_job = job_schedule(name="tests.append_line", args={"path": str(out), "token": "long", "pause": 3})
    worker = start_worker("--worker-id", "polite")
    wait_for(lambda: Job.objects.filter(pk=long_job.pk, status=Job.Status.RUNNING).exists(), 60, "the job to start")
    later = job_schedule(name="tests.append_line", args={"path": str(out), "token": "later"})
    worker.send_signal(signal.SIGTERM)
    log = worker.communicate(timeout=60)[0]
    assert worker.returncode == 0, log
    assert "stopped: ran 1 jobs" in log
    long_job.refresh_from_db()
    later.refresh_from_db()
    assert long_job.status == Job.Status.DONE
    assert later.status == Job.Status.PENDING
    assert out.read_text().split()[0] == "long"
