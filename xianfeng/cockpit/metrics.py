"""The rolled-up metrics and the set-based SQL that (re)computes them.

Each metric is one grouped query over a module's table: (own organisation, day) → value. `rebuild()` replaces every
row with one `INSERT … SELECT … GROUP BY` per metric; `refresh()` does the same restricted to the organisations
marked dirty. Neither loops over rows in Python, so a province (100,000 organisations, 4,000,000 members) is a
few dozen statements.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import connection, transaction
from django.db.models import Count, DateField, Exists, F, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils import timezone

from .models import DirtyOrg, Rollup, SubtreeMonth

VISIT_WINDOW_DAYS = 90  # the grids module's visit coverage window (grids/rates.py)


@dataclass(frozen=True)
class Metric:
    """`model` rows matching `where` counted (or `value` summed) per organisation (`org`) and day (`day`)."""

    key: str
    model: str  # "app_label.Model"
    org: str  # path to the organisation id, e.g. "org_id", "grid__org_id"
    day: Callable[[dt.date], Any]  # today → expression for the day the row counts on
    where: Callable[[dt.date], Q] = lambda today: Q()
    value: Callable[[], Any] = lambda: Count("id")

    def queryset(self, today: dt.date, org_ids: Iterable[int] | None = None):
        qs = apps.get_model(self.model).objects.filter(self.where(today))
        if org_ids is not None:
            qs = qs.filter(**{f"{self.org}__in": list(org_ids)})
        return (qs.annotate(o=F(self.org), d=self.day(today)).filter(o__isnull=False, d__isnull=False)
                .values("o", "d").annotate(v=self.value()).order_by())


def _date(field: str):
    return lambda today: F(field)


def _datetime(field: str):
    return lambda today: TruncDate(field)


def _today():
    return lambda today: Value(today, output_field=DateField())


def _states(*names: str) -> Callable[[dt.date], Q]:
    return lambda today: Q(status__in=names)


def _pledge_public(today: dt.date) -> Q:
    from xianfeng.pledges.models import PUBLIC_STATES

    return Q(status__in=PUBLIC_STATES)


def _calls(today: dt.date) -> Q:
    from xianfeng.care.figures import CALL_KINDS

    return Q(kind__in=CALL_KINDS)


def _visited(today: dt.date) -> Q:
    from xianfeng.grids.models import Visit

    since = today - dt.timedelta(days=VISIT_WINDOW_DAYS - 1)
    return Q(Exists(Visit.objects.filter(household=OuterRef("pk"), date__gte=since, date__lte=today)))


def _due(today: dt.date) -> Q:
    """按期办结率's denominator as of the start of `today` (grids/rates.on_time_counts with now = midnight): cases with
    a deadline, neither suspended nor merged, whose deadline has passed or which are closed. A snapshot: counted on
    `today`, recomputed with the organisation and by the nightly rebuild as deadlines pass."""
    midnight = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    return ~Q(status__in=["suspended", "merged"]) & Q(due_at__isnull=False) & (Q(due_at__lt=midnight) |
                                                                                Q(status="closed"))


METRICS: list[Metric] = [
    Metric("orgs", "orgs.Organisation", "id", _datetime("created_at")),
    # stocks (members, organisations, households) count on the day their row was created: one row per organisation
    # and load, so subtree sums stay small; the cockpit shows their current totals, not a history
    Metric("members", "orgs.Member", "org_id", _datetime("created_at"), lambda t: ~Q(status="left")),
    Metric("pledges", "pledges.Pledge", "org_id", _datetime("created_at"), lambda t: ~Q(status="draft")),
    Metric("pledges_published", "pledges.Pledge", "org_id",
           lambda t: Coalesce("published_on", TruncDate("created_at")), _pledge_public),
    Metric("pledges_fulfilled", "pledges.Pledge", "org_id", _date("fulfilled_on"), lambda t: Q(fulfilled_on__isnull=False)),
    Metric("pledges_formulaic", "pledges.Pledge", "org_id", _datetime("created_at"),
           lambda t: ~Q(status="draft") & Q(formulaic=True)),
    Metric("demands", "demands.Demand", "org_id", _datetime("created_at")),
    Metric("demands_claimed", "demands.Demand", "org_id", _datetime("first_claimed_at"),
           lambda t: Q(first_claimed_at__isnull=False)),
    Metric("demands_done", "demands.Demand", "org_id", lambda t: Coalesce(TruncDate("done_at"), TruncDate("created_at")),
           _states("done")),
    Metric("services", "demands.ServiceRecord", "org_id", _date("served_on")),
    Metric("services_confirmed", "demands.ServiceRecord", "org_id", _date("served_on"), _states("confirmed")),
    Metric("points_issued", "points.Award", "org_id", _date("on"), value=lambda: Sum("points")),
    Metric("points_redeemed", "points.Redemption", "reward__shop_id", _datetime("created_at"), value=lambda: Sum("points")),
    Metric("redemptions", "points.Redemption", "reward__shop_id", _datetime("created_at")),
    Metric("teams", "events.Team", "org_id", _datetime("created_at")),
    Metric("activities", "events.Activity", "org_id", _datetime("starts_at"), lambda t: ~Q(status="cancelled")),
    Metric("lessons", "events.Activity", "org_id", _datetime("starts_at"),
           lambda t: ~Q(status="cancelled") & Q(kind="lesson")),
    Metric("attendances", "events.Attendance", "activity__org_id", _datetime("check_in_at")),
    Metric("lesson_attendances", "events.Attendance", "activity__org_id", _datetime("check_in_at"),
           lambda t: Q(activity__kind="lesson")),
    Metric("households", "grids.Household", "grid__org_id", _datetime("created_at")),
    Metric("households_visited", "grids.Household", "grid__org_id", _today(), _visited),
    Metric("visits", "grids.Visit", "grid__org_id", _date("date")),
    Metric("cases", "grids.Case", "org_id", _datetime("created_at"), lambda t: ~Q(status="merged")),
    Metric("cases_closed", "grids.Case", "org_id", lambda t: Coalesce(TruncDate("closed_at"), TruncDate("created_at")),
           _states("closed")),
    Metric("cases_due", "grids.Case", "org_id", _today(), _due),
    Metric("cases_on_time", "grids.Case", "org_id", _today(), lambda t: _due(t) & Q(status="closed", closed_on_time=True)),
    Metric("calls", "care.Alert", "org_id", _datetime("raised_at"), _calls),
    Metric("calls_ack60", "care.Alert", "org_id", _datetime("raised_at"), lambda t: _calls(t) & Q(ack_seconds__lte=60)),
    Metric("care_actions", "care.CareAction", "case__org_id", _date("date")),
    Metric("aid_count", "care.Disbursement", "case__org_id", lambda t: Coalesce(TruncDate("decided_at"),
                                                                               TruncDate("requested_at")),
           _states("paid")),
    Metric("aid_fen", "care.Disbursement", "case__org_id", lambda t: Coalesce(TruncDate("decided_at"),
                                                                             TruncDate("requested_at")),
           _states("paid"), value=lambda: Sum("amount")),
]
METRIC_KEYS = frozenset(m.key for m in METRICS)


def _insert(metric: Metric, today: dt.date, org_ids: list[int] | None) -> None:
    sql, params = metric.queryset(today, org_ids).query.sql_with_params()
    q = connection.ops.quote_name
    table = q(Rollup._meta.db_table)
    # identifiers are quoted by the backend; every value is a bound parameter
    statement = (f"INSERT INTO {table} ({q('org_id')}, {q('day')}, {q('metric')}, {q('value')}) "  # noqa: S608
                 f"SELECT sub.{q('o')}, sub.{q('d')}, %s, sub.{q('v')} FROM ({sql}) sub WHERE sub.{q('v')} <> 0")
    with connection.cursor() as cursor:
        cursor.execute(statement, [metric.key, *params])


def _execute(statement: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _tree_table() -> str:
    return connection.ops.quote_name(SubtreeMonth._meta.db_table)


def _upsert_add(select_sql: str) -> str:
    """INSERT the (org, month, metric, value) rows of `select_sql` into the subtree table, adding to existing rows."""
    q = connection.ops.quote_name
    table = _tree_table()
    return (f"INSERT INTO {table} ({q('org_id')}, {q('month')}, {q('metric')}, {q('value')}) {select_sql} "
            f"ON CONFLICT ({q('org_id')}, {q('metric')}, {q('month')}) "
            f"DO UPDATE SET {q('value')} = {table}.{q('value')} + excluded.{q('value')}")


def rebuild_tree() -> None:
    """Rebuild the subtree totals from the per-day rows, bottom-up: every organisation's own monthly sums, then each
    level's totals added to its parents', deepest level first. One statement per tree level. Call in a transaction."""
    q = connection.ops.quote_name
    SubtreeMonth.objects.all().delete()
    own = (Rollup.objects.annotate(m=TruncMonth("day")).values("org_id", "m", "metric").annotate(v=Sum("value"))
           .order_by())
    sql, params = own.query.sql_with_params()
    _execute(f"INSERT INTO {_tree_table()} ({q('org_id')}, {q('month')}, {q('metric')}, {q('value')}) "  # noqa: S608
             f"SELECT sub.{q('org_id')}, sub.{q('m')}, sub.{q('metric')}, sub.{q('v')} FROM ({sql}) sub", params)
    Organisation = apps.get_model("orgs.Organisation")
    deepest = Organisation.objects.order_by("-depth").values_list("depth", flat=True).first() or 1
    org_table = q(Organisation._meta.db_table)
    for depth in range(deepest, 1, -1):
        select = (f"SELECT c.{q('parent_id')}, t.{q('month')}, t.{q('metric')}, SUM(t.{q('value')}) "  # noqa: S608
                  f"FROM {_tree_table()} t JOIN {org_table} c ON c.{q('id')} = t.{q('org_id')} "
                  f"WHERE c.{q('depth')} = %s GROUP BY c.{q('parent_id')}, t.{q('month')}, t.{q('metric')}")
        _execute(_upsert_add(select), [depth])


def _own_months(org_ids: list[int]) -> dict[tuple[int, dt.date, str], int]:
    rows = (Rollup.objects.filter(org_id__in=org_ids).annotate(m=TruncMonth("day")).values("org_id", "m", "metric")
            .annotate(v=Sum("value")).order_by())
    return {(r["org_id"], _as_date(r["m"]), r["metric"]): int(r["v"]) for r in rows}


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def _apply_deltas(before: dict, after: dict) -> None:
    """Add each organisation's change in its own monthly sums to its subtree row and to every ancestor's."""
    deltas = {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)}
    deltas = {k: v for k, v in deltas.items() if v}
    if not deltas:
        return
    Organisation = apps.get_model("orgs.Organisation")
    paths = dict(Organisation.objects.filter(pk__in={k[0] for k in deltas}).values_list("pk", "path"))
    prefixes = {p[:i] for p in paths.values() for i in range(4, len(p) + 1, 4)}
    ids = dict(Organisation.objects.filter(path__in=prefixes).values_list("path", "pk"))
    totals: dict[tuple[int, dt.date, str], int] = defaultdict(int)
    for (org_id, month, metric), delta in deltas.items():
        path = paths.get(org_id)
        if path is None:
            continue
        for i in range(4, len(path) + 1, 4):
            target = ids.get(path[:i])
            if target is not None:
                totals[(target, month, metric)] += delta
    statement = _upsert_add("SELECT %s, %s, %s, %s WHERE 1 = 1")
    with connection.cursor() as cursor:
        cursor.executemany(statement, [[org, month, metric, value] for (org, month, metric), value in totals.items()])
    SubtreeMonth.objects.filter(org_id__in={k[0] for k in totals}, value=0).delete()


@transaction.atomic
def rebuild(*, today: dt.date | None = None, progress: Callable[[str], None] | None = None) -> int:
    """Replace every rollup row from the live tables, then the subtree totals; returns the per-day rows written.
    Call after bulk loads."""
    today = today or timezone.localdate()
    Rollup.objects.all().delete()
    max_mark = DirtyOrg.objects.order_by("-id").values_list("id", flat=True).first()
    for metric in METRICS:
        _insert(metric, today, None)
        if progress:
            progress(metric.key)
    rebuild_tree()
    if progress:
        progress("subtree totals")
    if max_mark is not None:  # marks taken before the rebuild are satisfied by it
        DirtyOrg.objects.filter(id__lte=max_mark).delete()
    return Rollup.objects.count()


@transaction.atomic
def recompute(org_ids: Iterable[int], *, today: dt.date | None = None) -> None:
    """Rewrite the rollup rows of these organisations from the live tables, and carry the change up the tree."""
    ids = sorted(set(org_ids))
    if not ids:
        return
    today = today or timezone.localdate()
    for start in range(0, len(ids), 500):  # keep IN lists well below SQLite's variable limit
        chunk = ids[start:start + 500]
        before = _own_months(chunk)
        Rollup.objects.filter(org_id__in=chunk).delete()
        for metric in METRICS:
            _insert(metric, today, chunk)
        _apply_deltas(before, _own_months(chunk))


TREE_CHANGED = 0  # a DirtyOrg mark with this org id: an organisation moved, the subtree totals are rebuilt


def refresh(*, batch: int = 5000, today: dt.date | None = None) -> int:
    """Recompute the organisations marked dirty, a batch of marks at a time; returns the organisations recomputed.

    The marks read are deleted by id in the same transaction as the recomputation, so a mark committed meanwhile
    (by a write the recomputation may not have seen) stays for the next run. A moved organisation (mark 0) makes
    the subtree totals be rebuilt from the per-day rows.
    """
    done = 0
    while True:
        with transaction.atomic():
            marks = list(DirtyOrg.objects.order_by("id").values_list("id", "org_id")[:batch])
            if not marks:
                return done
            org_ids = {org_id for _id, org_id in marks}
            existing = set(apps.get_model("orgs.Organisation").objects.filter(pk__in=org_ids)
                           .values_list("pk", flat=True))
            recompute(existing, today=today)
            if TREE_CHANGED in org_ids:
                rebuild_tree()
            DirtyOrg.objects.filter(id__in=[mark_id for mark_id, _org in marks]).delete()
            done += len(existing)
