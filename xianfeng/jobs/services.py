"""Every write to the job queue: scheduling, claiming, heartbeats, outcomes, the sweeper, retries by an admin.

Services elsewhere call `job_schedule` and `job_cancel`; the rest is the worker's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F
from django.utils import timezone

from xianfeng.core import policy
from xianfeng.core.audit import audit_record
from xianfeng.core.policy import Conflict

from . import registry
from .models import Job, JobAttempt

PERIODIC_KEY = "periodic:{name}"
SWEPT_ERROR = "执行进程停止心跳（进程终止或卡死），任务已交回队列"


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def backoff_delay(attempts: int, base: float) -> float:
    """Seconds to wait after the `attempts`-th failure: base, 2·base, 4·base, … capped at JOBS_BACKOFF_MAX_SECONDS."""
    cap = float(_setting("JOBS_BACKOFF_MAX_SECONDS", 6 * 3600))
    return min(cap, base * 2 ** max(0, attempts - 1))


@transaction.atomic
def job_schedule(
    *,
    name: str,
    args: dict[str, Any] | None = None,
    due_at: dt.datetime | None = None,
    key: str | None = None,
    max_attempts: int | None = None,
) -> Job:
    """Queue the registered job `name` to run with `args` at `due_at` (default: now).

    With `key`, scheduling is idempotent: a second call with the same key returns the first job and writes nothing.
    Call it inside the service's own transaction, so the job exists exactly when the change that needs it does.
    Raises ValidationError for an unknown job name or arguments that are not JSON.
    """
    spec = registry.get(name)
    if spec is None:
        raise ValidationError({"name": [f"没有名为 {name} 的后台任务"]})
    args = dict(args or {})
    try:
        json.dumps(args)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"args": [f"任务参数必须能写成 JSON：{exc}"]}) from None
    if due_at is not None and timezone.is_naive(due_at):
        raise ValidationError({"due_at": ["计划时间须带时区"]})
    if key is not None:
        key = str(key).strip()
        if not key or len(key) > 200:
            raise ValidationError({"key": ["幂等键须为1到200个字符"]})
        existing = Job.objects.filter(key=key).first()
        if existing is not None:
            return existing
    attempts = max_attempts or spec.max_attempts or int(_setting("JOBS_MAX_ATTEMPTS", 5))
    job = Job(
        name=name,
        args=args,
        key=key,
        periodic=False,
        due_at=due_at or timezone.now(),
        max_attempts=max(1, attempts),
        backoff_seconds=float(spec.backoff if spec.backoff is not None else _setting("JOBS_BACKOFF_SECONDS", 30)),
    )
    if key is None:
        job.save()
        return job
    try:
        with transaction.atomic():
            job.save()
    except IntegrityError:
        # Another transaction scheduled the same key between our look-up and our insert.
        return Job.objects.get(key=key)
    return job


def jobs_schedule_new(items: list[tuple[str, dict[str, Any], dt.datetime, str]]) -> int:
    """Queue several keyed one-off jobs in one INSERT: (name, args, due_at, key) each. For the hot paths that
    schedule jobs for rows they have just created (so the keys are new); a key that exists already is left as it
    is, as job_schedule would. Call inside the caller's transaction. Raises ValidationError like job_schedule.
    Returns how many were asked for."""
    rows = []
    default_attempts = int(_setting("JOBS_MAX_ATTEMPTS", 5))
    default_backoff = float(_setting("JOBS_BACKOFF_SECONDS", 30))
    for name, args, due_at, key in items:
        spec = registry.get(name)
        if spec is None:
            raise ValidationError({"name": [f"没有名为 {name} 的后台任务"]})
        if timezone.is_naive(due_at):
            raise ValidationError({"due_at": ["计划时间须带时区"]})
        if not key or len(key) > 200:
            raise ValidationError({"key": ["幂等键须为1到200个字符"]})
        rows.append(Job(name=name, args=args, key=key, periodic=False, due_at=due_at,
                        max_attempts=max(1, spec.max_attempts or default_attempts),
                        backoff_seconds=float(spec.backoff if spec.backoff is not None else default_backoff)))
    if rows:
        Job.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


@transaction.atomic
def job_cancel(*, job: Job | None = None, key: str | None = None) -> bool:
    """Cancel a job that has not started yet (by row or by key). Returns whether it was cancelled."""
    if job is None and not key:
        raise ValidationError("job_cancel needs a job or a key")
    qs = Job.objects.filter(pk=job.pk) if job is not None else Job.objects.filter(key=key)
    return qs.filter(status=Job.Status.PENDING).update(status=Job.Status.CANCELLED, finished_at=timezone.now()) > 0


@transaction.atomic
def job_retry(*, job: Job, actor: Any) -> Job:
    """Put a parked (or cancelled) job back in the queue, due now, with its attempts reset. Audited. Only a system
    administrator may (jobs/policies.py); a job in another state is a Conflict."""
    policy.require(actor, "change", job)
    updated = Job.objects.filter(pk=job.pk, status__in=[Job.Status.PARKED, Job.Status.CANCELLED]).update(
        status=Job.Status.PENDING, due_at=timezone.now(), attempts=0, finished_at=None
    )
    if updated != 1:
        raise Conflict("只能重新运行已搁置或已取消的任务")
    job.refresh_from_db()
    audit_record(by=actor, action="update", obj=job, summary=f"重新运行后台任务 {job.name} #{job.pk}",
                 after={"status": job.status, "due_at": str(job.due_at)})
    return job


def periodic_sync(now: dt.datetime | None = None) -> int:
    """Make sure every periodic job declared in code has its row. Returns how many rows were created."""
    now = now or timezone.now()
    created = 0
    for spec in registry.periodic_specs():
        key = PERIODIC_KEY.format(name=spec.name)
        if Job.objects.filter(key=key).exists():
            continue
        try:
            with transaction.atomic():
                Job.objects.create(
                    name=spec.name, key=key, periodic=True, due_at=spec.first_due(now),
                    max_attempts=spec.max_attempts or int(_setting("JOBS_MAX_ATTEMPTS", 5)),
                    backoff_seconds=float(spec.backoff if spec.backoff is not None
                                          else _setting("JOBS_BACKOFF_SECONDS", 30)),
                )
            created += 1
        except IntegrityError:
            pass  # another worker created it first
    return created


@contextlib.contextmanager
def _queue_bookkeeping() -> Iterator[None]:
    """A transaction for the worker's own writes to the queue (claim, heartbeat, outcome).

    On PostgreSQL it commits without waiting for the WAL flush (synchronous_commit off, for this transaction only).
    If the server crashes, the last few such writes may be lost: a claim or a "done" reverts, and the job runs
    again — which every job must tolerate anyway. Jobs' own work commits durably as usual, and flushing it flushes
    the bookkeeping written before it. Without this, two disk flushes per job bound the queue's throughput.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        yield


def job_claim(*, worker_id: str, now: dt.datetime | None = None) -> Job | None:
    """Take the oldest due pending job for `worker_id`, or None. Two workers never get the same job.

    One statement, committed at once:
        UPDATE job SET status = 'running', … WHERE id = (SELECT id … WHERE status = 'pending' AND due_at <= now
                                                         ORDER BY due_at, id LIMIT 1 [FOR UPDATE SKIP LOCKED])
                                            AND status = 'pending' RETURNING id
    PostgreSQL: the sub-select locks the row it picks and skips rows other workers hold, so concurrent workers pass
    over each other without waiting. SQLite: one writer at a time, and the conditional UPDATE decides.
    """
    now = now or timezone.now()
    if connection.vendor == "sqlite" and sqlite3.sqlite_version_info < (3, 35):
        return _job_claim_two_steps(worker_id=worker_id, now=now)
    meta = Job._meta
    q = connection.ops.quote_name

    def col(name: str) -> str:
        field = meta.get_field(name)
        assert isinstance(field, models.Field)
        return q(field.column)

    when = meta.get_field("due_at").get_db_prep_value(now, connection)
    lock = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    # Identifiers come from the model's metadata; every value is a parameter.
    sql = (
        f"UPDATE {q(meta.db_table)} SET {col('status')} = %s, {col('claimed_by')} = %s, {col('started_at')} = %s, "  # noqa: S608
        f"{col('heartbeat_at')} = %s, {col('finished_at')} = NULL, {col('attempts')} = {col('attempts')} + 1 "
        f"WHERE {col('id')} = (SELECT {col('id')} FROM {q(meta.db_table)} WHERE {col('status')} = %s "
        f"AND {col('due_at')} <= %s ORDER BY {col('due_at')}, {col('id')} LIMIT 1{lock}) "
        f"AND {col('status')} = %s RETURNING {col('id')}"
    )
    params = [Job.Status.RUNNING, worker_id[:100], when, when, Job.Status.PENDING, when, Job.Status.PENDING]
    with _queue_bookkeeping(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else Job.objects.get(pk=row[0])


def _job_claim_two_steps(*, worker_id: str, now: dt.datetime) -> Job | None:
    """For SQLite before 3.35 (no RETURNING): pick the candidate, then a conditional UPDATE decides."""
    claim = {
        "status": Job.Status.RUNNING, "claimed_by": worker_id[:100], "started_at": now, "heartbeat_at": now,
        "finished_at": None, "attempts": F("attempts") + 1,
    }
    due = Job.objects.due(now).order_by("due_at", "id")
    for _ in range(10):
        pk = due.values_list("pk", flat=True).first()
        if pk is None:
            return None
        if Job.objects.filter(pk=pk, status=Job.Status.PENDING).update(**claim) == 1:
            return Job.objects.get(pk=pk)
    return None


def next_due_at() -> dt.datetime | None:
    """When the earliest pending job falls due (the worker sleeps until then, or its poll interval if sooner)."""
    return Job.objects.filter(status=Job.Status.PENDING).order_by("due_at").values_list("due_at", flat=True).first()


def job_heartbeat(*, job_id: int, worker_id: str) -> bool:
    """Tell the sweeper that `worker_id` is still running the job. False if the job is no longer its own."""
    with _queue_bookkeeping():
        return Job.objects.filter(pk=job_id, status=Job.Status.RUNNING, claimed_by=worker_id[:100]).update(
            heartbeat_at=timezone.now()) == 1


def _mine(job: Job, worker_id: str):
    return Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, claimed_by=worker_id[:100])


def _record_attempt(job: Job, worker_id: str, now: dt.datetime, outcome: str, error: str = "") -> None:
    """Append the attempt that just ended to the job's history (a new row each time, never overwritten)."""
    JobAttempt.objects.create(job_id=job.pk, number=job.attempts, worker=worker_id[:100], started_at=job.started_at,
                              finished_at=now, outcome=outcome, error=error)


def job_succeed(*, job: Job, worker_id: str, now: dt.datetime | None = None) -> bool:
    """Record a run that finished. A periodic job is re-armed for its next time. False if the job was taken away
    from this worker meanwhile (the sweeper thought it dead)."""
    now = now or timezone.now()
    spec = registry.get(job.name)
    with _queue_bookkeeping():
        if job.periodic and spec is not None and spec.is_periodic:
            mine = _mine(job, worker_id).update(status=Job.Status.PENDING, due_at=spec.next_due(now), attempts=0,
                                                finished_at=now, last_error="") == 1
        else:
            mine = _mine(job, worker_id).update(status=Job.Status.DONE, finished_at=now) == 1
        if mine:
            _record_attempt(job, worker_id, now, JobAttempt.Outcome.DONE)
        return mine


def job_fail(*, job: Job, worker_id: str, error: str, now: dt.datetime | None = None,
             permanent: bool = False) -> str | None:
    """Record a failed run: retry after a backoff, or park the job with its error once its attempts are used up
    (`permanent` parks at once). A periodic job is never parked: it keeps its error and runs again at its next time.
    Returns the job's new status, or None if the job was no longer this worker's."""
    now = now or timezone.now()
    job.refresh_from_db(fields=["attempts", "max_attempts", "backoff_seconds", "started_at"])
    spec = registry.get(job.name)
    error = error[-20000:]
    fields: dict[str, Any]
    if job.periodic and spec is not None and spec.is_periodic and (permanent or job.attempts >= job.max_attempts):
        status, fields = Job.Status.PENDING, {"due_at": spec.next_due(now), "attempts": 0}
    elif permanent or job.attempts >= job.max_attempts:
        status, fields = Job.Status.PARKED, {}
    else:
        delay = backoff_delay(job.attempts, job.backoff_seconds)
        status, fields = Job.Status.PENDING, {"due_at": now + dt.timedelta(seconds=delay)}
    with _queue_bookkeeping():
        if _mine(job, worker_id).update(status=status, finished_at=now, last_error=error, **fields) != 1:
            return None
        _record_attempt(job, worker_id, now, JobAttempt.Outcome.FAILED, error)
    return status


@transaction.atomic
def jobs_sweep(*, stale_after: float, now: dt.datetime | None = None) -> tuple[int, int]:
    """Hand back jobs whose worker stopped beating: due again now, or parked if that was their last attempt.

    A job that declared its own threshold (`@job(..., stale_after=10)`) is handed back after that many seconds
    without a heartbeat; every other job after `stale_after` (the worker's). One pass per distinct threshold.
    Returns (requeued, parked)."""
    now = now or timezone.now()
    custom = registry.stale_thresholds()
    passes = [(stale_after, Job.objects.exclude(name__in=[n for names in custom.values() for n in names]))]
    passes += [(seconds, Job.objects.filter(name__in=names)) for seconds, names in sorted(custom.items())]
    requeued = parked = 0
    for seconds, jobs in passes:
        stale = jobs.stale(now - dt.timedelta(seconds=seconds))
        lost = stale.select_for_update().values_list("pk", "attempts", "claimed_by", "started_at")
        JobAttempt.objects.bulk_create([
            JobAttempt(job_id=pk, number=attempts, worker=worker, started_at=started, finished_at=now,
                       outcome=JobAttempt.Outcome.LOST, error=SWEPT_ERROR) for pk, attempts, worker, started in lost])
        parked += stale.filter(periodic=False, attempts__gte=F("max_attempts")).update(
            status=Job.Status.PARKED, finished_at=now, last_error=SWEPT_ERROR)
        requeued += stale.filter(periodic=True).update(status=Job.Status.PENDING, due_at=now, attempts=0,
                                                       last_error=SWEPT_ERROR)
        requeued += stale.filter(periodic=False).update(status=Job.Status.PENDING, due_at=now,
                                                        last_error=SWEPT_ERROR)
    return requeued, parked


def jobs_prune(*, older_than_days: int, now: dt.datetime | None = None) -> int:
    """Delete finished one-off jobs (done or cancelled) older than `older_than_days`. Parked jobs stay until retried."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=older_than_days)
    _total, per_model = Job.objects.filter(periodic=False, status__in=[Job.Status.DONE, Job.Status.CANCELLED],
                                           finished_at__lt=cutoff).delete()
    return per_model.get(Job._meta.label, 0)  # the jobs; their attempts go with them
