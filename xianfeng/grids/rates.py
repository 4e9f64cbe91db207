"""The grids module's figures per organisation subtree for its figures page and the case drill-down. On-time closure
and visit coverage are the registered indicators (grids/indicators.py); closure, reopen and satisfaction are
counted here, in one aggregate query grouped by the village or community, rolled up by path prefix in Python.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from xianfeng.core import indicators

from .models import Case, Status


def _roll_up(orgs: Sequence[Any], rows: list[tuple[str, int, int]]) -> dict[int, tuple[int, int]]:
    """rows: (organisation path, x, n) per village/community; each asked org sums the rows in its subtree."""
    result: dict[int, tuple[int, int]] = {}
    for org in orgs:
        x = n = 0
        for path, rx, rn in rows:
            if path.startswith(org.path):
                x += rx
                n += rn
        if n:
            result[org.pk] = (x, n)
    return result


def _period(start: dt.date | None, end: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    def at(day: dt.date) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min))

    return (at(start) if start else None, at(end + dt.timedelta(days=1)) if end else None)


def on_time_counts(cases, *, start: dt.date | None = None, end: dt.date | None = None, now: dt.datetime | None = None):
    """Cases that fell due in the period (deadline passed, or closed), minus those suspended (缓办) and merged
    duplicates: the denominator of 按期办结率; the numerator is those closed by their deadline. By default as of the
    start of today, like the registered indicator (grids/indicators.py), so the drill-down lists what it counts."""
    now = now or (timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
                  - dt.timedelta(microseconds=1))
    lo, hi = _period(start, end)
    qs = cases.exclude(status__in=[Status.SUSPENDED, Status.MERGED]).filter(due_at__isnull=False)
    qs = qs.filter(Q(due_at__lte=now) | Q(status=Status.CLOSED))
    if lo:
        qs = qs.filter(due_at__gte=lo)
    if hi:
        qs = qs.filter(due_at__lt=hi)
    return qs


def grids_on_time(orgs, *, start=None, end=None) -> dict[int, tuple[int, int]]:
    """按期办结率 per subtree: the registered indicator (grids/indicators.py), cases counted by deadline."""
    return indicators.get("grids.on_time").counts(orgs, start=start, end=end)


def grids_visit_coverage(orgs, *, start=None, end=None) -> dict[int, tuple[int, int]]:
    """走访覆盖率 per subtree: the registered indicator, households visited in the 90 days ending on `end` (default
    today, as the cockpit counts it)."""
    return indicators.get("grids.visit_coverage").counts(orgs, today=end)


CASE_FIGURES = ("on_time", "closure", "reopen", "satisfaction")


def _opened(cases, start, end):
    lo, hi = _period(start, end)
    opened = cases.exclude(status=Status.MERGED)
    if lo:
        opened = opened.filter(created_at__gte=lo)
    if hi:
        opened = opened.filter(created_at__lt=hi)
    return opened


def figure_sets(cases, key: str, *, start=None, end=None):
    """(numerator, denominator) querysets of one figure over `cases`: the records behind the number, for the
    drill-down. The same conditions case_figures counts with."""
    if key == "on_time":
        due = on_time_counts(cases, start=start, end=end)
        return due.filter(status=Status.CLOSED, closed_on_time=True), due
    opened = _opened(cases, start, end)
    if key == "closure":
        return opened.filter(status=Status.CLOSED), opened
    if key == "reopen":
        ever_closed = opened.filter(Q(status=Status.CLOSED) | Q(reopen_count__gt=0))
        return ever_closed.filter(reopen_count__gt=0), ever_closed
    if key == "satisfaction":
        rated = opened.exclude(rating="")
        return rated.filter(rating__in=["satisfied", "basic"]), rated
    raise KeyError(key)


def case_figures(orgs, *, start=None, end=None) -> dict[int, dict[str, tuple[int, int]]]:
    """For the figures page: per org subtree, on-time, closure, reopen and satisfaction as (x, n)."""
    opened = _opened(Case.objects.all(), start, end)
    rows = list(opened.order_by().values("org__path").annotate(
        n=Count("id"), closed=Count("id", filter=Q(status=Status.CLOSED)),
        reopened=Count("id", filter=Q(reopen_count__gt=0)),
        ever_closed=Count("id", filter=Q(status=Status.CLOSED) | Q(reopen_count__gt=0)),
        rated=Count("id", filter=~Q(rating="")),
        satisfied=Count("id", filter=Q(rating__in=["satisfied", "basic"]))))
    result: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
    for key, x, n in (("closure", "closed", "n"), ("reopen", "reopened", "ever_closed"), ("satisfaction", "satisfied",
                                                                                       "rated")):
        for org_id, pair in _roll_up(orgs, [(r["org__path"], r[x], r[n]) for r in rows]).items():
            result[org_id][key] = pair
    for org_id, pair in grids_on_time(orgs, start=start, end=end).items():
        result[org_id]["on_time"] = pair
    for org_id, pair in grids_visit_coverage(orgs, end=end).items():
        result[org_id]["coverage"] = pair
    return result
