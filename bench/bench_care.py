"""One-key call alerts: ingest latency, escalation timing, worker kills, the offline sweep.

On a scratch PostgreSQL database (BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432; created and dropped):
1. ingest → first notification recorded: signed presses through the HTTPS endpoint (Django's test client, so no
   network) at BENCH_CARE_RATE alerts/s (50) for BENCH_CARE_SECONDS (60), open loop — latency counts from the moment
   each press was due to be sent until its first call's notification is committed, sent by BENCH_CARE_THREADS (8)
   request threads as app-server workers would; p50/p99 against the goal
   p99 ≤ 200 ms, and the ratio to one bare database commit (a one-row INSERT) measured in the same run; before it, a
   closed-loop probe (400 presses flat out) prints the presses/s the threads sustain at the machine's current load,
   and the SQL statements one press costs are counted;
2. escalation timing error: 60 alerts, one a second, each escalating level by level (2 s per level, about ten in
   flight at once) run by one real `xianfeng worker` at the default poll; actual call time − scheduled time, p99
   against the goal ≤ 1 s;
3. faults: 200 alerts while the worker is SIGKILLed at random moments 5 times and restarted — alerts lost (goal 0)
   and duplicate notifications (goal ≤ 1 per kill);
4. the offline sweep over 100,000 devices (1 % past their heartbeat deadline), goal ≤ 5 s — on PostgreSQL and on
   SQLite (the county default).

Run: python -m bench.bench_care
"""

from __future__ import annotations

import datetime as dt
import os
import time

from bench.common import BENCH_DIR, fresh_sqlite, percentile, setup_django, verdict

SERVER = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
PG_DB = "xf_bench_care"
RATE = float(os.environ.get("BENCH_CARE_RATE", "50"))
SECONDS = float(os.environ.get("BENCH_CARE_SECONDS", "60"))
DEVICES = 100_000
WORKERS = int(os.environ.get("BENCH_CARE_THREADS", "8"))
TIMING_ALERTS = int(os.environ.get("BENCH_CARE_TIMING_ALERTS", "60"))
PARTS = os.environ.get("BENCH_CARE_PARTS", "ingest,timing,faults,sweep").split(",")


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def fresh_world():
    from django.core.management import call_command

    from xianfeng.care.tests.conftest import make_care
    from xianfeng.core.testing import build_county

    call_command("flush", "--no-input", verbosity=0)
    return make_care(build_county())


def bare_commits(n: int = 500) -> list[float]:
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_commit (id serial PRIMARY KEY, at timestamptz)")
    times = []
    for _ in range(n):
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_commit (at) VALUES (now())")
        times.append((time.perf_counter() - started) * 1000)
    return times


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg()) + " (1/5/15 min)"


def statements_per_press(*, client_url: str, device) -> int:
    """SQL statements one press costs through the endpoint (savepoints counted; BEGIN and COMMIT are not)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from xianfeng.care import services
    from xianfeng.care.views import gateway_headers

    env = services.signed_envelope(device, {"event_id": "bench-counted", "type": "press"})
    with CaptureQueriesContext(connection) as queries:
        Client().post(client_url, env["body"], content_type="application/json",
                      **gateway_headers(env, device.serial))
    return len(queries.captured_queries)


def ingest_latency() -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections
    from django.test import Client
    from django.urls import reverse

    from xianfeng.care import services
    from xianfeng.care.views import gateway_headers
    from xianfeng.notify.models import Notification

    care = fresh_world()
    url = reverse("care:ingress")
    total = int(RATE * SECONDS)
    latencies: list[float] = []
    service: list[float] = []
    local = threading.local()

    def send(i: int, due: float) -> None:
        client = getattr(local, "client", None) or Client()
        local.client = client
        env = services.signed_envelope(care.device, {"event_id": f"bench-{i}", "type": "press"})
        sent = time.perf_counter()
        response = client.post(url, env["body"], content_type="application/json",
                               **gateway_headers(env, care.device.serial))
        done = time.perf_counter()
        assert response.status_code == 201, response.content
        latencies.append((done - due) * 1000)
        service.append((done - sent) * 1000)

    # Capacity first: how many presses a second the request threads sustain right now, flat out (closed loop). Below
    # the offered rate, the open-loop run that follows queues and its latency grows with the queue.
    probe = min(400, total)
    flat_out = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(lambda i: send(total + i, time.perf_counter()), range(probe)))
    capacity = probe / (time.perf_counter() - flat_out)
    latencies.clear()
    service.clear()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS, initializer=lambda: None) as pool:
        futures = []
        for i in range(total):
            due = started + i / RATE
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            futures.append(pool.submit(send, i, due))
        for f in futures:
            f.result()
    connections.close_all()
    recorded = len(set(Notification.objects.filter(key__endswith=":step:1").values_list("key", flat=True))) - probe
    statements = statements_per_press(client_url=url, device=care.device)
    commits = bare_commits()
    p50, p99, base = percentile(latencies, 50), percentile(latencies, 99), percentile(commits, 50)
    print(f"ingest → first notification recorded: {total:,} presses at {RATE:g}/s for {SECONDS:g} s, {WORKERS} "
          f"request threads (like app-server workers): p50 {p50:.1f} ms, p99 {p99:.1f} ms (goal ≤ 200 ms: "
          f"{verdict(p99, 200)}); first calls recorded {recorded:,}/{total:,}")
    print(f"  capacity right now (closed loop, {probe} presses, {WORKERS} threads): {capacity:.0f} presses/s "
          f"against the offered {RATE:g}/s")
    print(f"  per request (from sending to the first call committed): p50 {percentile(service, 50):.1f} ms, "
          f"p99 {percentile(service, 99):.1f} ms; the open-loop figures above also count any queue")
    print(f"  bare commit (one-row INSERT) p50 {base:.2f} ms, p99 {percentile(commits, 99):.2f} ms; ingest → first "
          f"notification p50 = {p50 / base:.1f}×, p99 = {p99 / percentile(commits, 99):.1f}× a bare commit "
          f"(per request p50 {percentile(service, 50) / base:.1f}×); {statements} SQL statements per press; "
          f"load {load()}")


def escalation_timing() -> None:
    from django.db import connections

    from xianfeng.care import services
    from xianfeng.care.models import Alert, AlertStep, EscalationPolicy
    from xianfeng.care.tests.faults import database_url, start_worker

    care = fresh_world()
    EscalationPolicy.objects.filter(pk=care.policy.pk).update(ack_timeout_seconds=2, repeat_seconds=2)
    from django.conf import settings

    settings.CARE_INLINE_FIRST_STEP = False  # every call by the worker, so every call is measured
    connections.close_all()
    worker = start_worker(database_url(), "timing")
    try:
        for i in range(TIMING_ALERTS):  # about ten alerts in flight at any moment, each calling a level every 2 s
            env = services.signed_envelope(care.device, {"event_id": f"t-{i}", "type": "press"})
            services.ingest(serial=care.device.serial, body=env["body"].encode(), timestamp=env["ts"],
                            nonce=env["nonce"], signature=env["sig"], source="http")
            time.sleep(1.0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            open_alerts = list(Alert.objects.filter(status=Alert.Status.OPEN, calls__gte=5))
            for alert in open_alerts:
                services.alert_acknowledge(alert=alert, actor=care.wuyuan_duty)
            if not Alert.objects.filter(status=Alert.Status.OPEN).exists():
                break
            time.sleep(0.1)
    finally:
        worker.terminate()
        worker.wait(30)
    lags = [s.lag_seconds for s in AlertStep.objects.filter(status=AlertStep.Status.DONE, ran_by="worker")]
    p99 = percentile(lags, 99)
    print(f"escalation timing error (called − scheduled), {len(lags):,} calls by the worker: "
          f"p50 {percentile(lags, 50) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms "
          f"(goal p99 ≤ 1 s: {verdict(p99, 1.0)}); load {load()}")
    settings.CARE_INLINE_FIRST_STEP = True


def faults() -> None:
    from django.conf import settings

    from xianfeng.care.models import EscalationPolicy
    from xianfeng.care.tests.faults import run_fault_scenario

    care = fresh_world()
    EscalationPolicy.objects.filter(pk=care.policy.pk).update(ack_timeout_seconds=1, repeat_seconds=1)
    settings.CARE_INLINE_FIRST_STEP = False
    report = run_fault_scenario(device=care.device, responder=care.wuyuan_duty, alerts=200, kills=5, seed=2026,
                                deadline_seconds=600)
    settings.CARE_INLINE_FIRST_STEP = True
    print("faults: " + report.summary() + f"; load {load()}")
    for line in report.lost[:10]:
        print("  lost: " + line)


def offline_sweep(label: str) -> None:
    from django.utils import timezone

    from xianfeng.care import services
    from xianfeng.care.models import Alert, Device

    care = fresh_world()
    now = timezone.now()
    person = care.device.holder
    ok, late = now + dt.timedelta(minutes=30), now - dt.timedelta(minutes=1)
    rows = [Device(serial=f"B{i:07d}", holder=person, org_id=care.device.org_id, address="—", secret="x" * 64,
                   heartbeat_minutes=30, last_heartbeat_at=now, offline_after=late if i % 100 == 0 else ok)
            for i in range(DEVICES)]
    Device.objects.bulk_create(rows, batch_size=5000)
    expected = Device.objects.filter(offline_after__lt=now).count()  # the 1 % and the test device (installed in March)
    started = time.perf_counter()
    raised = services.devices_offline_sweep(now=now)
    seconds = time.perf_counter() - started
    again = time.perf_counter()
    services.devices_offline_sweep(now=now)
    idle = time.perf_counter() - again
    alerts = Alert.objects.filter(kind=Alert.Kind.OFFLINE).count()
    assert raised == alerts == expected, (raised, alerts, expected)
    print(f"offline sweep ({label}): {Device.objects.count():,} devices, {raised:,} past their deadline → marked offline with "
          f"an alert each in {seconds:.2f} s (goal ≤ 5 s: {verdict(seconds, 5.0)}); a sweep with nothing due "
          f"{idle * 1000:.0f} ms; load {load()}")


def main() -> None:
    try:
        pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        pg_admin(f"CREATE DATABASE {PG_DB}")
    except Exception as exc:  # noqa: BLE001
        print(f"PostgreSQL at {SERVER} unavailable ({exc}); the care benchmark needs it")
        return
    os.environ["BENCH_CARE_SQLITE"] = str(BENCH_DIR / "care.sqlite3")
    setup_django(f"{SERVER}/{PG_DB}")
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    try:
        for name, part in [("ingest", ingest_latency), ("timing", escalation_timing), ("faults", faults),
                           ("sweep", lambda: offline_sweep("PostgreSQL"))]:
            if name in PARTS:
                part()
    finally:
        connections.close_all()
        pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    # The sweep again on SQLite, in a separate process (one Django per process).
    import subprocess
    import sys

    if "sweep" in PARTS:
        subprocess.run([sys.executable, "-c", "import bench.bench_care as b; b.sqlite_sweep()"], check=True)


def sqlite_sweep() -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    setup_django(fresh_sqlite(BENCH_DIR / "care.sqlite3"))
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    offline_sweep("SQLite")


if __name__ == "__main__":
    main()
