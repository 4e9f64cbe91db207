"""The province dataset: its build time (goal ≤ 30 min on PostgreSQL) and reads at province scale.

Needs PROVINCE_DATABASE_URL (a PostgreSQL database of its own). If that database holds no organisations — or
PROVINCE_REBUILD=1 — it is dropped, re-created, migrated (not timed) and built with
`xianfeng demo --scale province [--fraction PROVINCE_FRACTION]`, printing each stage's time. Then, on the built
province (4,000,000 members), single requests one after another (no concurrent load; bench_load does that):
subtree counts through the materialized path, and the signed-in pages through Django's test client — the member
list as the province admin and as a county admin, the case list, and the cockpit when present
(goal p95 ≤ 300 ms at province scale).

    PROVINCE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/xf_province .venv/bin/python -m bench bench_province
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.common import ROOT, setup_django, summary, timed, verdict

BUILD_GOAL_S = 30 * 60
COCKPIT_GOAL_MS = 300


def _psql_admin(url: str):
    import psycopg

    base, name = url.rsplit("/", 1)
    return psycopg.connect(f"{base}/postgres", autocommit=True), name


def has_province(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM orgs_organisation)").fetchone()[0])
    except psycopg.Error:
        return False


def build(url: str, fraction: str) -> None:
    admin, name = _psql_admin(url)
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="xianfeng.settings")
    xianfeng = [sys.executable, "-m", "xianfeng.cli"]
    subprocess.run([*xianfeng, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    started = time.perf_counter()
    result = subprocess.run([*xianfeng, "demo", "--scale", "province", "--fraction", fraction], env=env, cwd=ROOT,
                            capture_output=True, text=True)
    seconds = time.perf_counter() - started
    for line in result.stderr.splitlines():
        if line.startswith("  "):
            print(f"  stage{line}")
    if result.returncode != 0:
        print(result.stderr[-2000:])
        raise SystemExit("the province build failed")
    print(f"  {result.stdout.strip().splitlines()[0]}")
    load = os.getloadavg()
    judged = verdict(seconds, BUILD_GOAL_S) if float(fraction) == 1 else "the goal applies to fraction 1"
    print(f"province build (fraction {fraction}): {seconds:,.0f} s = {seconds / 60:.1f} min; goal ≤ 30 min at "
          f"fraction 1 — {judged}; load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def reads(url: str) -> None:
    setup_django(url)
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from xianfeng.orgs.models import Member, Organisation, User

    root = Organisation.objects.get(depth=1)
    city = Organisation.objects.filter(depth=2).order_by("path").first()
    county = Organisation.objects.filter(depth=3).order_by("path").first()
    print(f"province: {Organisation.objects.count():,} organisations, {Member.objects.count():,} members; "
          f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for label, org in (("province", root), ("city", city), ("county", county)):
        n = [0]

        def count(org=org, n=n):
            n[0] = Member.objects.filter(org__in=Organisation.objects.descendants_of(org)).count()

        times = timed(count, 5)
        print(f"  members in the {label}'s subtree ({n[0]:,}): {summary(times)}")
    pages = [("member list, province admin", "orgs:member_list", "province_admin"),
             ("member list, county admin", "orgs:member_list", "province_county_admin"),
             ("case list, province admin", "grids:case_list", "province_admin"),
             ("cockpit, province admin", "cockpit:home", "province_admin"),
             ("cockpit, county admin", "cockpit:home", "province_county_admin")]
    for label, name, username in pages:
        try:
            path = reverse(name)
        except NoReverseMatch:
            print(f"  {label}: not present")
            continue
        client = Client()
        client.force_login(User.objects.get(username=username))
        status = [200]

        def get(client=client, path=path, status=status):
            response = client.get(path, follow=True)
            status[0] = response.status_code if status[0] == 200 else status[0]

        get()  # warm
        times = timed(get, 20)
        line = f"  {label}: {summary(times)}"
        if status[0] != 200:
            line += f"  HTTP {status[0]}"
        if name == "cockpit:home":
            from bench.common import percentile

            p95 = percentile(times, 95)
            line += f"; goal p95 ≤ {COCKPIT_GOAL_MS} ms — {verdict(p95, COCKPIT_GOAL_MS)}"
        print(line, flush=True)


def main() -> int:
    url = os.environ.get("PROVINCE_DATABASE_URL")
    if not url:
        print("skipped: set PROVINCE_DATABASE_URL=postgres://…/xf_province (a database of its own; built on first run)")
        return 0
    if os.environ.get("PROVINCE_REBUILD") == "1" or not has_province(url):
        build(url, os.environ.get("PROVINCE_FRACTION", "1"))
    reads(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
