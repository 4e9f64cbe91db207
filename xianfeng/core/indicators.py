"""Indicators: every figure the platform shows, defined once, by the app that owns the records.

Each app's `indicators.py` registers its indicators; the cockpit (page, export, API), the rates panel and funnels,
the modules' figures pages and the inspection report read them from here, so one figure has one value wherever it
appears. An indicator says:

    key          "pledges.members_pledged"
    label        what it counts, with its window or population where it has one ("近90天已走访户")
    numerator    a Measure: rows of one model matching a condition, counted per organisation and day
    denominator  a Measure too (or None for a plain count)
    list_url     the list page and filter query string whose rows are exactly the numerator's records

A Measure is also what the cockpit's rollups store (`cockpit/metrics.py` writes one rollup metric per measure), so
the rolled-up value and the live count come from the same condition. A rate whose n is not a set of records (the
lesson attendance rate's expected attendances) gives a `provider` instead and is computed live.

    @indicator(...)  or  register(Indicator(...))      in the app's indicators.py
    indicators()  → {key: Indicator}                   every app's indicators.py imported first
    measures()    → [Measure]                          every rolled-up measure, numerators and denominators
    watch(model, *paths)                               a table whose rows change a measure without being its records
    watched()     → {model: (attribute path, …)}       what the cockpit's dirty marks listen to
    trend(measure, label, order) / trends()            the monthly series the cockpit draws

The cockpit knows none of the modules' tables or status strings: it reads these functions only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db.models import Count, DateField, F, Q, QuerySet, Value
from django.db.models.functions import TruncDate
from django.utils import timezone

from .scoping import SEGMENT, subtree_q

Provider = Callable[..., dict[int, tuple[int, int]]]


def link(name: str, *args: Any, **query: Any) -> str:
    """The address of a page with a query string; "" if the page does not exist (a module renamed it)."""
    from urllib.parse import urlencode

    from django.urls import NoReverseMatch, reverse

    try:
        url = reverse(name, args=args)
    except NoReverseMatch:
        return ""
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


def on_date(field_name: str) -> Callable[[dt.date], Any]:
    """The day a row counts on: a date column."""
    return lambda today: F(field_name)


def on_datetime(field_name: str) -> Callable[[dt.date], Any]:
    """The day a row counts on: the date of a datetime column."""
    return lambda today: TruncDate(field_name)


def on_today() -> Callable[[dt.date], Any]:
    """A snapshot: every matching row counts on the day it is computed (re-counted nightly as its window moves)."""
    return lambda today: Value(today, output_field=DateField())


def _everything(today: dt.date) -> Q:
    return Q()


def _count() -> Any:
    return Count("id")


@dataclass(frozen=True)
class Measure:
    """Rows of `model` matching `where(today)`, counted (or `value` summed) per organisation (`org`, a path to the
    organisation id) and day (`day`). `key` names the cockpit's rollup metric of it."""

    key: str
    model: str  # "app_label.Model"
    org: str  # "org_id", "grid__org_id", "id" (the organisation itself)
    day: Callable[[dt.date], Any]
    where: Callable[[dt.date], Q] = _everything
    value: Callable[[], Any] = _count
    rolled: bool = True  # kept in the cockpit's rollups; False: counted live (small tables)
    snapshot: bool = False  # counted as of today (`on_today`): its window is its own, start/end do not apply

    @property
    def org_path(self) -> str:
        """The lookup of the organisation's path: "org_id" → "org__path", "id" → "path"."""
        if self.org == "id":
            return "path"
        return self.org.removesuffix("_id") + "__path"

    @property
    def is_count(self) -> bool:
        return self.value is _count

    def records(self, today: dt.date | None = None) -> QuerySet:
        today = today or timezone.localdate()
        return apps.get_model(self.model).objects.filter(self.where(today))

    def in_subtree(self, org: Any, today: dt.date | None = None) -> QuerySet:
        """The rows counted for `org`'s whole subtree (the records behind the figure)."""
        return self.records(today).filter(subtree_q(self.org_path, org.path))

    def grouped(self, today: dt.date, org_ids: Iterable[int] | None = None, *, start: dt.date | None = None,
                end: dt.date | None = None) -> QuerySet:
        """(o = organisation id, d = day, v = value) rows: what the rollups store."""
        qs = self.records(today)
        if org_ids is not None:
            qs = qs.filter(**{f"{self.org}__in": list(org_ids)})
        qs = qs.annotate(o=F(self.org), d=self.day(today)).filter(o__isnull=False, d__isnull=False)
        if start is not None:
            qs = qs.filter(d__gte=start)
        if end is not None:
            qs = qs.filter(d__lte=end)
        return qs.values("o", "d").annotate(v=self.value()).order_by()

    def total(self, org: Any, today: dt.date | None = None) -> int:
        """The live value over `org`'s subtree."""
        qs = self.in_subtree(org, today)
        if self.is_count:
            return qs.count()
        return int(qs.aggregate(v=self.value())["v"] or 0)

    def by_subtree(self, orgs: Sequence[Any], *, today: dt.date | None = None, start: dt.date | None = None,
                   end: dt.date | None = None) -> dict[int, int]:
        """{org id: value over its subtree} for many organisations: one grouped query by the rows' organisation
        path, summed up the tree by path prefix."""
        today = today or timezone.localdate()
        qs = self.records(today).annotate(d=self.day(today)).filter(d__isnull=False)
        if start is not None and not self.snapshot:
            qs = qs.filter(d__gte=start)
        if end is not None and not self.snapshot:
            qs = qs.filter(d__lte=end)
        wanted = {org.path: org.pk for org in orgs}
        result: dict[int, int] = defaultdict(int)
        value = self.value() if not self.is_count else Count("id")
        for path, v in qs.order_by().values(self.org_path).annotate(v=value).values_list(self.org_path, "v"):
            if not path:
                continue
            for cut in range(SEGMENT, len(path) + 1, SEGMENT):
                org_id = wanted.get(path[:cut])
                if org_id is not None:
                    result[org_id] += int(v or 0)
        return dict(result)


@dataclass(frozen=True)
class Indicator:
    """One figure: a numerator over an optional denominator, its window, and the list of its numerator's records."""

    key: str
    label: Any  # says its window or population where it has one
    numerator: Measure | None
    denominator: Measure | None = None
    denominator_label: Any = ""
    section: str = ""  # the cockpit section it is shown in ("" = not a cockpit tile)
    order: int = 0
    unit: Any = ""
    scale: int = 1  # the value is divided by this when shown (fen → yuan)
    window: Any = ""  # "近90天", "全部", … (also said in the label)
    list_url: Callable[[int], str] | None = None  # organisation id → the list of the numerator's records
    page_url: Callable[[int], str] | None = None  # where no such list exists yet: the page the figure links to
    # a registered rate (the rates panel, funnels and the report): its Chinese name, numerator and denominator
    rate_label: str = ""
    rate_numerator: str = ""
    rate_denominator: str = ""
    provider: Provider | None = None  # (x, n) computed live, when n is not a set of records
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_rate(self) -> bool:
        return bool(self.rate_label)

    def counts(self, orgs: Sequence[Any], *, start: dt.date | None = None, end: dt.date | None = None,
               today: dt.date | None = None) -> dict[int, tuple[int, int]]:
        """{org id: (x, n)} over each organisation's subtree, counted live (organisations with n = 0 absent)."""
        orgs = list(orgs)
        if self.provider is not None:
            return self.provider(orgs, start=start, end=end)
        assert self.numerator is not None and self.denominator is not None, self.key
        xs = self.numerator.by_subtree(orgs, today=today, start=start, end=end)
        ns = self.denominator.by_subtree(orgs, today=today, start=start, end=end)
        return {pk: (xs.get(pk, 0), n) for pk, n in ns.items() if n}

    def url(self, org_id: int) -> str:
        """The numerator's list, else the page the figure links to."""
        for make in (self.list_url, self.page_url):
            url = make(org_id) if make is not None else ""
            if url:
                return url
        return ""


_INDICATORS: dict[str, Indicator] = {}
_EXTRA_MEASURES: dict[str, Measure] = {}
_WATCHED: dict[str, list[str]] = {}
_TRENDS: dict[str, tuple[int, Measure, Any]] = {}


def register(item: Indicator) -> Indicator:
    """Register an indicator under its key (``app.name``); registering a key again replaces it."""
    _INDICATORS[item.key] = item
    return item


def register_measure(measure: Measure) -> Measure:
    """A rolled-up measure that is no indicator's numerator or denominator (a monthly trend series)."""
    _EXTRA_MEASURES[measure.key] = measure
    return measure


def _discover() -> None:
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("indicators")


def indicators() -> dict[str, Indicator]:
    """Every registered indicator in registration order; each app's `indicators.py` is imported first."""
    _discover()
    return dict(_INDICATORS)


def get(key: str) -> Indicator:
    """The registered indicator `key`; KeyError if no app registers it."""
    return indicators()[key]


def measures() -> list[Measure]:
    """Every rolled-up measure (each key once): numerators, denominators and the extra series."""
    found: dict[str, Measure] = {}
    for item in indicators().values():
        for m in (item.numerator, item.denominator):
            if m is not None and m.rolled:
                previous = found.setdefault(m.key, m)
                if previous is not m:
                    raise ValueError(f"two measures are named {m.key!r}")
    for m in _EXTRA_MEASURES.values():
        found.setdefault(m.key, m)
    return list(found.values())




def watch(model: str, *org_paths: str) -> None:
    """Rows of `model` ("app_label.Model") change a rolled-up measure without being its records — a history row a
    service appends where a conditional UPDATE sent no signal, a pledge that makes its member count as pledged: the
    cockpit marks the organisations at `org_paths` (attribute paths, "pledge.member.org_id") dirty when one is saved
    or deleted."""
    paths = _WATCHED.setdefault(model, [])
    for path in org_paths:
        if path not in paths:
            paths.append(path)


def _attribute_path(org: str) -> str:
    """A measure's organisation lookup as an attribute path: "grid__org_id" → "grid.org_id"."""
    return org.replace("__", ".")


def watched() -> dict[str, tuple[str, ...]]:
    """{model label: attribute paths to the organisation ids whose own rollups a saved or deleted row of it changes}:
    the table of every rolled-up measure (at the measure's organisation), and what the apps add with `watch()`."""
    found: dict[str, list[str]] = {}
    for m in measures():
        paths = found.setdefault(m.model, [])
        path = _attribute_path(m.org)
        if path not in paths:
            paths.append(path)
    for model, extra in _WATCHED.items():
        paths = found.setdefault(model, [])
        paths.extend(p for p in extra if p not in paths)
    return {model: tuple(paths) for model, paths in found.items()}


def trend(measure: Measure, label: Any, order: int) -> Measure:
    """Draw `measure` (rolled up) as a monthly series in the cockpit's trend chart, at position `order`."""
    if not measure.rolled:
        raise ValueError(f"trend {measure.key!r}: only rolled-up measures have monthly sums")
    _TRENDS[measure.key] = (order, measure, label)
    register_measure(measure)
    return measure


def trends() -> list[tuple[str, Any]]:
    """(measure key, label) of every monthly trend series, in order."""
    _discover()
    return [(m.key, label) for _order, m, label in sorted(_TRENDS.values(), key=lambda t: (t[0], t[1].key))]
