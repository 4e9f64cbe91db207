"""Races decided by the database, with real threads on PostgreSQL (skipped, loudly, on SQLite)."""

import datetime as dt

import pytest
from django.core.management import call_command

from xianfeng.core.testing import make_member, race
from xianfeng.demands.models import Claim, Demand, ServiceRecord
from xianfeng.demands.services import AlreadyClaimed, demand_claim, demand_create, service_confirm, service_record
from xianfeng.ledger.services import ledger_verify
from xianfeng.orgs.models import Member
from xianfeng.points.models import Redemption, Reward
from xianfeng.points.services import (
    NotEnoughPoints,
    OutOfStock,
    balance_of,
    points_award,
    points_redeem,
    reward_create,
)


def _spread(jobs, work, threads=16):
    """Run `work` over `jobs` in `threads` threads released together (each thread takes every threads-th job);
    the outcomes in job order. An exception is an outcome too (the caller asserts there are none it did not
    expect)."""
    per_thread = race(threads, lambda i: [_outcome(work, job) for job in jobs[i::threads]])
    outcomes = [None] * len(jobs)
    for i, results in enumerate(per_thread):
        if isinstance(results, BaseException):
            raise results
        outcomes[i::threads] = results
    return outcomes


def _outcome(work, job):
    try:
        return work(job)
    except Exception as exc:  # counted by the caller
        return exc


@pytest.mark.django_db(transaction=True)
def test_1000_claims_on_100_demands_give_exactly_100_winners(world, postgres_only):
    members = [world.members["hebin_a"], world.members["hebin_b"]]
    members += [make_member(f"党员{i}", world.hebin_branch) for i in range(8)]
    demands = [demand_create(org=world.hebin, category="助老", description=f"需求{i}", actor=None) for i in range(100)]
    attempts = [(d.pk, members[i % 10].pk) for d in demands for i in range(10)]

    def attempt(job):
        demand_id, member_id = job
        try:
            demand_claim(demand=Demand.objects.get(pk=demand_id),
                         member=Member.objects.select_related("org", "managing_org").get(pk=member_id), actor=None)
            return "won"
        except AlreadyClaimed:
            return "already claimed"
        except Exception as exc:  # counted: the test demands there are none
            return f"error: {exc!r}"

    outcomes = _spread(attempts, attempt)
    assert outcomes.count("won") == 100
    assert outcomes.count("already claimed") == 900
    assert [o for o in outcomes if o.startswith("error")] == []
    assert Claim.objects.count() == 100
    assert not Demand.objects.exclude(status=Demand.Status.CLAIMED, claimed_count=1).exists()

    # The winners serve and the secretary confirms on the residents' behalf, in parallel too: every confirmed
    # service awards once under the caps, and the ledger checks clean after all of it.
    claims = list(Claim.objects.values_list("pk", flat=True))
    secretary = world.hebin_secretary

    def serve(claim_id):
        claim = Claim.objects.select_related("demand__org", "member__org", "member__person").get(pk=claim_id)
        record = service_record(member=claim.member, demand=claim.demand, served_on=dt.date(2026, 4, 1),
                                minutes=60, notes="上门服务", actor=None)
        service_confirm(record=record, rating="satisfied", actor=secretary)
        return "ok"

    outcomes = _spread(claims, serve, threads=8)
    assert outcomes == ["ok"] * 100
    assert ServiceRecord.objects.filter(status="confirmed").count() == 100
    assert not Demand.objects.exclude(status=Demand.Status.DONE).exists()
    # Each service earns 6 under the default rules (base 2, 2 per hour, 2 for 满意), all on one day: the daily
    # cap (20) holds for every member however many demands the member won.
    won = {m.pk: Claim.objects.filter(member=m).count() for m in members}
    assert {m.pk: balance_of(m) for m in members} == {pk: min(20, 6 * n) for pk, n in won.items()}
    call_command("ledger_check")


@pytest.mark.django_db(transaction=True)
def test_group_job_fills_exactly_to_capacity_under_a_race(world, postgres_only):
    members = [make_member(f"志愿者{i}", world.hebin_branch) for i in range(20)]
    demand = demand_create(org=world.hebin, category="其他", description="小区大扫除", capacity=5, actor=None)

    def attempt(member):
        try:
            demand_claim(demand=Demand.objects.get(pk=demand.pk), member=Member.objects.get(pk=member.pk), actor=None)
            return True
        except AlreadyClaimed:
            return False

    assert sum(o is True for o in race(len(members), lambda i: attempt(members[i]))) == 5
    demand.refresh_from_db()
    assert demand.claimed_count == 5 and demand.status == Demand.Status.CLAIMED


@pytest.mark.django_db(transaction=True)
def test_last_item_goes_to_exactly_one_member_and_balances_hold(world, postgres_only):
    members = [make_member(f"兑换{i}", world.hebin_branch) for i in range(10)]
    for i, m in enumerate(members):
        points_award(member=m, source="seed", source_id=i, minutes=300, on=dt.date(2026, 3, 1))  # 10 points each
    last = reward_create(shop=world.hebin, name="大米", price=8, stock=1)

    def attempt(member):
        try:
            points_redeem(reward=Reward.objects.select_related("shop").get(pk=last.pk),
                          member=Member.objects.select_related("org", "managing_org").get(pk=member.pk),
                          key=f"race-{member.pk}")
            return "won"
        except OutOfStock:
            return "out"

    outcomes = race(len(members), lambda i: attempt(members[i]))
    assert outcomes.count("won") == 1 and outcomes.count("out") == 9
    assert Reward.objects.get(pk=last.pk).stock == 0
    assert Redemption.objects.count() == 1

    # One member spending the same points twice at once: the floor of 0 lets exactly one through.
    rich = members[0] if balance_of(members[0]) == 10 else members[1]
    soap = reward_create(shop=world.hebin, name="肥皂", price=6, stock=10)

    def spend(i):
        try:
            points_redeem(reward=Reward.objects.select_related("shop").get(pk=soap.pk),
                          member=Member.objects.select_related("org", "managing_org").get(pk=rich.pk),
                          key=f"twice-{i}")
            return "won"
        except NotEnoughPoints:
            return "poor"

    outcomes = race(6, spend)
    assert outcomes.count("won") == 1 and balance_of(rich) == 4
    assert Reward.objects.get(pk=soap.pk).stock == 9
    check = ledger_verify()
    assert check.ok, check.problems
    call_command("ledger_check")


@pytest.mark.django_db(transaction=True)
def test_concurrent_awards_respect_the_daily_cap(world, postgres_only):
    from xianfeng.points.services import points_rule_set

    points_rule_set(org=world.hebin, default_base=0, per_hour=10, daily_cap=25, yearly_cap=0, satisfied_bonus=0)
    member = world.members["hebin_a"]

    def award(i):
        return points_award(member=Member.objects.get(pk=member.pk), source="race", source_id=i, minutes=60,
                            on=dt.date(2026, 4, 1))

    outcomes = race(8, award)
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    assert balance_of(member) == 25
    assert ledger_verify().ok


@pytest.mark.django_db(transaction=True)
def test_first_awards_of_many_members_at_once_open_each_account_once(world, postgres_only):
    """Eight members' first awards at the same instant: each opens its own account and the organisation's issuing
    account is opened once (a concurrent first opening used to fail with "account already exists")."""
    members = [make_member(f"首次{i}", world.hebin_branch) for i in range(8)]

    def award(i):
        member = Member.objects.select_related("org").get(pk=members[i].pk)
        points_award(member=member, source="first", source_id=i, minutes=60, on=dt.date(2026, 4, 1))
        points_award(member=member, source="second", source_id=i, minutes=60, on=dt.date(2026, 4, 1))

    outcomes = race(8, award)
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    assert [balance_of(m) for m in members] == [2 + 2] * 8  # default rules, no category: 2 per hour, twice
    from xianfeng.ledger.models import Account
    assert Account.objects.filter(purpose="points_issued").count() == 1
    assert ledger_verify().ok
    call_command("ledger_check")
