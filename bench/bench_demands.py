"""The point-to-point service under load.

Measured:
- the claim race on PostgreSQL: 1,000 claim attempts by 16 threads on 100 one-person demands (10 members each):
  claims/s, p50 / p99 latency of one attempt, and the check that exactly 100 won and 900 were told "already claimed";
- at demo scale on SQLite (the foundation and this module's demo steps, built once into
  var/bench/demands_demo.sqlite3): the points card page of a
  河滨社区 member (goal p95 ≤ 50 ms) and the demand board of 河滨社区 for a member (goal p95 ≤ 50 ms; also filtered
  and sorted by distance), through Django's test client with a signed-in user (no network), with the number of
  queries per page and the machine's load (other processes' work inflates the figures).

Run: python -m bench.bench_demands   (PostgreSQL at BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432)
     python -m bench.bench_demands pages    (only the page timings)
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from bench.common import BENCH_DIR, fresh_sqlite, percentile, setup_django, summary, verdict, wall_and_cpu

SERVER = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB = "xf_bench_demands"
PAGES_DB = BENCH_DIR / "demands_demo.sqlite3"


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def race() -> None:
    admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    admin(f"CREATE DATABASE {DB}")
    try:
        setup_django(f"{SERVER}/{DB}")
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        from xianfeng.core.testing import build_county, make_member
        from xianfeng.demands.models import Demand
        from xianfeng.demands.services import AlreadyClaimed, demand_claim, demand_create
        from xianfeng.orgs.models import Member

        world = build_county()
        members = [make_member(f"党员{i}", world.hebin_branch) for i in range(10)]
        demands = [demand_create(org=world.hebin, category="助老", description=f"需求{i}", actor=None) for i in range(100)]
        jobs = [(d.pk, members[i].pk) for d in demands for i in range(10)]
        latencies: list[float] = []

        def attempt(job):
            demand_id, member_id = job
            started = time.perf_counter()
            try:
                demand_claim(demand=Demand.objects.get(pk=demand_id),
                             member=Member.objects.select_related("org", "managing_org").get(pk=member_id), actor=None)
                outcome = "won"
            except AlreadyClaimed:
                outcome = "already"
            except Exception as exc:  # reported below
                outcome = f"error {exc!r}"
            latencies.append((time.perf_counter() - started) * 1000)
            return outcome

        def run(job):
            try:
                return attempt(job)
            finally:
                connection.close()

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=16) as pool:
            outcomes = list(pool.map(run, jobs))
        elapsed = time.perf_counter() - started
        won, already = outcomes.count("won"), outcomes.count("already")
        errors = len(outcomes) - won - already
        print(f"claim race: {len(jobs)} attempts in {elapsed:.2f} s = {len(jobs) / elapsed:,.0f} claims/s; "
              f"p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms; "
              f"{won} won, {already} already claimed, {errors} errors "
              f"({'correct' if (won, already, errors) == (100, 900, 0) else 'WRONG'}); {_load()}")
        connection.close()
    finally:
        from django.db import connections

        connections.close_all()
        admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def pages() -> None:
    setup_django(f"sqlite:///{PAGES_DB}")
    if not PAGES_DB.exists() or os.path.getsize(PAGES_DB) == 0 or not _built():
        from django.db import connections

        connections.close_all()
        fresh_sqlite(PAGES_DB)
        _build()
    else:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # a file built before a new migration gets it
    from django.db import connection
    from django.db.models import Avg, Sum
    from django.test import Client

    from xianfeng.demands.models import Demand, ServiceRecord
    from xianfeng.orgs.models import User

    member = User.objects.get(username="member_demo")
    client = Client()
    client.force_login(member)
    serving = (ServiceRecord.objects.filter(org__name="河滨社区", status=ServiceRecord.Status.CONFIRMED)
               .values("member_id").distinct().count())
    points = ServiceRecord.objects.filter(org__name="河滨社区").aggregate(s=Sum("points"))["s"] or 0
    print(f"demo: 河滨社区 members with confirmed services: {serving} (goal ≥ 200: "
          f"{verdict(serving, 200, lower_is_better=False)}), {points:,} points earned by them")
    # The member stands in the middle of 河滨社区's demands (placed at their households by the demo).
    middle = Demand.objects.filter(org__name="河滨社区", latitude__isnull=False).aggregate(
        lat=Avg("latitude"), lng=Avg("longitude"))
    pages = (("points card", "/points/"), ("demand board (河滨社区)", "/demands/"),
             ("demand board by distance (河滨社区, within 1 km, nearest first)",
              f"/demands/?sort=near&km=1&lat={middle['lat']:.5f}&lng={middle['lng']:.5f}"))
    for name, url in pages:
        assert client.get(url).status_code == 200
        queries: list[str] = []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            client.get(url)
        times, cpu = wall_and_cpu(lambda url=url: client.get(url), 200)
        p95 = percentile(times, 95)
        print(f"{name}: {summary(times)}, {len(queries)} queries; this process's CPU per request p50 "
              f"{percentile(cpu, 50):.1f} ms, p95 {percentile(cpu, 95):.1f} ms (what the page costs, whatever else "
              f"runs) — goal p95 ≤ 50 ms: {verdict(p95, 50)} (p95/goal {p95 / 50:.2f}); {_load()}")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} CPUs"


def _built() -> bool:
    """Built with the grid register too (demands get their households' positions from it)."""
    from django.db import connection

    tables = connection.introspection.table_names()
    if "demands_demand" not in tables or "grids_household" not in tables:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM grids_household) AND EXISTS (SELECT 1 FROM demands_demand)")
        return bool(cursor.fetchone()[0])


def _build() -> None:
    """The foundation, the grid register and this module's demo steps (not timed)."""
    from django.core.management import call_command

    from xianfeng.core.demo import DemoContext, steps

    call_command("migrate", verbosity=0)
    ctx = DemoContext(seed=2010, log=lambda s: None)
    for _order, name, fn in steps():
        if name.startswith(("xianfeng.orgs.", "xianfeng.demands.", "xianfeng.points.", "xianfeng.grids.")):
            fn(ctx)


def main() -> None:
    if sys.argv[1:] == ["pages"]:
        pages()
        return
    race()
    # The page timings need Django set up on SQLite: a fresh process.
    import subprocess

    subprocess.run([sys.executable, "-m", "bench.bench_demands", "pages"], check=False)


if __name__ == "__main__":
    main()
