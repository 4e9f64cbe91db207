"""Random postings, reversals, replays and bad input against a model of the balances (hypothesis, stateful).

After every step: each balance equals the model and the sum of its entries, and ledger_check finds nothing.
"""

import itertools

import pytest
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from xianfeng.ledger.models import Entry, OwnerType, Transaction, Unit
from xianfeng.ledger.services import (
    AlreadyReversed,
    FloorCrossed,
    LedgerError,
    account_balance,
    account_open,
    ledger_post,
    ledger_reverse,
    ledger_verify,
)

_machines = itertools.count(1)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.n = next(_machines)
        self.steps = itertools.count()
        self.accounts = {Unit.POINT: [], Unit.CNY: []}
        self.floor = {}
        for i, (unit, floor) in enumerate([(Unit.POINT, None), (Unit.POINT, 0), (Unit.POINT, 0), (Unit.POINT, -5),
                                           (Unit.CNY, None), (Unit.CNY, 0), (Unit.CNY, 0)]):
            account = account_open(name=f"m{self.n}-{i}", owner_type=OwnerType.MEMBER, owner_id=self.n * 100 + i,
                                   unit=unit, floor=floor)
            self.accounts[unit].append(account.pk)
            self.floor[account.pk] = floor
        self.expected = {pk: 0 for pks in self.accounts.values() for pk in pks}  # floor-0 accounts start at it
        self.posted: dict[str, tuple[int, list[tuple[int, int]]]] = {}
        self.reversible: list[str] = []
        self.counts = (Transaction.objects.count(), Entry.objects.count())

    def _fits(self, entries):
        return all(self.floor[a] is None or self.expected[a] + amt >= self.floor[a] for a, amt in entries)

    def _apply(self, entries):
        for a, amt in entries:
            self.expected[a] += amt
        self.counts = (self.counts[0] + 1, self.counts[1] + len(entries))

    @rule(data=st.data())
    def post(self, data):
        unit = data.draw(st.sampled_from([Unit.POINT, Unit.CNY]))
        chosen = data.draw(st.lists(st.sampled_from(self.accounts[unit]), min_size=2, max_size=4, unique=True))
        amounts = [data.draw(st.integers(-50, 50).filter(bool)) for _ in chosen[:-1]]
        last = -sum(amounts)
        assume(last != 0)
        entries = list(zip(chosen, [*amounts, last], strict=True))
        key = f"m{self.n}:p{next(self.steps)}"
        if self._fits(entries):
            txn = ledger_post(entries=entries, memo="random", kind="test", key=key)
            self._apply(entries)
            self.posted[key] = (txn.pk, entries)
            self.reversible.append(key)
        else:
            with pytest.raises(FloorCrossed):
                ledger_post(entries=entries, memo="random", kind="test", key=key)

    @precondition(lambda self: self.reversible)
    @rule(data=st.data())
    def reverse(self, data):
        key = data.draw(st.sampled_from(self.reversible))
        txn_pk, entries = self.posted[key]
        mirrored = [(a, -amt) for a, amt in entries]
        txn = Transaction.objects.get(pk=txn_pk)
        if self._fits(mirrored):
            reversal = ledger_reverse(transaction=txn, key=f"{key}:rev")
            assert reversal.reverses_id == txn_pk
            self._apply(mirrored)
            self.reversible.remove(key)
            with pytest.raises(AlreadyReversed):
                ledger_reverse(transaction=txn, key=f"{key}:rev2")
        else:
            with pytest.raises(FloorCrossed):
                ledger_reverse(transaction=txn, key=f"{key}:rev")

    @precondition(lambda self: self.posted)
    @rule(data=st.data())
    def replay(self, data):
        key = data.draw(st.sampled_from(sorted(self.posted)))
        txn_pk, entries = self.posted[key]
        again = ledger_post(entries=list(reversed(entries)), memo="replayed", kind="test", key=key)
        assert again.pk == txn_pk

    @rule(data=st.data())
    def bad_input(self, data):
        a, b = self.accounts[Unit.POINT][:2]
        c = self.accounts[Unit.CNY][0]
        entries = data.draw(st.sampled_from([
            [(a, -3), (b, 2)],  # unbalanced
            [(a, 0), (b, 0)],  # zero
            [(a, -1.0), (b, 1.0)],  # float
            [(a, -7), (c, 7)],  # units do not offset
            [(a, -1), (10**12, 1)],  # unknown account
        ]))
        with pytest.raises(LedgerError):
            ledger_post(entries=entries, memo="bad", kind="test", key=f"m{self.n}:bad{next(self.steps)}")

    @invariant()
    def balances_are_the_model_and_the_sums(self):
        for pk, expected in self.expected.items():
            assert account_balance(pk) == expected == account_balance(pk, recompute=True)
            if self.floor[pk] is not None:
                assert expected >= self.floor[pk]

    @invariant()
    def nothing_else_was_written(self):
        assert (Transaction.objects.count(), Entry.objects.count()) == self.counts

    @invariant()
    def ledger_check_is_clean(self):
        check = ledger_verify()
        assert check.ok, check.problems


@pytest.mark.django_db
def test_random_postings_reversals_and_replays_keep_the_ledger_consistent():
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=25, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
