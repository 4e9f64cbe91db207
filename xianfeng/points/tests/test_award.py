"""points_award: the rules, the caps, idempotency, bad input."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from xianfeng.ledger.models import Transaction
from xianfeng.ledger.services import ledger_verify
from xianfeng.points.models import Award
from xianfeng.points.services import balance_of, points_award, points_expire_year, points_rule_set, rules_for

DAY = dt.date(2026, 5, 4)


@pytest.fixture
def member(world):
    return world.members["hebin_a"]


def test_default_rules_award_base_hours_and_bonus(world, member):
    txn = points_award(member=member, source="service", source_id=1, category="助老", minutes=90, satisfied=True,
                       on=DAY)
    # defaults: base 2 + 2/h × 1.5 h (rounded down to 3) + 满意 2
    assert txn.key == "points:service:1"
    assert Award.objects.get().points == 7
    assert balance_of(member) == 7
    assert ledger_verify().ok


def test_the_organisations_rule_applies_to_members_below_it(world, member):
    points_rule_set(org=world.hebin, base_by_category={"助老": 5}, per_hour=4, satisfied_bonus=3, daily_cap=0,
                    yearly_cap=0)
    assert rules_for(member.org).org == world.hebin
    points_award(member=member, source="service", source_id=2, category="助老", minutes=30, satisfied=False, on=DAY)
    points_award(member=member, source="service", source_id=3, category="维修", minutes=60, satisfied=True, on=DAY)
    assert balance_of(member) == (5 + 2) + (2 + 4 + 3)


def test_replaying_the_source_returns_the_original_and_writes_nothing(world, member):
    first = points_award(member=member, source="activity_hours", source_id="77", minutes=120, on=DAY)
    again = points_award(member=member, source="activity_hours", source_id=77, minutes=120, on=DAY)
    assert again.pk == first.pk
    assert Transaction.objects.filter(kind="points.award").count() == 1
    assert balance_of(member) == 4


def test_daily_cap_cuts_then_refuses(world, member):
    points_rule_set(org=world.hebin, default_base=0, per_hour=10, daily_cap=15, yearly_cap=0, satisfied_bonus=0)
    points_award(member=member, source="s", source_id=1, minutes=60, on=DAY)
    second = points_award(member=member, source="s", source_id=2, minutes=60, on=DAY)
    assert second.points_award.points == 5 and second.points_award.capped
    assert points_award(member=member, source="s", source_id=3, minutes=60, on=DAY) is None
    assert points_award(member=member, source="s", source_id=4, minutes=60, on=DAY + dt.timedelta(days=1))
    assert balance_of(member) == 25


def test_yearly_cap_counts_the_awards_year(world, member):
    points_rule_set(org=world.hebin, default_base=0, per_hour=10, daily_cap=0, yearly_cap=25, satisfied_bonus=0)
    for i in range(3):
        points_award(member=member, source="s", source_id=i, minutes=60, on=dt.date(2025, 3, 1 + i))
    assert balance_of(member) == 25
    assert points_award(member=member, source="s", source_id=9, minutes=60, on=dt.date(2026, 1, 2))
    assert balance_of(member) == 35


@pytest.mark.parametrize("minutes", [-1, 1441, 1.5, "60", True])
def test_bad_minutes_are_a_field_error_and_write_nothing(world, member, minutes):
    with pytest.raises(ValidationError) as exc:
        points_award(member=member, source="s", source_id=1, minutes=minutes, on=DAY)
    assert "minutes" in exc.value.message_dict
    assert not Award.objects.exists()


def test_empty_source_is_refused(world, member):
    with pytest.raises(ValidationError):
        points_award(member=member, source="", source_id=1, on=DAY)
    with pytest.raises(ValidationError):
        points_award(member=member, source="s", source_id=1, on="2026-01-01")


def test_year_end_expiry_clears_balances_once(world, member):
    points_rule_set(org=world.hebin, year_end="expire")
    other = world.members["qinshan_a"]
    points_award(member=member, source="s", source_id=1, minutes=120, on=dt.date(2025, 6, 1))
    points_award(member=other, source="s", source_id=2, minutes=120, on=dt.date(2025, 6, 1))
    points_award(member=member, source="s", source_id=3, minutes=60, on=dt.date(2026, 1, 1))
    assert points_expire_year(year=2025) == 1
    assert balance_of(member) == 2  # the 2026 award stays (no category: 2/h × 1 h)
    assert balance_of(other) == 4  # 秦山 carries over (the default)
    assert points_expire_year(year=2025) == 0
    assert ledger_verify().ok
