import datetime as dt

import pytest
from django.utils import timezone

from xianfeng.campaigns import services
from xianfeng.campaigns.models import CampaignPlan, Vote

from .factories import make_campaign, make_round

pytestmark = pytest.mark.django_db


def test_campaign_list_and_matrix_follow_the_scope(world, api):
    campaign = make_campaign(world, plan_due=timezone.localdate() - dt.timedelta(days=1))
    data = api("hebin_secretary").get(f"/api/v1/campaigns/{campaign.pk}/matrix/").json()
    assert data["deliverables"] == ["plan", "pledges", "lessons"]
    assert {r["name"] for r in data["rows"]} == {"河滨社区", "河滨社区党支部"}
    lag = api("county_admin").get(f"/api/v1/campaigns/{campaign.pk}/matrix/?laggards=1").json()["rows"]
    assert all(r["laggard"] for r in lag) and len(lag) == 4
    other = services.campaign_create(name="武原镇活动", org=world.wuyuan, start=dt.date(2026, 1, 1),
                                     implement_from=dt.date(2026, 2, 1), evaluate_from=dt.date(2026, 3, 1),
                                     end=dt.date(2026, 12, 1), actor=None)
    assert api("qinshan_secretary").get(f"/api/v1/campaigns/{other.pk}/matrix/").status_code == 404
    assert api("qinshan_secretary").get(f"/api/v1/campaigns/{campaign.pk}/").status_code == 200


def test_plan_review_through_the_api(world, api):
    campaign = make_campaign(world)
    plan = services.plan_save(campaign=campaign, org=world.hebin_branch, title="方案", text="x", actor=None)
    assert api("hebin_secretary").post(f"/api/v1/campaign-plans/{plan.pk}/submit/").status_code == 200
    assert api("hebin_secretary").post(f"/api/v1/campaign-plans/{plan.pk}/accept/", {}).status_code == 404
    assert api("qinshan_secretary").get(f"/api/v1/campaign-plans/{plan.pk}/").status_code == 404
    response = api("wuyuan_admin").post(f"/api/v1/campaign-plans/{plan.pk}/return/", {"note": ""}, format="json")
    assert response.status_code == 400 and "note" in response.json()
    assert api("wuyuan_admin").post(f"/api/v1/campaign-plans/{plan.pk}/accept/", {"note": "同意"},
                                    format="json").status_code == 200
    assert CampaignPlan.objects.get().status == "accepted"
    assert api("wuyuan_admin").post(f"/api/v1/campaign-plans/{plan.pk}/accept/", {}).status_code == 400


def test_votes_through_the_api(world, api):
    award, cats, noms = make_round(world)
    resident = api("resident")
    assert resident.post("/api/v1/votes/", {"nomination": noms["a"].pk}, format="json").status_code == 201
    response = resident.post("/api/v1/votes/", {"nomination": noms["b"].pk}, format="json")
    assert response.status_code == 409
    assert resident.post("/api/v1/votes/", {"nomination": 999999}, format="json").status_code == 404
    assert resident.post("/api/v1/votes/", {"nomination": "x"}, format="json").status_code == 400
    assert Vote.objects.count() == 1
    assert api("county_admin").get(f"/api/v1/award-rounds/{award.pk}/results/").status_code == 403
    assert api("qinshan_secretary").get(f"/api/v1/award-rounds/{award.pk}/").status_code == 404


def test_vote_outside_the_window_answers_403_with_the_window(world, api):
    award, cats, noms = make_round(world, opens_in=dt.timedelta(days=1))
    response = api("resident").post("/api/v1/votes/", {"nomination": noms["a"].pk}, format="json")
    assert response.status_code == 403
    body = response.json()
    assert "评议时间为" in body["detail"] and body["vote_start"] and body["vote_end"]


def test_results_after_close(world, api):
    award, cats, noms = make_round(world)
    services.vote_cast(nomination=noms["a"], user=world.resident)
    award.vote_end = timezone.now() - dt.timedelta(seconds=1)
    award.vote_start = award.vote_end - dt.timedelta(days=1)
    award.save()
    data = api("county_admin").get(f"/api/v1/award-rounds/{award.pk}/results/").json()
    assert data[str(cats["innovation"].pk)][0]["votes"] == 1


def test_bulletins_and_ventures_are_scoped(world, api):
    b = services.bulletin_create(org=world.hebin, title="河滨新闻", body="正文", actor=None)
    v = services.venture_create(org=world.qinshan_village, name="芦荟合作社", kind="cooperative",
                                founded=dt.date(2006, 3, 1), actor=None)
    assert api("qinshan_secretary").get(f"/api/v1/bulletins/{b.pk}/").status_code == 404
    assert api("hebin_secretary").get(f"/api/v1/bulletins/{b.pk}/").status_code == 200
    assert api("hebin_secretary").get(f"/api/v1/ventures/{v.pk}/").status_code == 404
    assert api("qinshan_secretary").get(f"/api/v1/ventures/{v.pk}/").json()["name"] == "芦荟合作社"
