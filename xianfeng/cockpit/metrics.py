"""The rolled-up metrics and the set-based SQL that (re)computes them.

The metrics are the measures of the registered indicators (each app's indicators.py; xianfeng.core.indicators).
Each is one grouped query over a module's table: (own organisation, day) → value. `rebuild()` replaces every
row with one `INSERT … SELECT … GROUP BY` per metric; `refresh()` does the same restricted to the organisations
marked dirty. Neither loops over rows in Python, so a province (100,000 organisations, 4,000,000 members) is a
few dozen statements.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.apps import apps
from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from xianfeng.core.indicators import Measure, measures

from .models import DirtyOrg, Rollup, SubtreeMonth


def all_metrics() -> list[Measure]:
    """Every rolled-up measure, from the indicators the apps register (xianfeng.core.indicators): the rollups and
    the live counts share one definition."""
    return measures()


def metric_keys() -> frozenset[str]:
    return frozenset(m.key for m in all_metrics())


def _insert(metric: Measure, today: dt.date, org_ids: list[int] | None) -> None:
    sql, params = metric.grouped(today, org_ids).query.sql_with_params()
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
             f"SELECT sub.{q('org_id')}, sub.{q('m')}, sub.{q('metric')}, sub.{q('v')} FROM ({sql}) sub", list(params))
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
    for metric in all_metrics():
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
        for metric in all_metrics():
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
