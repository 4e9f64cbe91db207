"""Activities: a 500-person lesson checking in at once, and the list and report pages at demo scale.

    python -m bench.bench_events           both parts
    python -m bench.bench_events burst     500 check-ins in a burst against granian (2 workers) on PostgreSQL
    python -m bench.bench_events pages     activity list and attendance report pages at demo scale (SQLite)
    python -m bench.bench_events profile   the check-in request in-process: statements and time per check-in

Goals: burst p99 ≤ 100 ms per check-in (POST of the rotating code by a signed-in phone); activity list and
attendance report (figures, lesson attendance by member) p95 ≤ 50 ms at demo scale.
BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/xianfeng_bench_events) is dropped and rebuilt;
BENCH_WINDOW (seconds, default 60) is how long the 500 arrivals are spread over.
"""

from __future__ import annotations

import http.client
import os
import random
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bench.common import ROOT, fresh_sqlite, percentile, setup_django, summary, verdict

PEOPLE = 500
BENCH_LOG = ROOT / "var" / "bench" / "events-granian.log"
CSRF = "benchcsrftoken0123456789abcdefgh"  # a 32-character CSRF secret: cookie and header carry the same one


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def burst() -> None:
    url = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/xianfeng_bench_events")
    window = float(os.environ.get("BENCH_WINDOW", "60"))
    _recreate_pg(url)
    setup_django(url)
    from django.core.management import call_command

    from xianfeng.events import services
    from xianfeng.events.models import Attendance

    call_command("migrate", verbosity=0)
    lesson, cookies = _burst_world()

    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "granian"), "--interface", "wsgi", "--workers", "2",
         "--blocking-threads", "8", "--host", "127.0.0.1", "--port", str(port), "--no-ws",
         "xianfeng.wsgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(BENCH_LOG, "w"))  # noqa: SIM115
    try:
        _wait_for(port)
        _warm_up(port, lesson, cookies[0])
        latencies: list[float] = []
        statuses: list[int] = []
        lock = threading.Lock()
        began = time.monotonic()
        rng = random.Random(1)  # one generator: a new Random(1) per person would give everyone the same instant
        arrivals = sorted(rng.uniform(0, window) for _ in range(PEOPLE))

        def check_in(i: int) -> None:
            delay = arrivals[i] - (time.monotonic() - began)
            if delay > 0:
                time.sleep(delay)
            token = services.checkin_token(lesson)  # what the phone read off the organiser's screen just now
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            t0 = time.perf_counter()
            conn.request("POST", f"/events/checkin/{token}/", body="",
                         headers={"Cookie": cookies[i], "X-CSRFToken": CSRF, "Referer": f"http://127.0.0.1:{port}/",
                                  "Content-Type": "application/x-www-form-urlencoded"})
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - t0) * 1000
            conn.close()
            with lock:
                latencies.append(elapsed)
                statuses.append(response.status)

        with ThreadPoolExecutor(max_workers=64) as pool:
            list(pool.map(check_in, range(PEOPLE)))
        took = time.monotonic() - began
        time.sleep(0.5)
        rows = Attendance.objects.filter(activity=lesson).count()
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        ok = statuses.count(200)
        print("statuses:", {s: statuses.count(s) for s in set(statuses)}, "load:", os.getloadavg(), f"burst took {took:.1f} s")
        print(f"500-person lesson, {PEOPLE} check-ins over {window:.0f} s (granian 2 workers, PostgreSQL): "
              f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms; {ok} answered 200, {rows} attendance rows; "
              f"goal p99 ≤ 100 ms — {verdict(p99, 100)} (ratio {p99 / 100:.2f})")
    finally:
        server.terminate()
        server.wait(timeout=20)


def _warm_up(port: int, lesson, cookie: str) -> None:
    """A running server is warm: load each worker's URLconf, templates and connection before the clock starts
    (GETs of the check-in page, which write nothing; concurrent so that both workers get some)."""
    from xianfeng.events import services

    def get(_i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", f"/events/checkin/{services.checkin_token(lesson)}/", headers={"Cookie": cookie})
        conn.getresponse().read()
        conn.close()

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(get, range(64)))


def profile() -> None:
    """The check-in request in-process (Django's test client, no server): statements per check-in and time."""
    url = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/xianfeng_bench_events")
    _recreate_pg(url)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from xianfeng.events import services

    call_command("migrate", verbosity=0)
    lesson, cookies = _burst_world()
    times, counts = [], []
    for i, cookie in enumerate(cookies[:200]):
        client = Client()
        client.cookies["sessionid"] = cookie.split(";")[0].split("=", 1)[1]
        path = f"/events/checkin/{services.checkin_token(lesson)}/"
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.post(path)
            elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.status_code
        if i >= 10:  # the first requests load the URLconf and templates
            times.append(elapsed)
            counts.append(len(queries))
    print(f"check-in in-process (PostgreSQL, no server): {summary(times)}; statements per check-in "
          f"{min(counts)}–{max(counts)} (session, user, activity, person, membership, BEGIN, INSERT, cockpit mark, "
          f"COMMIT); load {os.getloadavg()}")


def _burst_world():
    """A county, one branch with PEOPLE members each signed in (a session row each), and a lesson on now."""
    import datetime as dt

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from xianfeng.core.ids import make_id_number
    from xianfeng.events import services
    from xianfeng.orgs import services as org_services
    from xianfeng.orgs.models import Member, Membership, OrgKind, Person, User

    county = org_services.org_create(name="海盐县", code="330424", kind=OrgKind.COUNTY, parent=None)
    branch = org_services.org_create(name="县机关党支部", code="330424D01", kind=OrgKind.BRANCH, parent=county)
    people = Person.objects.bulk_create([
        Person(name=f"党员{i}", gender="M", birth_date=dt.date(1980, 1, 1),
               id_number=make_id_number("330424", dt.date(1980, 1, 1) + dt.timedelta(days=i // 400), i, "M"))
        for i in range(PEOPLE)])
    members = Member.objects.bulk_create([Member(person=p, org=branch, join_date=dt.date(2005, 7, 1)) for p in people])
    Membership.objects.bulk_create([Membership(member=m, org=branch, start=m.join_date) for m in members])
    users = User.objects.bulk_create([User(username=f"bench{i}", person=p, password="!") for i, p in enumerate(people)])
    cookies = []
    for user in users:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies.append(f"sessionid={session.session_key}; csrftoken={CSRF}")
    start = timezone.now() - dt.timedelta(minutes=5)
    lesson = services.activity_create(org=county, kind="lesson", title="五百人党课", lecturer="县委书记",
                                      starts_at=start, ends_at=start + dt.timedelta(hours=2), actor=None)

    return lesson, cookies


def _recreate_pg(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("granian did not start")


EVENTS_DEMO_DB = ROOT / "var" / "bench" / "events-demo.sqlite3"


def _events_demo_db() -> None:
    """The demo county's organisations and members (step 100) and the events step (400) in this benchmark's own
    SQLite file, built once (not timed). The events pages read nothing the other steps write."""
    if EVENTS_DEMO_DB.exists() and os.environ.get("BENCH_REBUILD") != "1":
        setup_django(f"sqlite:///{EVENTS_DEMO_DB}")
        return
    setup_django(fresh_sqlite(EVENTS_DEMO_DB))
    from django.core.management import call_command

    from xianfeng.core.demo import DemoContext
    from xianfeng.events.demo import build_events
    from xianfeng.orgs.demo import build_foundation

    call_command("migrate", verbosity=0)
    ctx = DemoContext(seed=2010, log=lambda s: None)
    build_foundation(ctx)
    started = time.perf_counter()
    build_events(ctx)
    took = time.perf_counter() - started
    print(f"demo step events.build_events (502 lessons, 19,236 attendances, 262 teams, 518 activities, points for "
          f"approved hours): {took:.1f} s; budget 6 s — {verdict(took, 6)} (ratio {took / 6:.2f}); load {os.getloadavg()}")


def pages() -> None:
    _events_demo_db()
    from django.test import Client

    from xianfeng.events.models import Activity
    from xianfeng.orgs.models import Organisation, User

    county = Organisation.objects.get(depth=1)
    town = Organisation.objects.get(name="武原镇")
    lesson = Activity.objects.filter(kind="lesson").order_by("-starts_at").first()
    users = {name: User.objects.get(username=name) for name in ("county_admin", "hebin_secretary", "member_demo")}
    print("load:", os.getloadavg())
    for label, who, url, params in [
        ("activity list, county admin, first page", "county_admin", "/events/", {}),
        ("activity list, county admin, lessons of 武原镇", "county_admin", "/events/",
         {"kind": "lesson", "within": town.pk}),
        ("activity list, a member", "member_demo", "/events/", {}),
        ("attendance report (figures), county and its towns", "county_admin", "/events/figures/", {"org": county.pk}),
        ("attendance report (figures), 武原镇 and its communities", "county_admin", "/events/figures/",
         {"org": town.pk}),
        ("lesson attendance by member, 武原镇 (first page)", "county_admin", "/events/lessons/members/",
         {"org": town.pk}),
        ("attendance sheet of a lesson", "county_admin", f"/events/{lesson.pk}/attendance/", {}),
        ("volunteer teams list", "county_admin", "/events/teams/", {}),
    ]:
        client = Client()
        client.force_login(users[who])
        response = client.get(url, params)  # warm up
        assert response.status_code == 200, (url, response.status_code)
        times, cpu = [], []
        for _ in range(40):
            wall, used = time.perf_counter(), time.process_time()
            client.get(url, params)
            times.append((time.perf_counter() - wall) * 1000)
            cpu.append((time.process_time() - used) * 1000)
        p95 = percentile(times, 95)
        # CPU time is what the request costs this process (SQLite runs in it too): near the wall time on a quiet
        # machine, and much less than it when other processes hold the cores
        print(f"{label}: {summary(times)}; CPU p50 {percentile(cpu, 50):.1f} ms, p95 {percentile(cpu, 95):.1f} ms; "
              f"goal p95 ≤ 50 ms — {verdict(p95, 50)} (ratio {p95 / 50:.2f})")


def main() -> None:
    part = sys.argv[1] if len(sys.argv) > 1 else ""
    if part == "burst":
        burst()
    elif part == "profile":
        profile()
    elif part == "pages":
        pages()
    else:  # each part in its own process: each sets Django up on its own database
        subprocess.run([sys.executable, "-m", "bench.bench_events", "pages"], check=False, cwd=ROOT)
        subprocess.run([sys.executable, "-m", "bench.bench_events", "burst"], check=False, cwd=ROOT)


if __name__ == "__main__":
    main()
