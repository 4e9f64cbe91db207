"""The job registry: every app names its background work in `<app>/jobs.py` with one of three decorators.

    @job("cases.escalate", max_attempts=3)      # one-off, scheduled by a service with job_schedule(...)
    def escalate(case_id): ...

    @periodic(every=60)                          # every 60 seconds
    def retry_stale(): ...

    @daily(at="02:00")                           # once a day at 02:00 local time (settings.TIME_ZONE)
    def nightly_check(): ...

    @job("care.alert_step", stale_after=10)      # a short job: handed back 10 s after its worker stops beating

`stale_after` is the job's own threshold for the sweeper (seconds without a heartbeat before a running job is
handed back); without it the worker's (settings.JOBS_STALE_AFTER_SECONDS) applies. Short, urgent jobs take a short
one so a dead worker costs seconds; long jobs keep the long default (their heartbeat thread keeps them alive anyway).

A job function takes JSON-serialisable keyword arguments and must be safe to run twice: after a crash the sweeper
hands an unfinished job to another worker.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class JobSpec:
    """One registered job: its name, its function, how often it may fail, and (for periodic jobs) when it runs."""

    name: str
    func: Callable[..., Any]
    max_attempts: int | None = None  # None: settings.JOBS_MAX_ATTEMPTS
    backoff: float | None = None  # seconds before the first retry, doubling each time; None: settings
    every: int | None = None  # periodic: seconds between runs
    at: dt.time | None = None  # daily: local wall-clock time
    stale_after: float | None = None  # seconds without a heartbeat before the sweeper hands it back; None: worker's

    @property
    def is_periodic(self) -> bool:
        return self.every is not None or self.at is not None

    def next_due(self, after: dt.datetime) -> dt.datetime:
        """The next run of a periodic job strictly after `after`."""
        if self.every is not None:
            return after + dt.timedelta(seconds=self.every)
        if self.at is None:
            raise ValueError(f"{self.name} is not periodic")
        local = timezone.localtime(after)
        candidate = timezone.make_aware(dt.datetime.combine(local.date(), self.at))
        if candidate <= after:
            candidate = timezone.make_aware(dt.datetime.combine(local.date() + dt.timedelta(days=1), self.at))
        return candidate

    def first_due(self, now: dt.datetime) -> dt.datetime:
        """When a periodic job seen for the first time should first run: now for intervals, the next time for daily."""
        return now if self.every is not None else self.next_due(now)


REGISTRY: dict[str, JobSpec] = {}


def _default_name(func: Callable[..., Any]) -> str:
    module = func.__module__
    app = module.split(".")[-2] if module.startswith("xianfeng.") and module.count(".") >= 2 else module
    return f"{app}.{func.__name__}"


def _register(spec: JobSpec) -> None:
    existing = REGISTRY.get(spec.name)
    if existing is not None and existing.func is not spec.func:
        same_code = (getattr(existing.func, "__module__", None), getattr(existing.func, "__qualname__", None)) == (
            spec.func.__module__, spec.func.__qualname__)
        if not same_code:
            raise ValueError(f"two jobs are named {spec.name!r}")
    REGISTRY[spec.name] = spec


def _stale(stale_after: float | None) -> float | None:
    if stale_after is None:
        return None
    if not float(stale_after) >= 1:
        raise ValueError("stale_after must be at least 1 second")
    return float(stale_after)


def job(name: str | None = None, *, max_attempts: int | None = None, backoff: float | None = None,
        stale_after: float | None = None):
    """Register a one-off job (scheduled by services with job_schedule). The name defaults to '<app>.<function>'."""
    stale = _stale(stale_after)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        _register(JobSpec(name=name or _default_name(func), func=func, max_attempts=max_attempts, backoff=backoff,
                          stale_after=stale))
        return func

    return decorate


def periodic(every: int, *, name: str | None = None, max_attempts: int | None = None, backoff: float | None = None,
             stale_after: float | None = None):
    """Register a job that runs every `every` seconds (measured from the end of its previous run's schedule)."""
    if int(every) < 1:
        raise ValueError("every must be at least 1 second")
    stale = _stale(stale_after)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        _register(JobSpec(name=name or _default_name(func), func=func, max_attempts=max_attempts, backoff=backoff,
                          every=int(every), stale_after=stale))
        return func

    return decorate


def daily(at: str, *, name: str | None = None, max_attempts: int | None = None, backoff: float | None = None,
          stale_after: float | None = None):
    """Register a job that runs once a day at `at` ("HH:MM", local time)."""
    m = _TIME_RE.match(at)
    if not m:
        raise ValueError(f"daily(at=...) needs HH:MM, got {at!r}")
    when = dt.time(int(m[1]), int(m[2]))
    stale = _stale(stale_after)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        _register(JobSpec(name=name or _default_name(func), func=func, max_attempts=max_attempts, backoff=backoff,
                          at=when, stale_after=stale))
        return func

    return decorate


def get(name: str) -> JobSpec | None:
    return REGISTRY.get(name)


def periodic_specs() -> list[JobSpec]:
    return [spec for spec in REGISTRY.values() if spec.is_periodic]


def stale_thresholds() -> dict[float, list[str]]:
    """{seconds: [job names]} for the jobs that declared their own `stale_after`."""
    groups: dict[float, list[str]] = {}
    for spec in REGISTRY.values():
        if spec.stale_after is not None:
            groups.setdefault(spec.stale_after, []).append(spec.name)
    return groups


def stale_after_for(name: str, default: float) -> float:
    """The sweeper's threshold for job `name`: its own, else `default` (the worker's)."""
    spec = REGISTRY.get(name)
    return spec.stale_after if spec is not None and spec.stale_after is not None else default
