"""Grids: the lookups, the town case list, and the escalation sweep at scale.

Measured:
- grid lookup (point-in-polygon, shapely STRtree over 783 grid boundaries): goal ≥ 10,000 lookups/s, one point per
  call as intake does (the vectorised lookup printed beside it);
- the case list page of a town with 10,000 open cases (a town admin, first page, through the test client, SQLite):
  goal p95 ≤ 100 ms (wall time; the CPU time of the same requests is printed beside it, since wall time on a shared
  machine measures the queue for the CPU as much as the page);
- the escalation sweep over 1,000,000 cases on PostgreSQL, 1 % of them past their escalation time and 1 % past
  their reminder time: goal ≤ 10 s for the whole sweep (events, updates, notifications).
Not measured: building the data (bulk inserts).

Run: python -m bench.bench_grids   (PostgreSQL at BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432)
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time

from bench.common import BENCH_DIR, fresh_sqlite, percentile, setup_django, summary, verdict, wall_and_cpu

SERVER = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
PG_DB = "xf_bench_grids"
TOTAL_CASES = int(os.environ.get("BENCH_GRIDS_CASES", "1000000"))
GRIDS = 783
PARTS = set(os.environ.get("BENCH_GRIDS_PARTS", "sqlite,pg").split(","))  # run only some parts while tuning


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def rectangles(n: int) -> list[dict]:
    side = int(n ** 0.5) + 1
    out = []
    for k in range(n):
        x0, y0 = 120.80 + (k % side) * 0.006, 30.40 + (k // side) * 0.006
        out.append({"type": "Polygon", "coordinates": [[[x0, y0], [x0 + 0.006, y0], [x0 + 0.006, y0 + 0.006],
                                                        [x0, y0 + 0.006], [x0, y0]]]})
    return out


def bench_lookup() -> None:
    import numpy as np

    from xianfeng.grids.geo import GridIndex

    polys = rectangles(GRIDS)
    index = GridIndex.build([(i + 1, p) for i, p in enumerate(polys)])
    rng = random.Random(1)
    side = int(GRIDS ** 0.5) + 1
    points = [(30.40 + rng.uniform(0, side * 0.006), 120.80 + rng.uniform(0, side * 0.006)) for _ in range(50_000)]
    started = time.perf_counter()
    found = sum(index.locate(lat, lng) is not None for lat, lng in points)
    rate = len(points) / (time.perf_counter() - started)
    print(f"grid lookup, {GRIDS} grids, one point per call: {rate:,.0f} lookups/s ({found:,} of {len(points):,} "
          f"inside a grid) — goal ≥ 10,000/s: {verdict(rate, 10_000, lower_is_better=False)} "
          f"(ratio {rate / 10_000:.1f}×; {load()})")
    arr = np.array(points)
    started = time.perf_counter()
    index.locate_many(arr)
    print(f"grid lookup, vectorised: {len(points) / (time.perf_counter() - started):,.0f} lookups/s")


def bench_case_list() -> None:
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from xianfeng.core.testing import build_county
    from xianfeng.grids import services
    from xianfeng.grids.demo import _insert
    from xianfeng.grids.models import Case, Status

    call_command("migrate", verbosity=0)
    world = build_county()
    grid = services.grid_create(org=world.hebin, name="河滨一网格", boundary=rectangles(1)[0])
    category = services.category_create(code="101", name="道路破损")
    now = timezone.now()
    fields = ["number", "org", "grid", "category", "description", "address", "source", "status", "handling_unit",
              "due_at", "escalation_level", "created_at", "updated_at", "outside_grids", "reopen_count", "photo",
              "media_url", "reporter_name", "reporter_phone", "outcome", "outcome_note", "rating", "rating_note"]
    rows = [(f"B{i:09d}", world.hebin.pk, grid.pk, category.pk, f"路面破损 {i}", "河滨路", "portal",
             Status.DISPATCHED, world.hebin.pk, now + dt.timedelta(days=3), 0, now - dt.timedelta(minutes=i), now,
             False, 0, "", "", "", "", "", "", "", "") for i in range(10_000)]
    _insert(Case, fields, rows)
    client = Client()
    client.force_login(world.wuyuan_admin)
    url = reverse("grids:case_list") + f"?within={world.wuyuan.pk}"
    assert client.get(url).status_code == 200
    times, cpu = wall_and_cpu(lambda: client.get(url), 200)
    p95 = percentile(times, 95)
    print(f"case list of a town with 10,000 open cases (SQLite): {summary(times)} — goal p95 ≤ 100 ms: "
          f"{verdict(p95, 100)} (ratio {p95 / 100:.2f}; {load()})")
    # CPU time of the request (the test client runs it in this process, SQLite included): what it costs when the
    # machine is not shared, so the figure to compare across loads
    print(f"  same requests, CPU time: p50 {percentile(cpu, 50):.1f} ms, p95 {percentile(cpu, 95):.1f} ms "
          f"(ratio to goal {percentile(cpu, 95) / 100:.2f})")


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def bench_sweep() -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from xianfeng.core.testing import build_county
    from xianfeng.grids import services
    from xianfeng.grids.models import CaseEvent

    call_command("migrate", verbosity=0)
    world = build_county()
    grid = services.grid_create(org=world.hebin, name="河滨一网格", boundary=rectangles(1)[0])
    category = services.category_create(code="101", name="道路破损", default_unit=world.health_bureau)
    now = timezone.now()
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO grids_case (number, org_id, grid_id, outside_grids, category_id, description, address,
                latitude, longitude, photo, media_url, source, reporter_name, reporter_phone, status,
                handling_unit_id, dispatched_at, accept_due_at, due_at, remind_at, escalate_at, escalation_level,
                outcome, outcome_note, reopen_count, rating, rating_note, created_at, updated_at)
            SELECT 'S' || lpad(g::text, 10, '0'), %(org)s, %(grid)s, false, %(cat)s, '路面破损', '河滨路',
                30.52, 120.94, '', '', 'portal', '', '', 'handling', %(org)s, %(t0)s, %(t0)s,
                %(t0)s + interval '3 days',
                CASE WHEN g %% 100 = 1 THEN %(now)s - interval '1 hour' ELSE %(now)s + interval '2 days' END,
                CASE WHEN g %% 100 = 0 THEN %(now)s - interval '1 hour' ELSE %(now)s + interval '3 days' END,
                0, '', '', 0, '', '', %(t0)s, %(t0)s
            FROM generate_series(1, %(n)s) AS g
            """,
            {"org": world.hebin.pk, "grid": grid.pk, "cat": category.pk, "t0": now - dt.timedelta(days=2),
             "now": now, "n": TOTAL_CASES})
        cur.execute("ANALYZE grids_case")
    print(f"  (inserted {TOTAL_CASES:,} cases in {time.perf_counter() - started:.1f} s, not timed)")
    started = time.perf_counter()
    totals = {"reminded": 0, "escalated": 0, "notified": 0}
    while True:
        stats = services.escalation_sweep(now=now)
        for key in totals:
            totals[key] += stats[key]
        if not stats["reminded"] and not stats["escalated"]:
            break
    seconds = time.perf_counter() - started
    print(f"escalation sweep over {TOTAL_CASES:,} cases (PostgreSQL): {seconds:.2f} s — {totals['escalated']:,} "
          f"escalated, {totals['reminded']:,} reminded, {totals['notified']} notifications, "
          f"{CaseEvent.objects.count():,} events — goal ≤ 10 s: {verdict(seconds, 10)} (ratio {seconds / 10:.2f}; "
          f"{load()})")


def main() -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    import multiprocessing as mp

    def sqlite_part() -> None:
        setup_django(fresh_sqlite(BENCH_DIR / "grids.sqlite3"))
        bench_lookup()
        bench_case_list()

    def pg_part() -> None:
        try:
            admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            admin(f"CREATE DATABASE {PG_DB}")
        except Exception as exc:  # no server here: say so plainly
            print(f"escalation sweep: skipped, PostgreSQL not reachable at {SERVER} ({exc.__class__.__name__})")
            return
        try:
            setup_django(f"{SERVER}/{PG_DB}")
            bench_sweep()
        finally:
            from django.db import connections

            connections.close_all()
            admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")

    # Django is set up once per process, so each database gets its own process.
    ctx = mp.get_context("fork")
    for name, part in (("sqlite", sqlite_part), ("pg", pg_part)):
        if name not in PARTS:
            continue
        proc = ctx.Process(target=part)
        proc.start()
        proc.join()


if __name__ == "__main__":
    main()
