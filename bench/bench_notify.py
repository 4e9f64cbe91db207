"""Notifications fanned out to 10,000 members over SMS and group robots, sent by the worker through the providers'
SDKs against the local fake providers (xianfeng.notify.fakes, which check every signature).

On a fresh SQLite database (the county default; BENCH_NOTIFY_DB=postgres://… for PostgreSQL, created and dropped):
10,000 members with phones in 10 communities, each community with a DingTalk group robot for the kind. One notice to
all of them is written by `notify_bulk` (the path the one-key alert's paging takes), then BENCH_NOTIFY_WORKERS (4)
`xianfeng worker` processes send every SMS (BENCH_NOTIFY_PROVIDER: aliyun or tencent) and every group post.
Measured from the rows the worker writes: throughput (accepted messages / s from the enqueue to the last
acceptance; process start-up excluded) against the goal ≥ 200 messages/s, and p99 enqueue → provider-accepted
latency (the delivery's creation to its successful attempt).

The adapters do not pace themselves: the providers' own limits (Alibaba: 1 verification code a minute per number;
Tencent: per-number 30 s/1 h/day limits; both throttle an account's overall rate) answer with throttling codes that
the delivery retries with backoff.

Run: python -m bench.bench_notify
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from bench.common import BENCH_DIR, ROOT, fresh_sqlite, percentile, setup_django, verdict

MEMBERS = int(os.environ.get("BENCH_NOTIFY_MEMBERS", "10000"))
WORKERS = int(os.environ.get("BENCH_NOTIFY_WORKERS", "4"))
PROVIDER = os.environ.get("BENCH_NOTIFY_PROVIDER", "aliyun")
GOAL_RATE = 200.0
KIND = "grids.dispatched"


def provider_env(fake_url: str) -> dict[str, str]:
    from xianfeng.notify import fakes

    template = "SMS_100002" if PROVIDER == "aliyun" else "1000002"
    return {
        "NOTIFY_SMS_GATEWAY": f"xianfeng.notify.providers.{'Aliyun' if PROVIDER == 'aliyun' else 'Tencent'}SmsGateway",
        "NOTIFY_SMS_TEMPLATES": json.dumps({"*": {"template": template, "params": ["subject", "link"]}}),
        "NOTIFY_SMS_SIGN_NAME": "先锋县委组织部",
        "NOTIFY_ALIYUN_ACCESS_KEY_ID": fakes.ALIYUN_KEY[0], "NOTIFY_ALIYUN_ACCESS_KEY_SECRET": fakes.ALIYUN_KEY[1],
        "NOTIFY_TENCENT_SECRET_ID": fakes.TENCENT_KEY[0], "NOTIFY_TENCENT_SECRET_KEY": fakes.TENCENT_KEY[1],
        "NOTIFY_TENCENT_SMS_APP_ID": fakes.TENCENT_APP_ID,
        "NOTIFY_ALIYUN_SMS_ENDPOINT": fake_url, "NOTIFY_TENCENT_SMS_ENDPOINT": fake_url,
        "NOTIFY_WEBHOOK_ALLOW_PRIVATE": "1", "NOTIFY_HTTP_TIMEOUT": "10",
    }


def main() -> int:
    from xianfeng.notify import fakes

    fake = fakes.FakeProviders({"SMS_100002": ["subject", "link"], "1000002": ["subject", "link"]})
    env = provider_env(fake.url)
    os.environ.update(env)
    url = os.environ.get("BENCH_NOTIFY_DB") or fresh_sqlite(BENCH_DIR / "notify.sqlite3")
    setup_django(url)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections, transaction
    from django.utils import timezone

    from xianfeng.jobs.services import jobs_schedule_new
    from xianfeng.notify import bulk
    from xianfeng.notify.models import Delivery, DeliveryAttempt, GroupPost, GroupRobot
    from xianfeng.orgs.models import Organisation, OrgKind, Person, Role

    call_command("migrate", verbosity=0)
    User = get_user_model()
    county = Organisation.objects.create(code="B330424", name="基准县", kind=OrgKind.COUNTY, path="B0001",
                                         depth=1, full_name="基准县")
    communities = [Organisation.objects.create(code=f"B330424{i:03d}", name=f"社区{i}", kind=OrgKind.COMMUNITY,
                                               parent=county, path=f"B0001{i:04d}", depth=2, full_name=f"社区{i}")
                   for i in range(10)]
    people = Person.objects.bulk_create([Person(name=f"成员{i}", gender="M", phone=f"139{i:08d}")
                                         for i in range(MEMBERS)], batch_size=2000)
    users = User.objects.bulk_create([User(username=f"bench{i}", person=p) for i, p in enumerate(people)],
                                      batch_size=2000)
    Role.objects.bulk_create([Role(user=u, kind="member", org=communities[i % 10]) for i, u in enumerate(users)],
                             batch_size=2000)
    for org in communities:
        GroupRobot.objects.create(org=org, name=f"{org.name}群", platform=GroupRobot.Platform.DINGTALK,
                                  webhook=f"{fake.url}/robot/send?access_token={fake.dingtalk_token}",
                                  secret=fake.dingtalk_secret, kinds=[KIND])

    started = time.perf_counter()
    found = bulk.recipients([u.pk for u in users], KIND, ["sms"])
    with transaction.atomic():
        jobs = bulk.notify_bulk(people=found, kind=KIND, subject="新派诉求：路灯不亮", body="3幢",
                                links={p.pk: "/grids/cases/1/" for p in found}, key="bench:1",
                                default_channels=["sms"], now=timezone.now())
        jobs_schedule_new(jobs)
    enqueue_s = time.perf_counter() - started
    connections.close_all()
    print(f"enqueue: {MEMBERS:,} notifications, {len(jobs):,} jobs written in {enqueue_s:.1f} s")

    worker_env = {**os.environ, **env, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "xianfeng.settings",
                  "LOG_LEVEL": "WARNING"}
    procs = [subprocess.Popen([sys.executable, "-m", "xianfeng.cli", "worker", "--no-periodic", "--exit-when-idle",
                               "--worker-id", f"bench-notify-{k}"], cwd=ROOT, env=worker_env,
                              stdout=subprocess.DEVNULL) for k in range(WORKERS)]
    for p in procs:
        if p.wait(timeout=3600) != 0:
            raise SystemExit(f"worker exited with {p.returncode}")

    sent = Delivery.objects.filter(status=Delivery.Status.SENT, channel="sms").count()
    first = Delivery.objects.order_by("created_at").values_list("created_at", flat=True).first()
    accepted = list(DeliveryAttempt.objects.filter(ok=True, delivery__channel="sms")
                    .values_list("delivery__created_at", "at"))
    posts = GroupPost.objects.filter(status=GroupPost.Status.SENT).count()
    if not accepted or first is None:
        raise SystemExit("nothing was sent")
    last = max(at for _, at in accepted)
    span = (last - first).total_seconds()
    latencies = [(at - created).total_seconds() * 1000 for created, at in accepted]
    rate = (sent + posts) / span
    print(f"{PROVIDER} SMS via the SDK against the fake, {WORKERS} workers on "
          f"{'PostgreSQL' if url.startswith('postgres') else 'SQLite'}: {sent:,} SMS + {posts} group posts accepted "
          f"(fake inbox {len(fake.messages):,}, robot posts {len(fake.robot_posts)}, refused signatures "
          f"{len(fake.refused)}) in {span:.1f} s = {rate:,.0f} messages/s — goal ≥ {GOAL_RATE:.0f}/s: "
          f"{verdict(rate, GOAL_RATE, lower_is_better=False)}")
    print(f"enqueue → provider-accepted latency: p50 {percentile(latencies, 50) / 1000:.1f} s, "
          f"p99 {percentile(latencies, 99) / 1000:.1f} s (a backlog of {MEMBERS:,} written at once: the last waits "
          f"for those before it)")
    fake.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
