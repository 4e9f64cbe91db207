"""Campaigns: the progress matrix and the residents' vote.

Measured:
- progress_matrix for 1,000 organisations × 10 deliverables (one of them the plan) on SQLite: goal p95 ≤ 150 ms;
- votes through vote_cast (the service the portal and the API call) from 8 concurrent client processes on PostgreSQL,
  every voter also trying a second vote in one category: goal ≥ 500 votes/s, with no lost and no double vote
  (timed: the vote_cast calls; each client loads its users and nominations before the clock starts).
Not measured: building the tree, the voters (bulk insert) and the databases (created and dropped here).

Run: python -m bench.bench_campaigns   (PostgreSQL at BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432)
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import random
import subprocess
import sys
import time

from bench.common import BENCH_DIR, fresh_sqlite, percentile, setup_django, summary, timed, verdict

SERVER = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB = "xf_bench_campaigns"
ORGS = 1_000
DELIVERABLES = 10
VOTERS = int(os.environ.get("BENCH_VOTERS", "2000"))
CLIENTS = 8


def build_tree():
    """A county with 10 towns of 99 units each (1,000 organisations), through org_create."""
    from xianfeng.orgs.models import OrgKind
    from xianfeng.orgs.services import org_create

    county = org_create(name="海盐县", code="330424", kind=OrgKind.COUNTY, parent=None)
    kinds = [OrgKind.VILLAGE, OrgKind.COMMUNITY, OrgKind.ENTERPRISE, OrgKind.BRANCH]
    for t in range(10):
        town = org_create(name=f"镇{t}", code=f"330424{t:03d}", kind=OrgKind.TOWN, parent=county)
        for u in range(99 - (1 if t == 0 else 0)):
            org_create(name=f"单位{t}-{u}", code=f"330424{t:03d}{u:03d}", kind=kinds[u % 4], parent=town)
    return county


def matrix_bench() -> None:
    setup_django(fresh_sqlite(BENCH_DIR / "campaigns.sqlite3"))
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from xianfeng.campaigns.models import CampaignPlan, DeliverableRecord
    from xianfeng.campaigns.selectors import progress_matrix
    from xianfeng.campaigns.services.plans import campaign_create
    from xianfeng.orgs.models import Organisation, OrgKind

    county = build_tree()
    all_kinds = list(OrgKind.values)
    start = dt.date(2026, 3, 1)
    campaign = campaign_create(
        name="创先争优", org=county, start=start, implement_from=start, evaluate_from=dt.date(2026, 11, 1),
        end=dt.date(2026, 12, 31),
        deliverables=[{"code": "plan" if i == 0 else f"d{i}", "name": f"交付物{i}", "org_kinds": all_kinds,
                       "due": start + dt.timedelta(days=20 * i)} for i in range(DELIVERABLES)], actor=None)
    rng = random.Random(1)
    orgs = list(Organisation.objects.values_list("id", flat=True))
    CampaignPlan.objects.bulk_create([CampaignPlan(campaign=campaign, org_id=o, title="方案", status=rng.choice(
        ["draft", "submitted", "returned", "accepted", "accepted"])) for o in orgs if rng.random() < 0.95])
    DeliverableRecord.objects.bulk_create([DeliverableRecord(deliverable=d, org_id=o, done_on=start)
                                           for d in campaign.deliverables.exclude(code="plan") for o in orgs
                                           if rng.random() < 0.8])
    matrix = progress_matrix(campaign, today=dt.date(2026, 6, 1))
    print(f"matrix: {len(matrix.rows):,} organisations × {len(matrix.deliverables)} deliverables, "
          f"{len(matrix.laggards):,} laggards")
    times = timed(lambda: progress_matrix(campaign, today=dt.date(2026, 6, 1)), 40)
    print(f"progress_matrix: {summary(times)}")
    print(f"progress_matrix p95 {percentile(times, 95):.1f} ms (goal ≤ 150 ms): {verdict(percentile(times, 95), 150)}")


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def votes_bench() -> None:
    admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    admin(f"CREATE DATABASE {DB}")
    try:
        _votes()
    finally:
        from django.db import connections

        connections.close_all()
        admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def _votes() -> None:
    setup_django(f"{SERVER}/{DB}")
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from xianfeng.campaigns import services
    from xianfeng.campaigns.models import Nomination, Vote
    from xianfeng.orgs.models import OrgKind, Person, Role, User
    from xianfeng.orgs.services import org_create

    county = org_create(name="海盐县", code="330424", kind=OrgKind.COUNTY, parent=None)
    village = org_create(name="秦万村", code="330424002001", kind=OrgKind.VILLAGE, parent=county)
    now = timezone.now()
    award = services.award_round_create(org=county, name="先锋群评创", vote_start=now + dt.timedelta(minutes=1),
                                        vote_end=now + dt.timedelta(days=1), actor=None)
    award.votes_per_ip_per_hour = 0
    award.save()
    categories = list(award.categories.all())
    nominations: dict[int, list[Nomination]] = {}
    for c in categories:
        nominations[c.pk] = [Nomination.objects.create(category=c, nominated_by=county, nominee_org=village,
                                                       display_name=f"{c.name}{k}", citation="事迹") for k in range(3)]
    services.award_round_open_voting(award=award, actor=None)
    award.vote_start = now - dt.timedelta(minutes=1)
    award.save()
    Person.objects.bulk_create([Person(name=f"居民{i}", gender="M") for i in range(VOTERS)], batch_size=2000)
    people = list(Person.objects.order_by("id").values_list("id", flat=True))
    User.objects.bulk_create([User(username=f"r{i}", person_id=p, password="!") for i, p in enumerate(people)],
                             batch_size=2000)
    users = list(User.objects.order_by("id"))
    Role.objects.bulk_create([Role(user=u, kind="resident", org=village) for u in users], batch_size=2000)
    rng = random.Random(7)
    plan = []  # (user id, nomination id): every voter votes in 5 categories and tries a second vote in the first one
    for u in users:
        chosen = rng.sample(categories, 5)
        for c in chosen:
            plan.append((u.pk, rng.choice(nominations[c.pk]).pk))
        plan.append((u.pk, rng.choice(nominations[chosen[0].pk]).pk))
    rng.shuffle(plan)
    expected = len(users) * 5
    chunks = [plan[i::CLIENTS] for i in range(CLIENTS)]
    connection.close()
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    barrier = ctx.Barrier(CLIENTS + 1)
    procs = [ctx.Process(target=_client, args=(chunks[i], barrier, results)) for i in range(CLIENTS)]
    for p in procs:
        p.start()
    barrier.wait()  # every client has loaded its rows; the clock starts
    started = time.perf_counter()
    outcomes = [results.get() for _ in procs]
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join()
    won = [o[0] for o in outcomes]
    refused = [o[1] for o in outcomes]
    errors = [e for o in outcomes for e in o[2]]
    client_cpu = sum(o[3] for o in outcomes)
    server_cpu = sum(o[4] for o in outcomes)
    stored = Vote.objects.count()
    doubles = (Vote.objects.values("category", "voter").annotate(n=Count("id"))
               .filter(n__gt=1).count())
    rate = sum(won) / elapsed
    print(f"votes: {len(plan):,} attempts from {CLIENTS} clients in {elapsed:.1f} s on PostgreSQL "
          f"{connection.cursor().connection.info.server_version // 10000}: {sum(won):,} counted, "
          f"{sum(refused):,} second votes refused, {len(errors)} errors")
    print(f"client CPU {client_cpu:.1f} s in all: {sum(won) / client_cpu:,.0f} counted votes per client CPU-second "
          f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    per_vote = (client_cpu + server_cpu) / len(plan) * 1000
    print(f"server CPU (the clients' PostgreSQL backends) {server_cpu:.1f} s: {per_vote:.2f} ms of CPU per attempt, "
          f"client and server together — {os.cpu_count()} idle cores would take "
          f"{os.cpu_count() * 1000 / per_vote * sum(won) / len(plan):,.0f} counted votes/s")
    print(f"stored {stored:,} (expected {expected:,}), double votes {doubles}, "
          f"lost {expected - stored if stored <= expected else 0}")
    ok = not errors and stored == expected == sum(won) and doubles == 0
    print(f"votes/s {rate:,.0f} (goal ≥ 500, none lost or doubled): "
          f"{verdict(rate, 500, lower_is_better=False) if ok else 'FAIL (lost or double votes)'}")


def _client(chunk, barrier, results) -> None:
    """One client process: its own connection, calling vote_cast as the portal and the API do."""
    from django.db import connection

    from xianfeng.campaigns import services
    from xianfeng.campaigns.models import Nomination
    from xianfeng.orgs.models import User

    connection.close()
    users = {u.pk: u for u in User.objects.filter(pk__in={u for u, _ in chunk})}
    noms = {n.pk: n for n in Nomination.objects.select_related("category__round")}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    won = refused = 0
    errors: list[str] = []
    barrier.wait()
    server = _process_cpu(backend)
    cpu = time.process_time()
    for user_id, nomination_id in chunk:
        try:
            services.vote_cast(nomination=noms[nomination_id], user=users[user_id])
            won += 1
        except services.AlreadyVoted:
            refused += 1
        except Exception as exc:  # reported by the parent
            errors.append(repr(exc))
    cpu = time.process_time() - cpu
    server = _process_cpu(backend) - server
    connection.close()
    results.put((won, refused, errors, cpu, server))


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process on this machine has used: the client's PostgreSQL backend."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    if len(sys.argv) > 1:
        {"matrix": matrix_bench, "votes": votes_bench}[sys.argv[1]]()
        return
    # each part in its own process: Django is set up once per process, on one database
    for part in ("matrix", "votes"):
        subprocess.run([sys.executable, "-m", "bench.bench_campaigns", part], check=False)


if __name__ == "__main__":
    main()
