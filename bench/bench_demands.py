"""The point-to-point service under load.

Measured:
- the claim race on PostgreSQL: 1,000 claim attempts by 16 threads on 100 one-person demands (10 members each):
  claims/s, p50 / p99 latency of one attempt, and the check that exactly 100 won and 900 were told "already claimed";
- at demo scale on SQLite (the foundation and this module's demo steps, built once into
  var/bench/demands_demo.sqlite3): the points card page of a
  河滨社区 member (goal p95 ≤ 50 ms) and the demand board of 河滨社区 for a member (goal p95 ≤ 50 ms), through
  Django's test client with a signed-in user (no network).

Run: python -m bench.bench_demands   (PostgreSQL at BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432)
     python -m bench.bench_demands pages    (only the page timings)
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from bench.common import BENCH_DIR, percentile, setup_django, summary, timed, verdict

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
        demands = [demand_create(org=world.hebin, category="助老", description=f"需求{i}") for i in range(100)]
        jobs = [(d.pk, members[i].pk) for d in demands for i in range(10)]
        latencies: list[float] = []

        def attempt(job):
            demand_id, member_id = job
            started = time.perf_counter()
            try:
                demand_claim(demand=Demand.objects.get(pk=demand_id),
                             member=Member.objects.select_related("org", "managing_org").get(pk=member_id))
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
              f"({'correct' if (won, already, errors) == (100, 900, 0) else 'WRONG'})")
        connection.close()
    finally:
        from django.db import connections

        connections.close_all()
        admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def pages() -> None:
    setup_django(f"sqlite:///{PAGES_DB}")
    if not PAGES_DB.exists() or os.path.getsize(PAGES_DB) == 0 or not _built():
        _build()
    from django.test import Client

    from xianfeng.orgs.models import User

    member = User.objects.get(username="member_demo")
    client = Client()
    client.force_login(member)
    for name, url in (("points card", "/points/"), ("demand board (河滨社区)", "/demands/")):
        assert client.get(url).status_code == 200
        times = timed(lambda url=url: client.get(url), 200)
        print(f"{name}: {summary(times)} — goal p95 ≤ 50 ms: {verdict(percentile(times, 95), 50)}")


def _built() -> bool:
    from django.db import connection

    return "demands_demand" in connection.introspection.table_names()


def _build() -> None:
    """The foundation and this module's demo steps (not timed)."""
    from django.core.management import call_command

    from xianfeng.core.demo import DemoContext, steps

    call_command("migrate", verbosity=0)
    ctx = DemoContext(seed=2010, log=lambda s: None)
    for _order, name, fn in steps():
        if name.startswith(("xianfeng.orgs.", "xianfeng.demands.", "xianfeng.points.")):
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
