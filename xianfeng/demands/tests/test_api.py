"""The loop through the API; 409s; 400 with the balance; outsiders get 404."""

import pytest
from django.utils import timezone

from xianfeng.demands.models import Demand
from xianfeng.demands.services import demand_create
from xianfeng.ledger.services import ledger_verify
from xianfeng.points.services import reward_create


@pytest.fixture
def demand(world):
    return demand_create(org=world.hebin, category="助老", description="陪同复诊", actor=world.hebin_secretary)


def test_full_loop_through_the_api(world, client_for):
    resident, member, secretary = client_for("resident"), client_for("member"), client_for("hebin_secretary")
    r = resident.post("/api/v1/demands/", {"category": "维修", "description": "灯坏了", "address": "河滨路1号"},
                      content_type="application/json")
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert Demand.objects.get(pk=pk).source == "resident"
    r = member.post(f"/api/v1/demands/{pk}/claim/")
    assert r.status_code == 201
    assert member.get(f"/api/v1/demands/{pk}/").json()["address"] == "河滨路1号"
    assert member.post(f"/api/v1/demands/{pk}/claim/").status_code == 409
    r = member.post("/api/v1/service-records/", {"demand": pk, "served_on": str(timezone.localdate()),
                                                 "minutes": 60, "notes": "换灯泡"}, content_type="application/json")
    assert r.status_code == 201, r.content
    rec = r.json()["id"]
    r = resident.post(f"/api/v1/service-records/{rec}/confirm/", {"rating": "satisfied"},
                      content_type="application/json")
    assert r.status_code == 200 and r.json()["points"] == 2 + 2 + 2
    r = resident.post(f"/api/v1/service-records/{rec}/confirm/", {"rating": "satisfied"},
                      content_type="application/json")
    assert r.status_code == 409
    card = member.get("/api/v1/points-card/").json()
    assert card["balance"] == 6 and card["rank"] == 1 and card["history"][0]["amount"] == 6

    cheap = reward_create(shop=world.hebin, name="牙膏", price=4, stock=5)
    dear = reward_create(shop=world.hebin, name="电风扇", price=100, stock=5)
    member_id = world.members["hebin_a"].pk
    r = secretary.post("/api/v1/redemptions/", {"reward": dear.pk, "member": member_id, "key": "x1"},
                       content_type="application/json")
    assert r.status_code == 400 and r.json()["balance"] == 6
    r = secretary.post("/api/v1/redemptions/", {"reward": cheap.pk, "member": member_id, "key": "x2"},
                       content_type="application/json")
    assert r.status_code == 201
    assert member.get("/api/v1/points-card/").json()["balance"] == 2
    assert len(member.get("/api/v1/redemptions/").json()["results"]) == 1
    assert ledger_verify().ok


@pytest.mark.parametrize("minutes", [-30, 0, 1441])
def test_absurd_duration_is_400(world, client_for, demand, minutes):
    member = client_for("member")
    member.post(f"/api/v1/demands/{demand.pk}/claim/")
    r = member.post("/api/v1/service-records/", {"demand": demand.pk, "served_on": "2026-01-05", "minutes": minutes,
                                                 "notes": "x"}, content_type="application/json")
    assert r.status_code == 400 and "minutes" in r.json()


def test_claiming_a_closed_demand_is_409(world, client_for, demand):
    r = client_for("hebin_secretary").post(f"/api/v1/demands/{demand.pk}/close/", {"reason": "已解决"},
                                           content_type="application/json")
    assert r.status_code == 200
    assert client_for("member").post(f"/api/v1/demands/{demand.pk}/claim/").status_code == 409


def test_claiming_a_lapsed_or_expired_demand_is_409_and_a_lapsed_claim_cannot_record(world, client_for):
    import datetime as dt

    from xianfeng.demands.services import claims_lapse, demand_claim, demands_expire

    expired = demand_create(org=world.hebin, category="助老", description="过期", expires_on=dt.date(2026, 1, 1), actor=None)
    demands_expire(today=dt.date(2026, 2, 1))
    r = client_for("member").post(f"/api/v1/demands/{expired.pk}/claim/")
    assert r.status_code == 409 and "过期" in r.json()["detail"]

    lapsing = demand_create(org=world.hebin, category="助老", description="超期", actor=None)
    demand_claim(demand=lapsing, member=world.members["hebin_a"], at=timezone.now() - dt.timedelta(days=30), actor=None)
    assert claims_lapse() == 1
    r = client_for("member").post("/api/v1/service-records/", {
        "demand": lapsing.pk, "served_on": str(timezone.localdate()), "minutes": 30, "notes": "x"},
        content_type="application/json")
    assert r.status_code == 409


def test_outsider_gets_404(world, client_for, demand):
    outsider = client_for("qinshan_secretary")
    assert outsider.get(f"/api/v1/demands/{demand.pk}/").status_code == 404
    assert outsider.post(f"/api/v1/demands/{demand.pk}/claim/").status_code == 404
    assert outsider.post(f"/api/v1/demands/{demand.pk}/close/", {"reason": "x"},
                         content_type="application/json").status_code == 404
    assert outsider.post(f"/api/v1/demands/{demand.pk}/assign/", {"member": 1},
                         content_type="application/json").status_code == 404
    assert outsider.post("/api/v1/demands/", {"org": world.hebin.pk, "category": "助老", "description": "x"},
                         content_type="application/json").status_code == 404
    reward = reward_create(shop=world.hebin, name="牙膏", price=4, stock=5)
    assert outsider.post("/api/v1/redemptions/", {"reward": reward.pk, "member": world.members["hebin_a"].pk,
                                                  "key": "k"}, content_type="application/json").status_code == 404
    assert outsider.get(f"/api/v1/points-leaderboard/?org={world.hebin.pk}").status_code == 404
    assert outsider.get("/api/v1/points-card/").status_code == 404
    assert outsider.get("/api/v1/rewards/").json()["results"] == []
    assert outsider.get("/api/v1/demand-claims/").json()["results"] == []


def test_staff_assign_and_unknown_fields(world, client_for, demand):
    staff = client_for("hebin_secretary")
    r = staff.post(f"/api/v1/demands/{demand.pk}/assign/", {"member": world.members["qinshan_a"].pk},
                   content_type="application/json")
    assert r.status_code == 400
    r = staff.post(f"/api/v1/demands/{demand.pk}/assign/", {"member": world.members["hebin_b"].pk},
                   content_type="application/json")
    assert r.status_code == 201
    r = staff.post("/api/v1/demands/", {"org": world.hebin.pk, "category": "助老", "description": "x", "foo": 1},
                   content_type="application/json")
    assert r.status_code == 400 and "foo" in r.json()
