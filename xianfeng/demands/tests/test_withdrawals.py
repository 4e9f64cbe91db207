"""A withdrawn claim ends the member's access to the resident's details; repeated claim-and-withdraw is limited per
day and listed for the secretary."""

import pytest
from django.urls import reverse

from xianfeng.core.testing import make_person
from xianfeng.demands.models import Claim
from xianfeng.demands.services import demand_create
from xianfeng.orgs import services as org_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def resident(world):
    person = make_person("赵阿婆", gender="F", phone="13705732222")
    return org_services.resident_create(person=person, org=world.hebin, address="河滨路8号")


def make_demand(world, resident, n=0):
    return demand_create(org=world.hebin, category="助老", description=f"陪同买菜{n}", resident=resident,
                         address="河滨路8号", actor=world.hebin_secretary)


def test_withdrawn_claim_ends_access_to_the_residents_details_in_the_api(world, client_for, resident):
    demand = make_demand(world, resident)
    member = client_for("member")
    assert member.post(f"/api/v1/demands/{demand.pk}/claim/").status_code == 201
    held = member.get(f"/api/v1/demands/{demand.pk}/").json()
    assert (held["resident_name"], held["resident_phone"], held["address"]) == ("赵阿婆", "13705732222", "河滨路8号")
    assert member.post(f"/api/v1/demands/{demand.pk}/withdraw/").status_code == 200
    after = member.get(f"/api/v1/demands/{demand.pk}/").json()
    assert "resident_name" not in after and "resident_phone" not in after and "address" not in after
    assert "赵阿婆" not in str(after) and "13705732222" not in str(after)
    assert member.post(f"/api/v1/demands/{demand.pk}/withdraw/").status_code == 404  # nothing left to give up


def test_withdrawn_claim_ends_access_on_the_page(world, client_for, resident):
    demand = make_demand(world, resident)
    member = client_for("member")
    member.post(reverse("demands:claim", args=[demand.pk]))
    assert "13705732222" in member.get(reverse("demands:detail", args=[demand.pk])).content.decode()
    member.post(reverse("demands:withdraw", args=[demand.pk]))
    page = member.get(reverse("demands:detail", args=[demand.pk])).content.decode()
    assert "13705732222" not in page and "赵阿婆" not in page and "河滨路8号" not in page


def test_repeated_claim_and_withdraw_is_limited_per_day(world, client_for, resident, settings):
    settings.DEMANDS_WITHDRAWALS_PER_DAY = 2
    demands = [make_demand(world, resident, n) for n in range(4)]
    member = client_for("member")
    for demand in demands[:2]:
        assert member.post(f"/api/v1/demands/{demand.pk}/claim/").status_code == 201
        assert member.post(f"/api/v1/demands/{demand.pk}/withdraw/").status_code == 200
    refused = member.post(f"/api/v1/demands/{demands[2].pk}/claim/")
    assert refused.status_code == 409 and "明天" in refused.json()["detail"]
    assert not Claim.objects.filter(demand=demands[2]).exists()
    page = member.post(reverse("demands:claim", args=[demands[3].pk]))
    assert page.status_code == 409
    # the secretary may still assign the member
    assigned = client_for("hebin_secretary").post(f"/api/v1/demands/{demands[2].pk}/assign/",
                                                  {"member": world.members["hebin_a"].pk},
                                                  content_type="application/json")
    assert assigned.status_code == 201


def test_the_secretary_sees_the_withdrawals(world, client_for, resident):
    demand = make_demand(world, resident)
    member = client_for("member")
    member.post(f"/api/v1/demands/{demand.pk}/claim/")
    member.post(f"/api/v1/demands/{demand.pk}/withdraw/")
    secretary = client_for("hebin_secretary")
    page = secretary.get(reverse("demands:withdrawals"))
    assert page.status_code == 200
    assert "张建国" in page.content.decode()
    listed = secretary.get("/api/v1/demand-claims/?status=withdrawn").json()["results"]
    assert [c["demand"] for c in listed] == [demand.pk]
    assert client_for("qinshan_secretary").get("/api/v1/demand-claims/?status=withdrawn").json()["results"] == []
    assert client_for("member").get(reverse("demands:withdrawals")).status_code == 404
