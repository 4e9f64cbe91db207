"""Load test of the main pages and the API on granian (WSGI, 2 workers), at county and at province scale.

County scale: the demo county (`xianfeng demo`, SQLite, var/bench/demo.sqlite3; built if missing, not timed).
Province scale: the province dataset on PostgreSQL (`xianfeng demo --scale province`, 4,000,000 members), run only
when PROVINCE_DATABASE_URL names that database.

Each URL is loaded for LOAD_SECONDS (default 8 s) by 4 client processes × 8 keep-alive connections on this same
machine (bench/load_client.py), so client and server share the 2 cores: the public pages' figure is their
requests/s as a ratio to a plain Django hello-world view served by the same server in the same run
(bench/pledges_board_urls.py); goal ≥ 0.4, as for the pledge board. Signed-in pages print requests/s with p50/p95
latency under that load, with the signed-in user's scope (a county admin sees the county; the province admin the
province's 4,000,000 members). Every response must be HTTP 200; any other answer is reported and fails the run.

    .venv/bin/python -m bench bench_load
    PROVINCE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/xf_province .venv/bin/python -m bench bench_load
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

from bench.common import setup_django

COUNTY_PORT, PROVINCE_PORT = 8766, 8767
RATIO_GOAL = 0.4
SECONDS = float(os.environ.get("LOAD_SECONDS", "8"))


def pages(scale: str) -> list[tuple[str, str, str | None]]:
    """(label, path, persona or None for public) for the scale, looked up in its database."""
    from django.urls import NoReverseMatch, reverse

    from xianfeng.orgs.models import User

    if scale == "county":
        admin, member_login, county_label = "county_admin", "member_demo", "county admin"
    else:
        admin, member_login, county_label = "province_admin", "province_member", "province admin"
    member_user = User.objects.select_related("person__member").get(username=member_login)
    board_org = member_user.person.member.org_id
    out = [
        ("portal front page", reverse("portal:index"), None),
        ("pledge board (a branch)", reverse("pledges:board", args=[board_org]), None),
        (f"member list ({county_label})", reverse("orgs:member_list"), admin),
        (f"members API ({county_label})", "/api/v1/members/", admin),
        (f"case list ({county_label})", reverse("grids:case_list"), admin),
        (f"cases API ({county_label})", "/api/v1/cases/", admin),
        ("points card (member)", reverse("points:card"), member_login),
    ]
    if scale == "province":
        out.insert(3, ("member list (county admin)", reverse("orgs:member_list"), "province_county_admin"))
    with contextlib.suppress(NoReverseMatch):  # the cockpit, when the app is installed
        out.append((f"cockpit ({county_label})", reverse("cockpit:home"), admin))
    return out


def session_cookies(personas: set[str]) -> dict[str, str]:
    from django.conf import settings
    from django.test import Client

    from xianfeng.orgs.models import User

    cookies = {}
    for username in personas:
        client = Client()
        client.force_login(User.objects.get(username=username))
        cookies[username] = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return cookies


def run(scale: str, url: str, port: int) -> int:
    setup_django(url)
    if scale == "county":
        from bench.common import ensure_demo_db

        ensure_demo_db()
    from django.db import connection

    from bench.load_client import HELLO, fetch, measure, start_server, stop_server

    targets = pages(scale)
    cookies = session_cookies({p for _l, _p, p in targets if p})
    connection.close()
    server = start_server(url, port)
    failed = 0
    try:
        checked = []
        for label, path, persona in [("hello", HELLO, None), *targets]:  # warm both workers, check every page
            headers = {"Cookie": cookies[persona]} if persona else {}
            status, location = fetch(port, path, headers)
            if status in (301, 302) and location.startswith("/"):  # e.g. the cockpit's entry → the user's own page
                path = location
            for _ in range(2):
                status, _location = fetch(port, path, headers)
            if status != 200:
                print(f"  {label} ({path}): HTTP {status} on warm-up")
                failed += 1
            checked.append((label, path, persona))
        targets = checked[1:]
        load = os.getloadavg()
        hello = measure(port, HELLO, seconds=SECONDS)
        print(f"{scale} scale ({url.split('@')[-1]}), granian 2 workers, 4 × 8 connections, {SECONDS:g} s per URL; "
              f"load before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print(f"  {'hello-world (baseline)':<34} {hello.rate:8,.0f} req/s  p50 {hello.p50:6.1f} ms  "
              f"p95 {hello.p95:6.1f} ms")
        for label, path, persona in targets:
            headers = {"Cookie": cookies[persona]} if persona else {}
            r = measure(port, path, headers=headers, seconds=SECONDS)
            line = f"  {label:<34} {r.rate:8,.1f} req/s  p50 {r.p50:6.1f} ms  p95 {r.p95:6.1f} ms  n={r.requests}"
            if persona is None:
                ratio = r.rate / hello.rate
                verdict = "meets goal" if ratio >= RATIO_GOAL else "MISSES goal"
                line += f"  ratio {ratio:.2f} to hello-world (goal ≥ {RATIO_GOAL}) — {verdict}"
            if r.errors:
                line += f"  ERRORS {r.errors} (first: {r.first_error})"
                failed += 1
            print(line, flush=True)
        load = os.getloadavg()
        print(f"  load after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    finally:
        stop_server(server)
    return 1 if failed else 0


def main() -> int:
    if len(sys.argv) == 3:  # one scale, in its own process (Django is set up once per process)
        scale, url = sys.argv[1], sys.argv[2]
        return run(scale, url, COUNTY_PORT if scale == "county" else PROVINCE_PORT)
    from bench.common import DEMO_DB

    status = subprocess.run([sys.executable, "-m", "bench.bench_load", "county", f"sqlite:///{DEMO_DB}"]).returncode
    province = os.environ.get("PROVINCE_DATABASE_URL")
    if province:
        status |= subprocess.run([sys.executable, "-m", "bench.bench_load", "province", province]).returncode
    else:
        print("province scale: skipped (set PROVINCE_DATABASE_URL to a database built by "
              "`xianfeng demo --scale province`)")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
