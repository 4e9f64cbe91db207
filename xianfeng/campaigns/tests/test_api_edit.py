"""The API's creating endpoints: 201 through the services, 400 with field errors for bad input (nothing written),
404 for an organisation or object outside the caller's scope."""

import datetime as dt

import pytest
from django.utils import timezone

from xianfeng.campaigns import services
from xianfeng.campaigns.models import (
    Advisor,
    AdvisorLog,
    AwardRound,
    Campaign,
    DriveProgress,
    Meeting,
    Nomination,
    Venture,
    VentureSupport,
)
from xianfeng.core.ids import make_id_number
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import OrgKind

from .factories import make_round

pytestmark = pytest.mark.django_db


def _d(days: int = 0) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def test_campaign_created_through_the_api(world, api):
    body = {"org": world.wuyuan.pk, "name": "创先争优", "start": _d(-5), "implement_from": _d(5),
            "evaluate_from": _d(50), "end": _d(100),
            "deliverables": [{"code": "plan", "name": "活动方案", "org_kinds": ["branch"], "due": _d(10)}]}
    response = api("wuyuan_admin").post("/api/v1/campaigns/", body, format="json")
    assert response.status_code == 201 and response.json()["deliverables"] == ["plan"]
    bad = dict(body, deliverables=[{"code": "plan", "name": "x", "org_kinds": ["nonsense"], "due": _d(10)}])
    assert api("wuyuan_admin").post("/api/v1/campaigns/", bad, format="json").status_code == 400
    late = dict(body, end=_d(-10))
    response = api("wuyuan_admin").post("/api/v1/campaigns/", late, format="json")
    assert response.status_code == 400 and "end" in response.json()
    assert api("wuyuan_admin").post("/api/v1/campaigns/", dict(body, org=world.qinshan.pk),
                                    format="json").status_code == 404
    assert api("hebin_secretary").post("/api/v1/campaigns/", dict(body, org=world.hebin.pk),
                                       format="json").status_code == 404
    assert Campaign.objects.count() == 1


def test_meeting_recorded_through_the_api(world, api):
    body = {"org": world.county.pk, "kind": "leading_group", "date": _d(-1), "title": "领导小组会议",
            "follow_ups": [{"org": world.wuyuan.pk, "text": "制定方案", "due": _d(10)}]}
    response = api("county_admin").post("/api/v1/campaign-meetings/", body, format="json")
    assert response.status_code == 201 and response.json()["follow_ups"][0]["org"] == world.wuyuan.pk
    meeting_id = response.json()["id"]
    assert api("wuyuan_admin").post("/api/v1/campaign-meetings/", body, format="json").status_code == 404
    assert api("qinshan_secretary").get(f"/api/v1/campaign-meetings/{meeting_id}/").status_code == 404
    bad = dict(body, follow_ups=[{"org": world.wuyuan.pk, "text": "x", "due": _d(-30)}])
    assert api("county_admin").post("/api/v1/campaign-meetings/", bad, format="json").status_code == 400
    assert Meeting.objects.count() == 1


def test_award_round_and_nomination_through_the_api(world, api):
    now = timezone.now()
    body = {"org": world.county.pk, "name": "先锋群评创", "vote_start": (now + dt.timedelta(days=2)).isoformat(),
            "vote_end": (now + dt.timedelta(days=9)).isoformat(), "vote_weight": 50,
            "categories": [{"code": "advanced_org", "name": "先进基层党组织", "nominee_kind": "organisation", "quota": 2},
                           {"code": "innovation", "name": "务实创新先锋", "nominee_kind": "member", "quota": 3}]}
    response = api("county_admin").post("/api/v1/award-rounds/", body, format="json")
    assert response.status_code == 201 and response.json()["categories"] == ["advanced_org", "innovation"]
    award = AwardRound.objects.get()
    dup = dict(body, categories=body["categories"] + [body["categories"][0]])
    assert api("county_admin").post("/api/v1/award-rounds/", dup, format="json").status_code == 400
    assert api("wuyuan_admin").post("/api/v1/award-rounds/", body, format="json").status_code == 404
    ancient = dict(body, name="远古", vote_start="0077-01-01T00:00:00+08:00")  # rendered as +08:05:43, no valid date-time
    refused = api("county_admin").post("/api/v1/award-rounds/", ancient, format="json")
    assert refused.status_code == 400 and "vote_start" in refused.json()
    assert AwardRound.objects.count() == 1
    innovation = award.categories.get(code="innovation")
    nominate = f"/api/v1/award-rounds/{award.pk}/nominate/"
    response = api("hebin_secretary").post(nominate, {
        "category": innovation.pk, "nominated_by": world.hebin.pk,
        "nominee_id_number": world.members["hebin_a"].person.id_number, "citation": "牵头创建服务品牌"}, format="json")
    assert response.status_code == 201 and response.json()["display_name"] == "张建国"
    response = api("hebin_secretary").post(nominate, {
        "category": innovation.pk, "nominated_by": world.qinshan_village.pk,
        "nominee_id_number": world.members["qinshan_a"].person.id_number, "citation": "x"}, format="json")
    assert response.status_code == 404
    response = api("hebin_secretary").post(nominate, {"category": innovation.pk, "nominated_by": world.hebin.pk,
                                                      "nominee_id_number": "123", "citation": "x"}, format="json")
    assert response.status_code == 400 and "nominee_id_number" in response.json()
    assert Nomination.objects.count() == 1


def test_advisors_through_the_api(world, api):
    firm = org_services.org_create(name="海盐紧固件有限公司", code="330424001E001", kind=OrgKind.ENTERPRISE,
                                   parent=world.wuyuan)
    response = api("county_admin").post("/api/v1/advisor-batches/", {
        "org": world.county.pk, "name": "第一批", "start": "2026-01-01", "end": "2027-12-31"}, format="json")
    assert response.status_code == 201
    batch_id = response.json()["id"]
    assert api("wuyuan_admin").post("/api/v1/advisor-batches/", {
        "org": world.county.pk, "name": "越权", "start": "2026-01-01", "end": "2027-12-31"}, format="json").status_code == 404
    assert api("county_admin").post("/api/v1/advisor-batches/", {
        "org": world.county.pk, "name": "倒置", "start": "2027-01-01", "end": "2026-12-31"}, format="json").status_code == 400
    number = make_id_number("330424", dt.date(1955, 3, 1), 71, "M")
    place = f"/api/v1/advisor-batches/{batch_id}/place/"
    response = api("county_admin").post(place, {"enterprise": firm.pk, "name": "老周", "id_number": number},
                                        format="json")
    assert response.status_code == 201
    advisor_id = response.json()["id"]
    assert api("wuyuan_admin").post(place, {"enterprise": firm.pk, "name": "老周", "id_number": number},
                                    format="json").status_code == 404  # the county's batch
    month = timezone.localdate().replace(day=1).isoformat()
    logs = f"/api/v1/advisors/{advisor_id}/logs/"
    assert api("wuyuan_admin").post(logs, {"month": month, "text": "指导", "hours": 8}, format="json").status_code == 201
    assert api("wuyuan_admin").post(logs, {"month": month, "text": "again"}, format="json").status_code == 400
    assert api("qinshan_secretary").post(logs, {"month": month, "text": "x"}, format="json").status_code == 404
    assert AdvisorLog.objects.count() == 1
    evaluation = {"year": 2025, "output_wan": "500", "output_growth_pct": "2.0", "tax_wan": "10", "employees": 80,
                  "checklist": {"organisation": True, "bogus": True}}
    assert api("county_admin").post(f"/api/v1/advisors/{advisor_id}/evaluations/", evaluation,
                                    format="json").status_code == 400
    evaluation["checklist"] = {"organisation": True}
    response = api("county_admin").post(f"/api/v1/advisors/{advisor_id}/evaluations/", evaluation, format="json")
    assert response.status_code == 201 and response.json()["development_strong"] is False
    assert api("hebin_secretary").post(f"/api/v1/advisors/{advisor_id}/evaluations/", evaluation,
                                       format="json").status_code == 404
    assert Advisor.objects.count() == 1


def test_ventures_through_the_api(world, api):
    services.venture_fund_allocate(org=world.county, amount_fen=500_000, key="fund", actor=None)
    response = api("qinshan_secretary").post("/api/v1/ventures/", {
        "org": world.qinshan_village.pk, "name": "芦荟专业合作社", "kind": "cooperative", "founded": "2006-03-01"},
        format="json")
    assert response.status_code == 201
    vid = response.json()["id"]
    figures = f"/api/v1/ventures/{vid}/figures/"
    assert api("qinshan_secretary").post(figures, {"date": "2006-03-01", "members": 3, "area_mu": "8",
                                                   "households": 0}, format="json").status_code == 201
    assert api("qinshan_secretary").post(figures, {"date": "2006-03-01", "members": 3, "area_mu": "8",
                                                   "households": 0}, format="json").status_code == 400
    assert api("hebin_secretary").post(figures, {"date": "2007-03-01", "members": 3, "area_mu": "8",
                                                 "households": 0}, format="json").status_code == 404
    supports = f"/api/v1/ventures/{vid}/supports/"
    grant = {"kind": "grant", "date": _d(-1), "title": "扶助资金", "amount_fen": 100_000, "fund_org": world.county.pk,
             "key": "g1"}
    assert api("qinshan_secretary").post(supports, grant, format="json").status_code == 404
    response = api("county_admin").post(supports, grant, format="json")
    assert response.status_code == 201 and response.json()["ledger_transaction"]
    assert api("county_admin").post(supports, grant, format="json").status_code == 400  # replayed key
    assert VentureSupport.objects.count() == 1 and Venture.objects.count() == 1


def test_drive_and_progress_through_the_api(world, api):
    body = {"org": world.county.pk, "name": "百日双提升", "start": _d(-10), "end": _d(90),
            "targets": [{"org": world.wuyuan.pk, "metric": "union", "target": 10}]}
    response = api("county_admin").post("/api/v1/drives/", body, format="json")
    assert response.status_code == 201
    drive_id, target_id = response.json()["id"], response.json()["targets"][0]["id"]
    progress = f"/api/v1/drives/{drive_id}/progress/"
    assert api("wuyuan_admin").post(progress, {"target": target_id, "date": _d(0), "achieved": 4},
                                    format="json").status_code == 201
    assert api("wuyuan_admin").post(progress, {"target": target_id, "date": _d(5), "achieved": 4},
                                    format="json").status_code == 400
    assert api("qinshan_secretary").post(progress, {"target": target_id, "date": _d(0), "achieved": 9},
                                         format="json").status_code == 404
    data = api("wuyuan_admin").get(f"/api/v1/drives/{drive_id}/").json()
    assert data["targets"][0]["achieved"] == 4
    lower = {"target": target_id, "date": _d(0), "achieved": 1}
    assert api("wuyuan_admin").post(progress, lower, format="json").status_code == 400  # a correction, no reason
    assert api("wuyuan_admin").post(progress, {**lower, "reason": "误报"}, format="json").status_code == 201
    history = api("wuyuan_admin").get(f"/api/v1/drives/{drive_id}/").json()["targets"][0]["history"]
    assert [(h["achieved"], h["reason"]) for h in history] == [(1, "误报"), (4, "")]
    assert history[0]["corrects"] == history[1]["id"]
    assert api("wuyuan_admin").post("/api/v1/drives/", body, format="json").status_code == 404
    assert DriveProgress.objects.count() == 2


def test_outsider_gets_404_on_every_read_endpoint(world, api):
    make_round(world)
    meeting = services.meeting_record(org=world.wuyuan, kind="leading_group", date=timezone.localdate(), title="镇会议", actor=None)
    drive = services.drive_create(org=world.wuyuan, name="镇行动", start=timezone.localdate(),
                                  end=timezone.localdate() + dt.timedelta(days=10), actor=None)
    venture = services.venture_create(org=world.hebin, name="河滨合作社", kind="cooperative",
                                      founded=dt.date(2020, 1, 1), actor=None)
    for url in (f"/api/v1/campaign-meetings/{meeting.pk}/", f"/api/v1/drives/{drive.pk}/",
                f"/api/v1/ventures/{venture.pk}/"):
        assert api("qinshan_secretary").get(url).status_code == 404, url
        assert api("wuyuan_admin").get(url).status_code == 200, url
