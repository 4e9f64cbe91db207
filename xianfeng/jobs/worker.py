"""The worker loop, in the style of healthchecks' `sendalerts`: the database is the queue.

    while not told to stop:
        every so often: sweep jobs whose worker died, create rows for new periodic jobs
        claim the oldest due job (nobody else can have it), run it, record the outcome
        nothing due: sleep `poll` seconds

While a job runs, a thread beats its heartbeat. SIGTERM/SIGINT finish the running job and then stop. A job that
raises is retried with backoff and, once its attempts are used up, parked with its traceback; the loop goes on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, connections
from django.utils import timezone

from . import registry
from .models import Job
from .services import job_claim, job_fail, job_heartbeat, job_succeed, jobs_sweep, next_due_at, periodic_sync

logger = logging.getLogger("xianfeng.jobs")


def new_worker_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class _Heartbeat(threading.Thread):
    """Beats one job's heartbeat every `every` seconds on its own database connection until stopped."""

    def __init__(self, job_id: int, worker_id: str, every: float):
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self.job_id, self.worker_id, self.every = job_id, worker_id, every
        self._done = threading.Event()

    def run(self) -> None:
        try:
            while not self._done.wait(self.every):
                try:
                    job_heartbeat(job_id=self.job_id, worker_id=self.worker_id)
                except DatabaseError:
                    logger.warning("heartbeat for job %s failed", self.job_id, exc_info=True)
        finally:
            connections.close_all()  # this thread's connections only

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=self.every + 30)


@dataclass
class WorkerStats:
    ran: int = 0
    failed: int = 0
    swept: int = 0
    started: float = field(default_factory=time.monotonic)


class Worker:
    """One worker process's loop. `run()` returns when told to stop, after `max_jobs` jobs, or (with
    `exit_when_idle`) when nothing is due."""

    def __init__(
        self,
        *,
        worker_id: str | None = None,
        poll: float | None = None,
        stale_after: float | None = None,
        max_jobs: int | None = None,
        exit_when_idle: bool = False,
        sync_periodic: bool = True,
        heartbeat_thread: bool = True,
    ):
        self.worker_id = worker_id or new_worker_id()
        self.poll = float(poll if poll is not None else getattr(settings, "JOBS_POLL_SECONDS", 0.25))
        self.stale_after = float(stale_after if stale_after is not None
                                 else getattr(settings, "JOBS_STALE_AFTER_SECONDS", 60))
        self.heartbeat_every = max(0.2, self.stale_after / 4)
        # Sweep often enough for the shortest threshold any job declared (@job(..., stale_after=…)).
        shortest = min([self.stale_after, *registry.stale_thresholds()])
        self.sweep_every = max(0.5, shortest / 2)
        self.max_jobs = max_jobs
        self.exit_when_idle = exit_when_idle
        self.sync_periodic = sync_periodic
        self.heartbeat_thread = heartbeat_thread
        self.stop_event = threading.Event()
        self.stats = WorkerStats()
        self._last_sweep = float("-inf")

    def request_stop(self, *_args: object) -> None:
        """Signal handler: finish the running job, then leave the loop."""
        self.stop_event.set()

    def _idle_seconds(self) -> float:
        """Sleep until the next job falls due, but never longer than the poll interval (new jobs may arrive)."""
        due = next_due_at()
        if due is None:
            return self.poll
        return min(self.poll, max(0.0, (due - timezone.now()).total_seconds()))

    def housekeeping(self) -> None:
        if not connection.in_atomic_block:  # (it is only inside a test's transaction)
            close_old_connections()  # now and then, drop a connection past CONN_MAX_AGE or broken
        requeued, parked = jobs_sweep(stale_after=self.stale_after)
        if requeued or parked:
            logger.warning("sweeper: %s job(s) handed back, %s parked (their worker stopped beating)", requeued, parked)
        self.stats.swept += requeued + parked
        if self.sync_periodic:
            periodic_sync()
        self._last_sweep = time.monotonic()

    def run(self) -> WorkerStats:
        while not self.stop_event.is_set():
            try:
                if time.monotonic() - self._last_sweep >= self.sweep_every:
                    self.housekeeping()
                job = job_claim(worker_id=self.worker_id)
                if job is None:
                    if self.exit_when_idle:
                        break
                    self.stop_event.wait(self._idle_seconds())
                    continue
            except DatabaseError:
                logger.exception("worker cannot reach the queue; retrying")
                self._drop_connection()
                self.stop_event.wait(max(self.poll, 1.0))
                continue
            self.execute(job)
            if self.max_jobs is not None and self.stats.ran >= self.max_jobs:
                break
        return self.stats

    def execute(self, job: Job) -> bool:
        """Run one claimed job and record its outcome. Never raises for the job's own errors."""
        self.stats.ran += 1
        spec = registry.get(job.name)
        if spec is None:
            # Retried like any failure, not parked at once: during a rolling deploy an older worker may meet a job
            # that only the newer code knows, and a newer worker will take it on a later try.
            self._record_failure(job, f"没有名为 {job.name} 的后台任务（代码中已删除或未加载）")
            return False
        every = max(0.2, min(self.heartbeat_every, registry.stale_after_for(job.name, self.stale_after) / 4))
        beat = _Heartbeat(job.pk, self.worker_id, every) if self.heartbeat_thread else None
        if beat is not None:
            beat.start()
        error = None
        try:
            spec.func(**(job.args or {}))
        except (Exception, SystemExit):  # one bad job never stops the loop
            error = traceback.format_exc()
        finally:
            if beat is not None:
                beat.stop()
        if error is not None:
            self._record_failure(job, error)
            return False
        try:
            if not job_succeed(job=job, worker_id=self.worker_id):
                logger.warning("job %s finished but was handed to another worker meanwhile", job.pk)
        except DatabaseError:
            logger.exception("could not record job %s as done; the sweeper will hand it back", job.pk)
            self._drop_connection()
        return True

    def _record_failure(self, job: Job, error: str, permanent: bool = False) -> None:
        self.stats.failed += 1
        logger.warning("job %s (%s) failed: %s", job.pk, job.name, error.strip().splitlines()[-1] if error else "")
        try:
            self._ensure_usable()
            job_fail(job=job, worker_id=self.worker_id, error=error, permanent=permanent)
        except DatabaseError:
            logger.exception("could not record job %s's failure; the sweeper will hand it back", job.pk)
            self._drop_connection()

    @staticmethod
    def _ensure_usable() -> None:
        """A failed job may leave a broken connection behind (the server went away); start afresh then."""
        if not connection.in_atomic_block and connection.connection is not None and not connection.is_usable():
            connection.close()

    @staticmethod
    def _drop_connection() -> None:
        with contextlib.suppress(DatabaseError):
            connection.close()
