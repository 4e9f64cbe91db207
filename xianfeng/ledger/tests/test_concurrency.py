"""Real concurrent clients on PostgreSQL: 20 threads, each with its own connection, post against one account that
sits at (or near) its floor. The floor holds, nothing is lost, the ledger checks clean. Skipped loudly on SQLite."""

from collections import Counter

import pytest

from xianfeng.core.testing import race
from xianfeng.ledger.models import OwnerType, Unit
from xianfeng.ledger.services import (
    FloorCrossed,
    account_balance,
    account_open,
    account_statement,
    ledger_post,
    ledger_verify,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 20


def run_threads(work) -> Counter:
    """Each thread's `work(i)` yields outcomes; they are counted, and any exception fails the test."""
    outcomes = race(THREADS, lambda i: list(work(i)))
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert not errors, errors
    return Counter(outcome for results in outcomes for outcome in results)


def open_pair():
    pool = account_open(name="积分池", owner_type=OwnerType.SYSTEM, purpose="pool", unit=Unit.POINT)
    member = account_open(name="党员积分", owner_type=OwnerType.MEMBER, owner_id=1, unit=Unit.POINT, floor=0)
    return pool, member


def test_twenty_threads_spending_from_one_account_never_take_it_below_its_floor(postgres_only):
    pool, member = open_pair()
    ledger_post(entries=[(pool, -10), (member, 10)], memo="奖励", kind="points.award", key="seed")

    def spend(i: int):
        for k in range(3):
            try:
                ledger_post(entries=[(member, -1), (pool, 1)], memo="兑换", kind="points.redeem", key=f"spend:{i}:{k}")
                yield "spent"
            except FloorCrossed:
                yield "refused"

    results = run_threads(spend)
    assert results == Counter(spent=10, refused=50)
    assert account_balance(member) == 0 == account_balance(member, recompute=True)
    assert min(e.running_balance for e in account_statement(member)) >= 0
    assert ledger_verify().ok


def test_twenty_threads_earning_and_spending_at_the_floor_never_go_below_it(postgres_only):
    pool, member = open_pair()  # the member starts at 0: exactly at the floor

    def mixed(i: int):
        for k in range(6):
            earn = (i + k) % 2 == 0
            amount = 1 if earn else -2
            try:
                ledger_post(entries=[(member, amount), (pool, -amount)], memo="m", kind="points.test",
                            key=f"mix:{i}:{k}")
                yield "earned" if earn else "spent"
            except FloorCrossed:
                assert not earn
                yield "refused"

    results = run_threads(mixed)
    assert results["earned"] == THREADS * 3
    assert results["spent"] + results["refused"] == THREADS * 3
    expected = results["earned"] - 2 * results["spent"]
    assert account_balance(member) == expected == account_balance(member, recompute=True) >= 0
    running = [e.running_balance for e in account_statement(member)]
    assert min(running) >= 0 and running[-1] == expected
    assert ledger_verify().ok


def test_one_account_when_many_open_it_at_once(postgres_only):
    opened = race(THREADS, lambda i: account_open(name="党员积分", owner_type=OwnerType.MEMBER, owner_id=7,
                                                  unit=Unit.POINT, floor=0))
    errors = [o for o in opened if isinstance(o, BaseException)]
    assert not errors, errors
    assert len({a.pk for a in opened}) == 1
