"""The cockpit's figures for one organisation's subtree: rollup sums, a few live counts of small tables, the
children table and the monthly trends. A page costs a fixed handful of queries whatever the subtree's size."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Min, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xianfeng.core.indicators import Indicator, indicators, link  # noqa: F401 (link: the modules' addresses)
from xianfeng.core.indicators import trends as trend_series
from xianfeng.core.scoping import subtree_q
from xianfeng.orgs.models import PARTY_KINDS, Organisation

from .models import Rollup, SubtreeMonth

TREND_MONTHS = 12


@dataclass
class Figure:
    """One headline figure: a registered indicator's value, optionally over its denominator, and the address of the
    records behind it."""

    key: str  # the indicator's key ("pledges.members_pledged")
    label: str
    value: int | float
    url: str = ""
    denominator: int | None = None
    denominator_label: str = ""
    unit: str = ""
    live: bool = False  # counted from the module's table on each request (small tables) rather than from rollups
    metric: str = ""  # the numerator's measure (the rollup metric; the page's test ids)
    window: str = ""

    @property
    def rate(self) -> float | None:
        if self.denominator is None or not self.denominator:
            return None
        return self.value / self.denominator

    @property
    def display(self) -> str:
        if isinstance(self.value, float):
            return f"{self.value:,.2f}"
        return f"{self.value:,}"

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": str(self.label), "value": self.value, "denominator": self.denominator,
                "denominator_label": str(self.denominator_label), "rate": self.rate, "unit": str(self.unit),
                "window": str(self.window), "url": self.url, "source": "live" if self.live else "rollup"}


@dataclass
class Section:
    key: str
    label: str
    figures: list[Figure] = field(default_factory=list)


class Totals:
    """The subtree totals of one organisation, metric by metric (0 for a metric with no rows)."""

    def __init__(self, sums: dict[str, int]):
        self.sums = sums

    def __getitem__(self, metric: str) -> int:
        return self.sums.get(metric, 0)

    @property
    def on_time_due(self) -> int:
        """按期办结率's denominator as of the start of today (grids/indicators.py)."""
        due = indicators()["grids.on_time"].denominator
        return self[due.key] if due is not None else 0


def subtree_totals(org: Organisation) -> Totals:
    """One indexed read of the organisation's own subtree rows, however big the subtree."""
    rows = SubtreeMonth.objects.filter(org=org).values("metric").annotate(total=Sum("value")).order_by()
    return Totals({r["metric"]: int(r["total"]) for r in rows})


def children_totals(children: list[Organisation]) -> dict[int, Totals]:
    """Subtree totals for each child, in one query over the children's rows."""
    rows = (SubtreeMonth.objects.filter(org_id__in=[c.pk for c in children]).values("org_id", "metric")
            .annotate(total=Sum("value")).order_by())
    by_org: dict[int, dict[str, int]] = defaultdict(dict)
    for r in rows:
        by_org[r["org_id"]][r["metric"]] = int(r["total"])
    return {child.pk: Totals(by_org.get(child.pk, {})) for child in children}


SECTIONS = [
    ("orgs", _("Organisations and members")),
    ("pledges", _("Pledges")),
    ("demands", _("Demands, services and points")),
    ("events", _("Lessons, teams and activities")),
    ("grids", _("Grids and cases")),
    ("care", _("Care")),
    ("supervision", _("Inspections and awards")),
]


def cockpit_indicators() -> list[Indicator]:
    """The registered indicators shown as tiles, by section and order."""
    order = {key: i for i, (key, _label) in enumerate(SECTIONS)}
    shown = [i for i in indicators().values() if i.section in order and i.numerator is not None]
    return sorted(shown, key=lambda i: (order[i.section], i.order, i.key))


def live_counts(org: Organisation) -> dict[str, int]:
    """The measures counted live on each request: their tables stay small even for a province (funds,
    inspections, award rounds)."""
    found: dict[str, int] = {}
    for item in cockpit_indicators():
        for m in (item.numerator, item.denominator):
            if m is not None and not m.rolled and m.key not in found:
                found[m.key] = m.total(org)
    return found


def indicator_value(item: Indicator, t: Totals, live: dict[str, int]) -> tuple[int | float, int | None]:
    """(value, denominator) of one indicator for a subtree: rollup sums, or live counts for unrolled measures."""

    def amount(m) -> int:
        return live.get(m.key, 0) if not m.rolled else t[m.key]

    value: int | float = amount(item.numerator)
    if item.scale != 1:
        value = value / item.scale
    return value, (amount(item.denominator) if item.denominator is not None else None)


def snapshot_days(today: dt.date) -> dict[str, dt.date]:
    """Rolled-up snapshots (counted as of the day they were computed, e.g. households visited in the last 90 days)
    whose oldest row is from before `today`: their figure is labelled with that day until the nightly rebuild.
    One indexed read per snapshot measure."""
    keys = {m.key for item in cockpit_indicators() for m in (item.numerator, item.denominator)
            if m is not None and m.rolled and m.snapshot}
    rows = Rollup.objects.filter(metric__in=keys).values("metric").annotate(day=Min("day")).order_by()
    return {r["metric"]: r["day"] for r in rows if r["day"] is not None and r["day"] < today}


def sections(org: Organisation, t: Totals, live: dict[str, int], stale: dict[str, dt.date] | None = None
             ) -> list[Section]:
    """Every module's headline figures (the registered indicators), each with its denominator and the list page of
    the records behind it."""
    by_section: dict[str, list[Figure]] = defaultdict(list)
    for item in cockpit_indicators():
        assert item.numerator is not None  # cockpit_indicators() keeps only those
        value, denominator = indicator_value(item, t, live)
        label = item.label
        day = (stale or {}).get(item.numerator.key)
        if day is not None:
            label = _("%(label)s (counted on %(day)s)") % {"label": item.label, "day": day.isoformat()}
        by_section[item.section].append(Figure(
            item.key, label, value, item.url(org.pk), denominator, item.denominator_label, item.unit,
            not item.numerator.rolled, item.numerator.key, item.window))
    return [Section(key, str(label), by_section[key]) for key, label in SECTIONS if by_section.get(key)]


# the children table: indicator keys (value over the denominator, if the indicator has one). cockpit.js charts
# columns 0 (members), 1 (pledges fulfilled) and 5 (closed on time) by position: add new columns at the end.
CHILD_INDICATORS = ["orgs.members", "pledges.fulfilled", "demands.services_confirmed", "events.lessons",
                    "grids.visit_coverage", "grids.on_time", "care.ack_60s", "pledges.members_pledged"]


def child_columns() -> list[tuple[str, str, str | None]]:
    """(indicator key, label, denominator measure or None) of each column."""
    found = indicators()
    columns = []
    for key in CHILD_INDICATORS:
        item = found.get(key)
        if item is not None:
            columns.append((key, item.label, item.denominator.key if item.denominator is not None else None))
    return columns


@dataclass
class ChildRow:
    org: Organisation
    orgs: int
    cells: list[tuple[int | float, int | None]]  # (value, denominator or None)


def children_rows(org: Organisation) -> list[ChildRow]:
    children = list(Organisation.objects.filter(parent=org).order_by("path"))
    totals = children_totals(children)
    found = indicators()
    columns = [found[key] for key in CHILD_INDICATORS if key in found]
    return [ChildRow(child, totals[child.pk]["orgs"],
                     [indicator_value(item, totals[child.pk], {}) for item in columns]) for child in children]


def trends(org: Organisation, today: dt.date) -> dict[str, Any]:
    """Monthly sums of the trend series the apps register (xianfeng.core.indicators.trend) over the last 12 months
    (this month included), with their labels."""
    series_labels = trend_series()
    keys = [key for key, _label in series_labels]
    first = (today.replace(day=1) - dt.timedelta(days=31 * (TREND_MONTHS - 1))).replace(day=1)
    months: list[dt.date] = []
    m = first
    while m <= today:
        months.append(m)
        m = (m + dt.timedelta(days=32)).replace(day=1)
    rows = (SubtreeMonth.objects.filter(org=org, metric__in=keys, month__gte=first, month__lte=today)
            .values("metric", "month").annotate(v=Sum("value")).order_by())
    series: dict[str, dict[str, int]] = defaultdict(dict)
    for r in rows:
        month = r["month"]
        key = (month.date() if isinstance(month, dt.datetime) else month).strftime("%Y-%m")
        series[r["metric"]][key] = int(r["v"])
    labels = [m.strftime("%Y-%m") for m in months]
    return {"months": labels, "series": {k: [series[k].get(label, 0) for label in labels] for k in keys},
            "labels": {k: str(label) for k, label in series_labels}}


@dataclass
class Cockpit:
    org: Organisation
    today: dt.date
    totals: Totals
    live: dict[str, int]
    sections: list[Section]
    children: list[ChildRow]
    trends: dict[str, Any]
    ancestors: list[Organisation]

    def figure(self, key: str) -> Figure:
        return next(fig for s in self.sections for fig in s.figures if fig.key == key)


def cockpit_for(org: Organisation, *, today: dt.date | None = None, with_children: bool = True) -> Cockpit:
    today = today or timezone.localdate()
    totals = subtree_totals(org)
    live = live_counts(org)
    return Cockpit(org=org, today=today, totals=totals, live=live,
                   sections=sections(org, totals, live, snapshot_days(today)),
                   children=children_rows(org) if with_children else [],
                   trends=trends(org, today), ancestors=list(org.ancestors()))


def unit_descendants(org: Organisation):
    """Every organisation in the subtree below `org` that is a unit (not a party organisation), by path."""
    return (Organisation.objects.filter(subtree_q("path", org.path)).exclude(pk=org.pk)
            .exclude(kind__in=PARTY_KINDS).order_by("path"))
