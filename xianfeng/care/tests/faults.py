"""The fault scenario shared by the suite's fault test (small) and bench/bench_care.py (200 alerts, 5 kills).

Alerts are raised while a real `xianfeng worker` runs their escalation (1 s per level); the worker is SIGKILLed at
random moments and restarted each time. A responder acknowledges each alert once its last level has been called.
Counted at the end:
- lost: alerts that did not reach their final state (acknowledged after all four levels were called), or a called
  step without its notifications, or an SMS delivery that never went out;
- duplicates: text messages sent more than once for one delivery (a kill between the gateway's send and the record
  of it makes the resumed job send again — at most one per kill).
Needs PostgreSQL: the worker is another process.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[3]


def database_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker(url: str, tag: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "xianfeng.settings", "LOG_LEVEL": "ERROR"}
    proc = subprocess.Popen([sys.executable, "-m", "xianfeng.cli", "worker", "--no-periodic", "--poll", "0.05",
                             "--stale-after", "2", "--worker-id", tag], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    proc.stdout.readline()  # "worker … started": loaded and about to loop
    return proc


@dataclass
class FaultReport:
    alerts: int
    kills: int
    lost: list[str] = field(default_factory=list)
    duplicate_sms: int = 0
    sms_sent: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"{self.alerts} alerts, worker SIGKILLed {self.kills} times: alerts lost {len(self.lost)} "
                f"(goal 0), duplicate notifications {self.duplicate_sms} (goal ≤ {self.kills}, one per kill), "
                f"{self.sms_sent} text messages, {self.seconds:.1f} s")


def run_fault_scenario(*, device, responder, alerts: int, kills: int, seed: int = 1,
                       deadline_seconds: float = 120) -> FaultReport:
    """Raise `alerts` presses on `device` (whose chain has levels 1–4 and a 1-s policy) while killing the worker
    `kills` times; `responder` (level 4) acknowledges each alert once level 4 was called."""
    from xianfeng.care import services
    from xianfeng.care.models import Alert, AlertStep
    from xianfeng.notify.models import Delivery, Notification, SmsMessage

    rng = random.Random(seed)
    url = database_url()
    started = time.monotonic()
    worker = start_worker(url, "fault-0")
    spread = max(2.0, alerts / 20)  # alerts arrive over this many seconds
    kill_at = sorted(rng.uniform(0.3, spread + 3) for _ in range(kills))
    raise_at = sorted(rng.uniform(0, spread) for _ in range(alerts))
    raised, killed = 0, 0
    try:
        while time.monotonic() - started < deadline_seconds:
            elapsed = time.monotonic() - started
            while raised < alerts and raise_at[raised] <= elapsed:
                env = services.signed_envelope(device, {"event_id": f"fault-{seed}-{raised}", "type": "press"})
                result = services.ingest(serial=device.serial, body=env["body"].encode(), timestamp=env["ts"],
                                         nonce=env["nonce"], signature=env["sig"], source="http")
                assert result.status == 201, result
                raised += 1
            if killed < kills and kill_at[killed] <= elapsed:
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)
                killed += 1
                worker = start_worker(url, f"fault-{killed}")
            for alert in Alert.objects.filter(status=Alert.Status.OPEN, steps__level=4,
                                              steps__status=AlertStep.Status.DONE).distinct():
                with contextlib.suppress(services.AlertClosed):
                    services.alert_acknowledge(alert=alert, actor=responder)
            done = raised == alerts and killed == kills and not Alert.objects.filter(
                status=Alert.Status.OPEN).exists()
            if done and not Delivery.objects.filter(status=Delivery.Status.PENDING).exists():
                break
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
    report = FaultReport(alerts=alerts, kills=killed, seconds=time.monotonic() - started)
    for alert in Alert.objects.order_by("pk"):
        called = list(alert.steps.filter(status=AlertStep.Status.DONE).order_by("seq").values_list("seq", "level",
                                                                                                     "notified"))
        if alert.status != Alert.Status.ACKNOWLEDGED or [lv for _, lv, _ in called][:4] != [1, 2, 3, 4]:
            report.lost.append(f"alert {alert.pk}: {alert.status}, levels called {[lv for _, lv, _ in called]}")
        for seq, _, users in called:
            got = set(Notification.objects.filter(key=f"care.alert:{alert.pk}:step:{seq}").values_list(
                "recipient_id", flat=True))
            if got != set(users):
                report.lost.append(f"alert {alert.pk} step {seq}: notified {sorted(got)}, expected {sorted(users)}")
    unsent = Delivery.objects.filter(channel="sms").exclude(status=Delivery.Status.SENT).count()
    if unsent:
        report.lost.append(f"{unsent} SMS deliveries never sent")
    per_delivery = Counter(SmsMessage.objects.values_list("reference", flat=True))
    report.sms_sent = sum(per_delivery.values())
    report.duplicate_sms = sum(n - 1 for n in per_delivery.values() if n > 1)
    return report
