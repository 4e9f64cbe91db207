"""The admin shows the demand archive and the points, and writes nothing (services own every write)."""

import pytest
from django.contrib import admin

from xianfeng.demands.models import Claim, Demand, DemandCategory, Pairing, ServiceRecord
from xianfeng.demands.services import demand_create
from xianfeng.orgs.models import User
from xianfeng.points.models import Award, CardSetting, PointsRule, Redemption, Reward

MODELS = [Demand, Claim, Pairing, ServiceRecord, DemandCategory, PointsRule, Award, Reward, Redemption, CardSetting]


@pytest.fixture
def superuser_client(client, world):
    user = User.objects.create_superuser("root_demands", password="x-pass-1234")
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_model_is_listed_and_read_only(world, superuser_client, model):
    model_admin = admin.site._registry[model]
    request = type("R", (), {"user": User.objects.get(username="root_demands")})()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    assert superuser_client.get(url).status_code == 200
    assert superuser_client.get(url + "add/").status_code == 403


def test_a_demand_opens_in_the_admin_without_a_save_button(world, superuser_client):
    demand = demand_create(org=world.hebin, category="助老", description="陪同复诊", actor=None)
    r = superuser_client.get(f"/admin/demands/demand/{demand.pk}/change/")
    assert r.status_code == 200 and 'name="_save"' not in r.content.decode()
    assert superuser_client.post(f"/admin/demands/demand/{demand.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Demand.objects.filter(pk=demand.pk).exists()
