"""The background worker: 10,000 due jobs of trivial work, on SQLite (the county default) and PostgreSQL.

Measured for each database, from the rows the worker writes (started_at, finished_at), with real `xianfeng worker`
processes at the default poll interval:
- drain: 10,000 jobs all due at once — jobs/s from the first start to the last finish (process start-up excluded),
  and the lag from due_at to start; in a backlog that lag is queueing (the last job waits for the 9,999 before it),
  so it is printed for the record, not against the goal;
- steady: 10,000 jobs falling due at an even rate of half the drain rate — lag p50/p99, goal p99 ≤ 500 ms — twice:
  scheduled ahead (the worker sleeps until the next due time) and scheduled by a producer the moment they fall due
  (the worker finds them on its next poll, JOBS_POLL_SECONDS);
- on PostgreSQL also two workers draining together.
Not measured: inserting the jobs (bulk insert) and migrating the scratch databases (created and dropped here).

Run: python -m bench.bench_worker          (PostgreSQL at BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432;
                                            skipped with a note if it cannot be reached)
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

from bench.common import BENCH_DIR, ROOT, fresh_sqlite, percentile, setup_django, verdict
from xianfeng.jobs.registry import job

JOBS = int(os.environ.get("BENCH_WORKER_JOBS", "10000"))
SERVER = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
PG_DB = "xf_bench_worker"
GOAL_P99_MS = 500


@job("bench.noop")
def noop(n: int) -> None:
    """Trivial work: the figure is the queue's own cost."""


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def start_workers(url: str, count: int, *args: str) -> list[subprocess.Popen]:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "xianfeng.settings", "LOG_LEVEL": "WARNING"}
    procs = [subprocess.Popen([sys.executable, "-m", "xianfeng.cli", "worker", "--no-periodic", "--import",
                               "bench.bench_worker", "--worker-id", f"bench-{k}", *args],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) for k in range(count)]
    for p in procs:
        p.stdout.readline()  # "worker … started": Django is loaded and the loop is about to run
    return procs


def wait_all(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.wait(timeout=1800) != 0:
            raise SystemExit(f"worker exited with {p.returncode}")


def scenario(label: str, url: str) -> None:
    setup_django(url)
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    from xianfeng.jobs.models import Job

    call_command("migrate", verbosity=0)
    poll = float(os.environ.get("JOBS_POLL_SECONDS", "0.25"))

    def insert(due_times: list[dt.datetime]) -> None:
        Job.objects.all().delete()
        Job.objects.bulk_create([Job(name="bench.noop", args={"n": i}, due_at=due, max_attempts=5, backoff_seconds=30)
                                 for i, due in enumerate(due_times)], batch_size=2000)
        connections.close_all()

    def measure() -> tuple[float, list[float]]:
        rows = list(Job.objects.values_list("status", "due_at", "started_at", "finished_at"))
        assert all(r[0] == Job.Status.DONE for r in rows), "some jobs did not finish"
        span = (max(r[3] for r in rows) - min(r[2] for r in rows)).total_seconds()
        lags = [(r[2] - r[1]).total_seconds() * 1000 for r in rows]
        return len(rows) / span, lags

    def drain(workers: int) -> float:
        insert([timezone.now()] * JOBS)
        wait_all(start_workers(url, workers, "--exit-when-idle"))
        rate, lags = measure()
        print(f"{label}: drain of {JOBS:,} due jobs, {workers} worker{'s' if workers > 1 else ''}: {rate:,.0f} jobs/s; "
              f"lag p50 {percentile(lags, 50):,.0f} ms, p99 {percentile(lags, 99):,.0f} ms (a backlog: queueing, "
              f"no goal)")
        return rate

    rate = drain(1)
    steady = max(10.0, rate / 2)

    def report(kind: str, lags: list[float]) -> None:
        p99 = percentile(lags, 99)
        late = sum(1 for lag in lags if lag > GOAL_P99_MS)
        print(f"{label}: {kind}, {steady:,.0f} jobs/s for {JOBS / steady:.0f} s, 1 worker, poll {poll:g} s: lag "
              f"due→start p50 {percentile(lags, 50):.0f} ms, p99 {p99:.0f} ms, max {max(lags):.0f} ms "
              f"({late} jobs later than {GOAL_P99_MS} ms); goal p99 ≤ {GOAL_P99_MS} ms — "
              f"{verdict(p99, GOAL_P99_MS)} (ratio {p99 / GOAL_P99_MS:.2f})")

    # Scheduled ahead ("escalate at 17:00"): the worker sleeps until the next due time.
    workers = start_workers(url, 1, "--max-jobs", str(JOBS))
    start = timezone.now() + dt.timedelta(seconds=2)  # after the insert below
    insert([start + dt.timedelta(seconds=i / steady) for i in range(JOBS)])
    wait_all(workers)
    report("scheduled ahead at an even rate", measure()[1])

    # Arriving as they fall due (a notification's delivery): scheduled by a service the moment it is due; the worker
    # finds it on its next poll.
    from xianfeng.jobs.services import job_schedule

    Job.objects.all().delete()
    connections.close_all()
    workers = start_workers(url, 1, "--max-jobs", str(JOBS))
    began = time.perf_counter()
    for i in range(JOBS):
        delay = began + i / steady - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        job_schedule(name="bench.noop", args={"n": i})
    wait_all(workers)
    report("scheduled as they fall due", measure()[1])
    if url.startswith("postgres"):
        drain(2)
    connections.close_all()


def main() -> int:
    if len(sys.argv) > 1:
        which = sys.argv[1]
        if which == "sqlite":
            scenario("SQLite", fresh_sqlite(BENCH_DIR / "worker.sqlite3"))
        else:
            scenario("PostgreSQL", f"{SERVER}/{PG_DB}")
        return 0
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    failed = subprocess.run([sys.executable, "-m", "bench.bench_worker", "sqlite"], cwd=ROOT).returncode != 0
    try:
        pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        pg_admin(f"CREATE DATABASE {PG_DB}")
    except Exception as exc:  # no server: say so, do not fail the SQLite figures
        print(f"PostgreSQL: skipped ({exc.__class__.__name__}: {exc})")
        return int(failed)
    try:
        failed |= subprocess.run([sys.executable, "-m", "bench.bench_worker", "pg"], cwd=ROOT).returncode != 0
    finally:
        pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    return int(failed)


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    if len(sys.argv) == 1:
        print(f"bench_worker finished in {time.perf_counter() - started:.0f} s")
    raise SystemExit(code)
