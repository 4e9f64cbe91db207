"""The ledger on PostgreSQL at 1,000,000 entries.

Measured:
- posting through ledger_post, one transaction (2 entries) per call, as a module's service posts: entries/s;
- posting through ledger_post_many, 2,500 transactions per call (a yearly award, an import), up to 1,000,000
  entries in all: entries/s — the same rules (validation, idempotency keys, floors, the sum-zero trigger);
- the balance of one account: goal ≤ 5 ms (the cached column; recomputing from entries printed beside it);
- ledger_check over everything: goal ≤ 30 s.
Not measured: creating the 10,001 accounts (bulk insert) and the database itself (created and dropped here).

Run: python -m bench.bench_ledger   (PostgreSQL at BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432)
"""

from __future__ import annotations

import os
import random
import time

from bench.common import percentile, setup_django, verdict

SERVER = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB = "xf_bench_ledger"
TOTAL_ENTRIES = int(os.environ.get("BENCH_LEDGER_ENTRIES", "1000000"))
SINGLE_POSTINGS = 5_000
BATCH = 2_500
MEMBERS = 10_000


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def main() -> None:
    try:
        admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        admin(f"CREATE DATABASE {DB}")
    except Exception as exc:  # no server here: say so plainly
        print(f"bench_ledger: skipped, PostgreSQL not reachable at {SERVER} ({exc.__class__.__name__}: {exc})")
        return
    try:
        run()
    finally:
        from django.db import connections

        connections.close_all()
        admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def run() -> None:
    setup_django(f"{SERVER}/{DB}")
    from django.core.management import call_command
    from django.db import connection

    from xianfeng.ledger.models import Account, OwnerType, Unit
    from xianfeng.ledger.services import (
        PostingSpec,
        account_balance,
        account_open,
        ledger_post,
        ledger_post_many,
        ledger_verify,
    )

    call_command("migrate", verbosity=0)
    pool = account_open(name="县积分池", owner_type=OwnerType.SYSTEM, purpose="pool", unit=Unit.POINT)
    Account.objects.bulk_create(
        [Account(name=f"党员{i} 积分", owner_type=OwnerType.MEMBER, owner_id=i, unit=Unit.POINT, floor=0)
         for i in range(1, MEMBERS + 1)], batch_size=5000)
    members = list(Account.objects.filter(owner_type=OwnerType.MEMBER).values_list("pk", flat=True))
    rng = random.Random(20240701)
    print(f"accounts: 1 pool + {len(members):,} member accounts (floor 0), PostgreSQL "
          f"{connection.cursor().connection.info.server_version // 10000}")

    # 1. One transaction per call: the path every module's service takes.
    started = time.perf_counter()
    for i in range(SINGLE_POSTINGS):
        ledger_post(entries=[(pool, -10), (rng.choice(members), 10)], memo="积分奖励", kind="points.award",
                    key=f"single:{i}")
    single_s = time.perf_counter() - started
    single_entries = SINGLE_POSTINGS * 2
    print(f"ledger_post, one transaction (2 entries) per call: {single_entries:,} entries in {single_s:.1f} s = "
          f"{single_entries / single_s:,.0f} entries/s ({SINGLE_POSTINGS / single_s:,.0f} transactions/s); "
          f"no goal set")

    # 2. Batches of 2,500 transactions up to the total: awards, and redemptions by members who have points.
    balance = {pk: 0 for pk in members}
    for pk, b in Account.objects.filter(pk__in=members).values_list("pk", "balance"):
        balance[pk] = b
    remaining = TOTAL_ENTRIES - single_entries
    batch_entries = 0
    batches = 0
    n = 0
    started = time.perf_counter()
    while remaining > 0:
        postings = []
        while len(postings) < BATCH and remaining > 0:
            member = rng.choice(members)
            if balance[member] >= 5 and rng.random() < 0.3:
                amount = -rng.randint(1, balance[member] // 2)
                kind, memo = "points.redeem", "爱心超市兑换"
            else:
                amount = rng.randint(1, 20)
                kind, memo = "points.award", "积分奖励"
            balance[member] += amount
            postings.append(PostingSpec(entries=[(member, amount), (pool, -amount)], memo=memo, kind=kind,
                                        key=f"batch:{n}"))
            n += 1
            remaining -= 2
        ledger_post_many(postings=postings)
        batch_entries += 2 * len(postings)
        batches += 1
        if batches % 50 == 0:
            elapsed = time.perf_counter() - started
            print(f"  … {batch_entries:,} entries in {elapsed:.0f} s", flush=True)
    batch_s = time.perf_counter() - started
    print(f"ledger_post_many, {BATCH:,} transactions per call: {batch_entries:,} entries in {batch_s:.1f} s = "
          f"{batch_entries / batch_s:,.0f} entries/s; no goal set")
    total = single_entries + batch_entries
    print(f"posted {total:,} entries in {single_s + batch_s:.1f} s overall = {total / (single_s + batch_s):,.0f} "
          f"entries/s")

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE ledger_entry")
        cursor.execute("VACUUM ANALYZE ledger_account")

    # 3. The balance of one account.
    sample = rng.sample(members, 1000)

    def timed_each(fn, items):
        out = []
        for item in items:
            t = time.perf_counter()
            fn(item)
            out.append((time.perf_counter() - t) * 1000)
        return out

    cached = timed_each(account_balance, sample)
    p99 = percentile(cached, 99)
    print(f"balance of one account (cached column), 1,000 accounts: p50 {percentile(cached, 50):.2f} ms, "
          f"p99 {p99:.2f} ms; goal ≤ 5 ms — {verdict(p99, 5)} (ratio {p99 / 5:.2f})")
    summed = timed_each(lambda pk: account_balance(pk, recompute=True), sample[:200])
    print(f"balance recomputed from entries (~{total // 2 // MEMBERS} entries per member account): "
          f"p50 {percentile(summed, 50):.2f} ms, p99 {percentile(summed, 99):.2f} ms; goal ≤ 5 ms — "
          f"{verdict(percentile(summed, 99), 5)}")
    t = time.perf_counter()
    account_balance(pool, recompute=True)
    pool_ms = (time.perf_counter() - t) * 1000
    print(f"balance of the pool recomputed from its {total // 2:,} entries: {pool_ms:.0f} ms "
          f"(the cached column answers it in {percentile(timed_each(account_balance, [pool] * 50), 50):.2f} ms)")
    wrong = [pk for pk in sample[:200] if account_balance(pk) != account_balance(pk, recompute=True)]
    print(f"cached = recomputed for the 200 sampled accounts: {'yes' if not wrong else f'NO ({len(wrong)} differ)'}")

    # 4. ledger_check over everything.
    check = ledger_verify()
    print(f"ledger_check: {check.accounts:,} accounts, {check.transactions:,} transactions, {check.entries:,} "
          f"entries in {check.seconds:.1f} s, {len(check.problems)} problems; goal ≤ 30 s — "
          f"{verdict(check.seconds, 30)} (ratio {check.seconds / 30:.2f})")


if __name__ == "__main__":
    main()
