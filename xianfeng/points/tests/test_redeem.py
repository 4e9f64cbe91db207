"""Rewards and redemptions: stock and balance never below zero."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from xianfeng.ledger.services import ledger_verify
from xianfeng.points.models import Redemption, Reward
from xianfeng.points.services import (
    NotEnoughPoints,
    OutOfStock,
    balance_of,
    points_award,
    points_redeem,
    reward_create,
    reward_restock,
)


@pytest.fixture
def rich(world):
    member = world.members["hebin_a"]
    points_award(member=member, source="s", source_id=1, minutes=600, on=dt.date(2026, 1, 5))  # 20 points
    return member


def test_redeem_moves_points_to_the_shop_and_takes_stock(world, rich):
    soap = reward_create(shop=world.hebin, name="洗衣液", price=8, stock=3)
    redemption = points_redeem(reward=soap, member=rich, quantity=2, key="k1", actor=world.hebin_secretary)
    soap.refresh_from_db()
    assert (redemption.points, soap.stock, balance_of(rich)) == (16, 1, 4)
    assert points_redeem(reward=soap, member=rich, key="k1").pk == redemption.pk  # replay
    assert ledger_verify().ok


def test_not_enough_points_says_the_balance_and_changes_nothing(world, rich):
    tv = reward_create(shop=world.hebin, name="电饭煲", price=50, stock=1)
    with pytest.raises(NotEnoughPoints) as exc:
        points_redeem(reward=tv, member=rich, key="k2")
    assert exc.value.balance == 20 and exc.value.price == 50
    tv.refresh_from_db()
    assert tv.stock == 1 and not Redemption.objects.exists() and balance_of(rich) == 20


def test_out_of_stock_is_refused(world, rich):
    towel = reward_create(shop=world.hebin, name="毛巾", price=2, stock=1)
    points_redeem(reward=towel, member=rich, key="a")
    with pytest.raises(OutOfStock):
        points_redeem(reward=towel, member=rich, key="b")
    assert Reward.objects.get().stock == 0 and balance_of(rich) == 18


def test_restock_never_below_zero_and_bad_prices(world):
    towel = reward_create(shop=world.hebin, name="毛巾", price=2, stock=1)
    with pytest.raises(ValidationError):
        reward_restock(reward=towel, add=-2)
    assert reward_restock(reward=towel, add=4).stock == 5
    for bad in (0, -1, "x"):
        with pytest.raises(ValidationError):
            reward_create(shop=world.hebin, name="坏", price=bad)
