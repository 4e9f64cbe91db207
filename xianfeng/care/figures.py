"""Alert figures: outcomes, time to acknowledge and to arrive (median, p90), the share acknowledged within 60 s and
180 s (the telecare reference: 97.5 % and 99 %), offline devices — for any set of alerts, and per community."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone

from .models import Alert

TARGET_60 = 0.975
TARGET_180 = 0.99
CALL_KINDS = (Alert.Kind.PRESS, Alert.Kind.TEST)


def quantile(values: list[float], q: float) -> float | None:
    """The q-quantile with linear interpolation between order statistics (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass
class Share:
    """x of n, with the rate (None when n = 0)."""

    x: int = 0
    n: int = 0

    @property
    def rate(self) -> float | None:
        return self.x / self.n if self.n else None

    @property
    def percent(self) -> str:
        return "—" if self.rate is None else f"{self.rate * 100:.1f}%"


@dataclass
class AlertFigures:
    calls: int = 0  # presses and test presses
    offline_alerts: int = 0
    outcomes: Counter = field(default_factory=Counter)
    open: int = 0
    ack_median: float | None = None
    ack_p90: float | None = None
    arrive_median: float | None = None
    arrive_p90: float | None = None
    within_60: Share = field(default_factory=Share)
    within_180: Share = field(default_factory=Share)

    @property
    def meets_60(self) -> bool | None:
        return None if self.within_60.rate is None else self.within_60.rate >= TARGET_60

    @property
    def meets_180(self) -> bool | None:
        return None if self.within_180.rate is None else self.within_180.rate >= TARGET_180


def _within(share: Share, ack: float | None, age: float, limit: float, every_call: bool = False) -> None:
    """Count an alert for a 'within `limit` seconds' share once it can be decided: acknowledged, or older than the
    limit (a call still unanswered after `limit` seconds has failed it). With `every_call`, every call counts in n
    (the registered indicators care.ack_60s / ack_180s, care/indicators.py)."""
    if ack is not None:
        share.n += 1
        share.x += ack <= limit
    elif age > limit or every_call:
        share.n += 1


def compute(rows: Iterable[tuple], now: dt.datetime | None = None, *, every_call: bool = False) -> AlertFigures:
    """Figures from (kind, status, outcome, raised_at, ack_seconds, arrive_seconds) rows. `every_call`: the shares
    within 60 s and 180 s are over every call, as the registered indicators count them (the figures page); without
    it, over the calls decided so far (the duty console's live view)."""
    now = now or timezone.now()
    f = AlertFigures()
    acks, arrivals = [], []
    for kind, status, outcome, raised_at, ack, arrive in rows:
        if kind == Alert.Kind.OFFLINE:
            f.offline_alerts += 1
            continue
        f.calls += 1
        if status == Alert.Status.RESOLVED:
            f.outcomes[outcome] += 1
        else:
            f.open += 1
        if ack is not None:
            acks.append(ack)
        if arrive is not None:
            arrivals.append(arrive)
        age = (now - raised_at).total_seconds()
        _within(f.within_60, ack, age, 60, every_call)
        _within(f.within_180, ack, age, 180, every_call)
    f.ack_median, f.ack_p90 = quantile(acks, 0.5), quantile(acks, 0.9)
    f.arrive_median, f.arrive_p90 = quantile(arrivals, 0.5), quantile(arrivals, 0.9)
    return f


FIELDS = ("kind", "status", "outcome", "raised_at", "ack_seconds", "arrive_seconds")


def in_period(qs: QuerySet, start: dt.date | None, end: dt.date | None) -> QuerySet:
    if start:
        qs = qs.filter(raised_at__gte=timezone.make_aware(dt.datetime.combine(start, dt.time())))
    if end:
        qs = qs.filter(raised_at__lt=timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time())))
    return qs


def figures(qs: QuerySet, *, start: dt.date | None = None, end: dt.date | None = None,
            now: dt.datetime | None = None, every_call: bool = False) -> AlertFigures:
    return compute(in_period(qs, start, end).values_list(*FIELDS).iterator(chunk_size=5000), now=now,
                   every_call=every_call)


@dataclass
class OrgRow:
    org_id: int
    name: str
    figures: AlertFigures
    devices: int = 0
    offline: int = 0


def figures_by_org(alerts: QuerySet, devices: QuerySet, *, start: dt.date | None = None, end: dt.date | None = None,
                   now: dt.datetime | None = None, every_call: bool = False) -> list[OrgRow]:
    """One row per community (village) that has devices or alerts in the given (already scoped) querysets."""
    by_org: dict[int, list[tuple]] = defaultdict(list)
    names: dict[int, str] = {}
    for row in in_period(alerts, start, end).values_list("org_id", "org__full_name", *FIELDS).iterator(5000):
        by_org[row[0]].append(row[2:])
        names[row[0]] = row[1]
    device_counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for org_id, name, offline_since in devices.filter(is_active=True).values_list("org_id", "org__full_name",
                                                                                 "offline_since"):
        device_counts[org_id][0] += 1
        device_counts[org_id][1] += offline_since is not None
        names[org_id] = name
    rows = [OrgRow(org_id=o, name=names[o], figures=compute(by_org.get(o, []), now=now, every_call=every_call),
                   devices=device_counts[o][0] if o in device_counts else 0,
                   offline=device_counts[o][1] if o in device_counts else 0)
            for o in names]
    return sorted(rows, key=lambda r: r.name)


def offline_count(devices: QuerySet) -> int:
    return devices.filter(is_active=True, offline_since__isnull=False).count()

