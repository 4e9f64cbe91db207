"""The points policies: scope and allows() agree; rewards reach the members their shop serves, a redemption its
member, a card setting only its member; services refuse a write outside the actor's reach before changing anything."""

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser

from xianfeng.core.policy import NotAllowed, NotFound, policy_for, visible
from xianfeng.points.models import CardSetting, Redemption, Reward
from xianfeng.points.services import card_setting_set, points_award, points_redeem, reward_create, reward_restock

pytestmark = pytest.mark.django_db


def _people(world):
    return {"anonymous": AnonymousUser(), **world.users}


def test_scope_and_allows_agree(world):
    member = world.members["hebin_a"]
    points_award(member=member, source="s", source_id=1, minutes=600, on=dt.date(2026, 1, 5))
    soap = reward_create(shop=world.hebin, name="洗衣液", price=8, stock=3)
    tea = reward_create(shop=world.qinshan_village, name="茶叶", price=5, stock=3)
    redemption = points_redeem(reward=soap, member=member, key="k1", actor=world.hebin_secretary)
    setting = card_setting_set(member=member, hide_name=True, actor=world.member)
    wrong = []
    for name, user in _people(world).items():
        for action in ("view", "change"):
            for model, objs in ((Reward, [soap, tea]), (Redemption, [redemption]), (CardSetting, [setting])):
                rows = set(visible(model, user, action).values_list("pk", flat=True))
                for obj in objs:
                    if (obj.pk in rows) != policy_for(model).allows(user, action, obj):
                        wrong.append(f"{name} {action} {obj}")
    assert not wrong
    member_user = world.member
    assert set(visible(Reward, member_user)) == {soap}  # the shop serving the member's branch, not another town's
    assert list(visible(Redemption, member_user)) == [redemption]
    assert not visible(CardSetting, world.county_admin).exists()


def test_services_refuse_outside_the_actors_reach(world):
    soap = reward_create(shop=world.hebin, name="洗衣液", price=8, stock=3)
    with pytest.raises(NotFound):
        reward_restock(reward=soap, add=5, actor=world.qinshan_secretary)
    with pytest.raises(NotAllowed):
        reward_restock(reward=soap, add=5, actor=world.inspector)  # may see the shop, may not change it
    with pytest.raises(NotFound):
        reward_create(shop=world.hebin, name="毛巾", price=2, actor=world.qinshan_secretary)
    with pytest.raises(NotFound):
        card_setting_set(member=world.members["hebin_a"], hide_name=True, actor=world.hebin_secretary)
    soap.refresh_from_db()
    assert soap.stock == 3 and Reward.objects.count() == 1 and not CardSetting.objects.exists()
