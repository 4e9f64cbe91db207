"""The creation and editing pages: each makes its thing through the service (with an audit row), answers bad input
with field errors and status 400 changing nothing, and answers an outsider 404."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from xianfeng.campaigns import services
from xianfeng.campaigns.models import (
    Advisor,
    AdvisorBatch,
    AdvisorLog,
    AwardRound,
    Campaign,
    Deliverable,
    DeliverableRecord,
    Drive,
    DriveTarget,
    DualBrandEvaluation,
    FollowUp,
    Meeting,
    Nomination,
    Venture,
    VentureFigure,
    VentureSupport,
)
from xianfeng.core.ids import make_id_number
from xianfeng.core.models import AuditEvent
from xianfeng.core.testing import make_person
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import OrgKind

from .factories import make_campaign, make_round

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()


def _d(days: int = 0) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def _formset(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": str(initial),
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{i}-{key}"] = value
    return data


def _campaign_post(org, **extra):
    data = {"org": org.pk, "name": "创先争优活动", "start": _d(-10), "implement_from": _d(10),
            "evaluate_from": _d(100), "end": _d(200), "description": "说明"}
    data.update(_formset("d", [
        {"code": "plan", "name": "活动方案", "org_kinds": ["branch"], "due": _d(20)},
        {"code": "lessons", "name": "专题党课", "org_kinds": ["village", "community"], "due": _d(60)},
        {},
    ]))
    data.update(extra)
    return data


def test_admin_creates_a_campaign_with_deliverables(world, client_for):
    response = client_for("wuyuan_admin").post(reverse("campaigns:campaign_create"), _campaign_post(world.wuyuan))
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("campaigns:campaign_detail",
                                                                            args=[campaign.pk])
    assert campaign.org == world.wuyuan
    assert list(campaign.deliverables.values_list("code", "org_kinds")) == [
        ("plan", ["branch"]), ("lessons", ["village", "community"])]
    assert AuditEvent.objects.filter(model="campaigns.Campaign", action="create").exists()


def test_campaign_with_phases_out_of_order_is_a_field_error(world, client_for):
    response = client_for("county_admin").post(reverse("campaigns:campaign_create"),
                                               _campaign_post(world.county, end=_d(50)))
    assert response.status_code == 400 and 'data-testid="field-error-end"' in response.content.decode()
    data = _campaign_post(world.county)
    data["d-1-due"] = _d(900)  # a deliverable due after the campaign ends
    response = client_for("county_admin").post(reverse("campaigns:campaign_create"), data)
    assert response.status_code == 400 and "截止日期不在活动期间" in response.content.decode()
    assert not Campaign.objects.exists() and not Deliverable.objects.exists()


def test_outsider_gets_404_creating_a_campaign_for_another_town(world, client_for):
    assert client_for("qinshan_secretary").get(reverse("campaigns:campaign_create")).status_code == 404
    response = client_for("wuyuan_admin").post(reverse("campaigns:campaign_create"), _campaign_post(world.qinshan))
    assert response.status_code == 404 and not Campaign.objects.exists()


def test_campaign_edited_advanced_and_given_a_deliverable(world, client_for):
    campaign = make_campaign(world)
    url = reverse("campaigns:campaign_edit", args=[campaign.pk])
    admin = client_for("county_admin")
    assert admin.get(url).status_code == 200
    data = {"name": "新名称", "start": campaign.start.isoformat(), "implement_from": campaign.implement_from.isoformat(),
            "evaluate_from": campaign.evaluate_from.isoformat(), "end": campaign.end.isoformat(), "description": ""}
    assert admin.post(url, data).status_code == 302
    assert Campaign.objects.get().name == "新名称"
    bad = dict(data, end=(campaign.start + dt.timedelta(days=1)).isoformat())
    assert admin.post(url, bad).status_code == 400 and Campaign.objects.get().end == campaign.end
    assert admin.post(url, {"op": "advance"}).status_code == 302
    assert Campaign.objects.get().phase == "implement"
    response = admin.post(url, {"op": "deliverable", "code": "posts", "name": "先锋岗", "org_kinds": ["village"],
                                "due": _d(30)})
    assert response.status_code == 302 and campaign.deliverables.filter(code="posts").exists()
    response = admin.post(url, {"op": "deliverable", "code": "posts", "name": "重复", "org_kinds": ["village"],
                                "due": _d(30)})
    assert response.status_code == 400 and campaign.deliverables.filter(code="posts").count() == 1
    for who in ("qinshan_secretary", "hebin_secretary"):  # secretaries do not administer the county's campaign
        assert client_for(who).get(url).status_code == 404
        assert client_for(who).post(url, {"op": "advance"}).status_code == 404


def test_deliverable_recorded_from_the_matrix(world, client_for):
    campaign = make_campaign(world)
    lessons = campaign.deliverables.get(code="lessons")
    url = reverse("campaigns:deliverable_record", args=[campaign.pk, lessons.pk, world.hebin.pk])
    html = client_for("hebin_secretary").get(reverse("campaigns:campaign_detail", args=[campaign.pk])).content.decode()
    assert url in html
    assert client_for("hebin_secretary").post(url, {"done_on": _d(5)}).status_code == 400  # in the future
    assert client_for("hebin_secretary").post(url, {"done_on": _d(-1), "note": "已上党课"}).status_code == 302
    assert DeliverableRecord.objects.get().org == world.hebin
    assert client_for("qinshan_secretary").post(url, {"done_on": _d(-1)}).status_code == 404
    matrix = services.progress_matrix(campaign)
    row = next(r for r in matrix.rows if r.org_id == world.hebin.pk)
    assert row.cells[2] == "done"


def _meeting_post(org, follow_org, **extra):
    data = {"org": org.pk, "kind": "leading_group", "date": _d(-1), "title": "领导小组第一次会议", "chair": "县委书记",
            "attendees": "成员", "minutes": "会议决定：各镇制定方案"}
    data.update(_formset("f", [{"org": follow_org.pk, "text": "制定本镇活动方案", "due": _d(20)}, {}, {}]))
    data.update(extra)
    return data


def test_meeting_recorded_with_follow_ups_and_one_added_later(world, client_for):
    admin = client_for("county_admin")
    assert admin.get(reverse("campaigns:meeting_create")).status_code == 200
    response = admin.post(reverse("campaigns:meeting_create"), _meeting_post(world.county, world.wuyuan))
    meeting = Meeting.objects.get()
    assert response.status_code == 302 and meeting.follow_ups.get().org == world.wuyuan
    url = reverse("campaigns:meeting_follow_up_add", args=[meeting.pk])
    assert admin.post(url, {"org": world.qinshan.pk, "text": "落实联系点", "due": _d(10)}).status_code == 302
    assert admin.post(url, {"org": world.qinshan.pk, "text": "", "due": _d(10)}).status_code == 400
    assert FollowUp.objects.count() == 2
    assert client_for("wuyuan_admin").post(url, {"org": world.wuyuan.pk, "text": "x", "due": _d(10)}).status_code == 404


def test_meeting_in_the_future_or_for_an_outside_org_changes_nothing(world, client_for):
    admin = client_for("wuyuan_admin")
    response = admin.post(reverse("campaigns:meeting_create"), _meeting_post(world.wuyuan, world.hebin, date=_d(3)))
    assert response.status_code == 400 and 'data-testid="field-error-date"' in response.content.decode()
    assert admin.post(reverse("campaigns:meeting_create"), _meeting_post(world.county, world.hebin)).status_code == 404
    assert client_for("hebin_secretary").get(reverse("campaigns:meeting_create")).status_code == 404
    assert not Meeting.objects.exists() and not FollowUp.objects.exists()


def test_follow_up_from_a_guidance_visit(world, client_for):
    cp = org_services.contact_point_create(leader=make_person("县长"), org=world.hebin, kind="village",
                                           start=timezone.localdate() - dt.timedelta(days=30))
    visit = org_services.guidance_visit_record(contact_point=cp, date=timezone.localdate() - dt.timedelta(days=2),
                                               notes="指导创先争优", follow_ups="完善台账")
    org_services.guidance_group_create(name="卫生系统指导组", system="卫生系统", org=world.county,
                                       units=[world.health_bureau, world.hebin])
    page = client_for("hebin_secretary").get(reverse("campaigns:guidance"))
    assert page.status_code == 200 and "指导创先争优" in page.content.decode()
    assert [(s["system"], s["groups"], s["units"]) for s in
            client_for("county_admin").get(reverse("campaigns:guidance")).context["systems"]] == [("卫生系统", 1, 2)]
    assert "指导创先争优" not in client_for("qinshan_secretary").get(reverse("campaigns:guidance")).content.decode()
    url = reverse("campaigns:visit_follow_up_add", args=[visit.pk])
    assert client_for("qinshan_secretary").post(url, {"text": "x", "due": _d(5)}).status_code == 404
    assert client_for("hebin_secretary").post(url, {"text": "完善台账", "due": _d(-10)}).status_code == 400
    assert client_for("hebin_secretary").post(url, {"text": "完善台账", "due": _d(20)}).status_code == 302
    # the visit's own 后续事项 became a task when it was recorded; the page adds a second one
    assert FollowUp.objects.filter(visit=visit).count() == 2
    item = FollowUp.objects.latest("id")
    assert item.visit == visit and item.org == world.hebin and item.due == timezone.localdate() + dt.timedelta(days=20)
    assert "完善台账" in client_for("hebin_secretary").get(reverse("campaigns:guidance")).content.decode()


def _round_post(org, **extra):
    now = timezone.localtime()
    data = {"org": org.pk, "name": "先锋群评创", "vote_start": (now + dt.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
            "vote_end": (now + dt.timedelta(days=12)).strftime("%Y-%m-%dT%H:%M"), "vote_weight": "30",
            "publicity_days": "5", "votes_per_ip_per_hour": "100"}
    data.update(_formset("c", [
        {"code": "advanced_org", "name": "先进基层党组织", "nominee_kind": "organisation", "quota": "3"},
        {"code": "innovation", "name": "务实创新先锋", "nominee_kind": "member", "quota": "5"},
        {"code": "dropped", "name": "不设此类", "nominee_kind": "member", "quota": "5", "DELETE": "on"},
        {},
    ], initial=3))
    data.update(extra)
    return data


def test_award_round_created_with_configured_categories_and_weights(world, client_for):
    page = client_for("county_admin").get(reverse("campaigns:award_create"))
    assert page.status_code == 200 and "强村富民先锋" in page.content.decode()  # the 1+9 defaults are offered
    response = client_for("county_admin").post(reverse("campaigns:award_create"), _round_post(world.county))
    award = AwardRound.objects.get()
    assert response.status_code == 302
    assert (award.vote_weight, award.publicity_days, award.votes_per_ip_per_hour) == (30, 5, 100)
    assert list(award.categories.values_list("code", "quota")) == [("advanced_org", 3), ("innovation", 5)]


def test_award_round_bad_window_or_weight_is_a_field_error(world, client_for):
    client = client_for("county_admin")
    data = _round_post(world.county)
    data["vote_end"], data["vote_start"] = data["vote_start"], data["vote_end"]
    response = client.post(reverse("campaigns:award_create"), data)
    assert response.status_code == 400 and 'data-testid="field-error-vote_end"' in response.content.decode()
    response = client.post(reverse("campaigns:award_create"), _round_post(world.county, vote_weight="120"))
    assert response.status_code == 400
    assert client_for("qinshan_secretary").get(reverse("campaigns:award_create")).status_code == 404
    assert client_for("wuyuan_admin").post(reverse("campaigns:award_create"),
                                           _round_post(world.county)).status_code == 404
    assert not AwardRound.objects.exists()


def test_town_nominates_a_member_by_id_number_with_platform_figures(world, client_for):
    award, cats, noms = make_round(world, voting=False, opens_in=dt.timedelta(days=2))
    url = reverse("campaigns:nominate", args=[award.pk])
    client = client_for("wuyuan_admin")
    assert "data-testid=\"nominate\"" in client.get(reverse("campaigns:award_detail", args=[award.pk])).content.decode()
    number = world.members["hebin_b"].person.id_number
    response = client.post(url, {"category": cats["prosperity"].pk, "nominated_by": world.wuyuan.pk,
                                 "nominee_id_number": number, "citation": "带领群众致富"})
    assert response.status_code == 302
    nomination = Nomination.objects.get(category=cats["prosperity"])
    assert nomination.display_name == "李秀英" and isinstance(nomination.evidence, dict)
    unknown = make_id_number("330424", dt.date(1970, 1, 1), 999, "M")
    response = client.post(url, {"category": cats["harmony"].pk, "nominated_by": world.wuyuan.pk,
                                 "nominee_id_number": unknown, "citation": "x"})
    assert response.status_code == 400
    response = client.post(url, {"category": cats["harmony"].pk, "nominated_by": world.wuyuan.pk,
                                 "nominee_id_number": world.members["qinshan_a"].person.id_number, "citation": "x"})
    assert response.status_code == 400  # a member of another town
    assert client.post(url, {"category": cats["harmony"].pk, "nominated_by": world.qinshan.pk,
                             "nominee_id_number": number, "citation": "x"}).status_code == 404
    assert client_for("resident").get(url).status_code == 404
    assert Nomination.objects.count() == 4


@pytest.fixture
def firm(world):
    return org_services.org_create(name="海盐紧固件有限公司", code="330424001E001", kind=OrgKind.ENTERPRISE,
                                   parent=world.wuyuan)


def test_advisor_batch_placement_log_and_dual_brand_evaluation(world, client_for, firm):
    admin = client_for("county_admin")
    response = admin.post(reverse("campaigns:advisor_batch_create"), {
        "org": world.county.pk, "name": "第一批红领", "start": "2026-01-01", "end": "2027-12-31"})
    assert response.status_code == 302
    batch = AdvisorBatch.objects.get()
    number = make_id_number("330424", dt.date(1955, 3, 1), 77, "M")
    response = admin.post(reverse("campaigns:advisor_place"), {
        "batch": batch.pk, "enterprise": firm.pk, "name": "老周", "id_number": number, "former_post": "原镇党委副书记"})
    advisor = Advisor.objects.get()
    assert response.status_code == 302 and advisor.person.name == "老周"
    assert admin.post(reverse("campaigns:advisor_place"), {
        "batch": batch.pk, "enterprise": firm.pk, "name": "老王",
        "id_number": make_id_number("330424", dt.date(1956, 3, 1), 78, "M")}).status_code == 400  # one per firm
    url = reverse("campaigns:advisor_detail", args=[advisor.pk])
    month = timezone.localdate().replace(day=1)
    assert client_for("wuyuan_admin").post(url, {"op": "log", "month": month.strftime("%Y-%m"), "hours": "12",
                                                 "text": "指导支部规范组织生活"}).status_code == 302
    assert client_for("wuyuan_admin").post(url, {"op": "log", "month": month.strftime("%Y-%m"), "hours": "3",
                                                 "text": "再记一次"}).status_code == 400  # one log per month
    assert AdvisorLog.objects.count() == 1
    response = admin.post(url, {"op": "evaluate", "year": "2025", "output_wan": "12000", "output_growth_pct": "9.5",
                                "tax_wan": "300", "employees": "240",
                                "checklist": ["organisation", "activities", "carrier", "records", "position"]})
    assert response.status_code == 302
    evaluation = DualBrandEvaluation.objects.get()
    assert evaluation.development_strong and evaluation.party_strong
    assert client_for("qinshan_secretary").get(url).status_code == 404
    assert client_for("qinshan_secretary").post(url, {"op": "log", "month": "2026-01", "text": "x"}).status_code == 404
    assert client_for("hebin_secretary").post(url, {"op": "evaluate", "year": "2024"}).status_code == 404
    assert client_for("qinshan_secretary").get(reverse("campaigns:advisor_place")).status_code == 404


def test_evaluation_form_says_evaluation_saves_an_empty_checklist_and_refuses_a_future_year(world, client_for):
    today = timezone.localdate()
    firm = org_services.org_create(name="海盐标准件有限公司", code="330424001E002", kind=OrgKind.ENTERPRISE,
                                   parent=world.wuyuan)
    batch = services.advisor_batch_create(org=world.county, name="第一批红领", start=today - dt.timedelta(days=90),
                                          end=today + dt.timedelta(days=600), actor=None)
    advisor = services.advisor_place(batch=batch, person=make_person("老李"), enterprise=firm, actor=None)
    url = reverse("campaigns:advisor_detail", args=[advisor.pk])
    admin = client_for("county_admin")
    page = admin.get(url).content.decode()
    assert "保存考评" in page and "评诺" not in page
    figures = {"op": "evaluate", "output_wan": "900", "output_growth_pct": "1.0", "tax_wan": "20", "employees": "50"}
    future = admin.post(url, {**figures, "year": str(today.year + 1)})
    assert future.status_code == 400 and f"今年是{today.year}年" in future.content.decode()
    assert not DualBrandEvaluation.objects.exists()
    assert admin.post(url, {**figures, "year": str(today.year)}).status_code == 302  # no checklist item ticked
    assert DualBrandEvaluation.objects.get().party_strong is False
    detail = admin.get(url).content.decode()
    assert f"<strong>{today.year}</strong>：" in detail and "未评为双强" in detail
    assert "未评为双强" in admin.get(reverse("campaigns:advisor_list")).content.decode()


def test_venture_created_with_figures_and_a_grant_on_the_ledger(world, client_for):
    services.venture_fund_allocate(org=world.county, amount_fen=1_000_000, key="test:fund", actor=None)
    client = client_for("qinshan_secretary")
    response = client.post(reverse("campaigns:venture_create"), {
        "org": world.qinshan_village.pk, "name": "杨柳村芦荟专业合作社", "kind": "cooperative", "founded": "2006-03-01"})
    venture = Venture.objects.get()
    assert response.status_code == 302
    url = reverse("campaigns:venture_record", args=[venture.pk])
    assert client.post(url, {"op": "figure", "date": "2006-03-01", "members": "3", "area_mu": "8",
                             "households": "0", "income_per_household_yuan": "0"}).status_code == 302
    assert client.post(url, {"op": "figure", "date": "2005-01-01", "members": "3", "area_mu": "8",
                             "households": "0"}).status_code == 400  # before the founding
    assert VentureFigure.objects.count() == 1
    grant = {"op": "support", "kind": "grant", "date": _d(-1), "title": "扶助资金", "amount_yuan": "2000.50",
             "fund_org": world.county.pk, "key": "k1"}
    assert client.post(url, grant).status_code == 404  # a secretary does not pay from the county's fund
    admin = client_for("county_admin")
    assert admin.post(url, grant).status_code == 302
    assert admin.post(url, grant).status_code == 400  # the same form posted twice: the grant is posted once
    support = VentureSupport.objects.get()
    assert support.amount_fen == 200_050 and support.ledger_transaction is not None
    assert admin.post(url, dict(grant, key="k2", amount_yuan="99999")).status_code == 400  # the fund is too small
    assert client.post(url, {"op": "support", "kind": "training", "date": _d(-1), "title": "种植培训"}).status_code == 302
    assert VentureSupport.objects.count() == 2
    assert client_for("hebin_secretary").post(url, {"op": "figure"}).status_code == 404
    assert client_for("hebin_secretary").post(reverse("campaigns:venture_create"), {
        "org": world.qinshan_village.pk, "name": "x", "kind": "cooperative", "founded": "2020-01-01"}).status_code == 404


def test_drive_created_with_targets_and_one_added(world, client_for):
    admin = client_for("county_admin")
    data = {"org": world.county.pk, "name": "百日双提升", "start": _d(-5), "end": _d(95)}
    data.update(_formset("t", [{"org": world.wuyuan.pk, "metric": "union", "target": "10"},
                               {"org": world.qinshan.pk, "metric": "youth_league", "target": "4"}, {}]))
    assert admin.post(reverse("campaigns:drive_create"), data).status_code == 302
    drive = Drive.objects.get()
    assert drive.targets.count() == 2
    url = reverse("campaigns:drive_target_add", args=[drive.pk])
    assert admin.post(url, {"org": world.wuyuan.pk, "metric": "women", "target": "3"}).status_code == 302
    assert admin.post(url, {"org": world.wuyuan.pk, "metric": "women", "target": "0"}).status_code == 400
    assert client_for("wuyuan_admin").post(url, {"org": world.wuyuan.pk, "metric": "party",
                                                 "target": "3"}).status_code == 404
    assert DriveTarget.objects.count() == 3
    assert "百日双提升" in client_for("wuyuan_admin").get(reverse("campaigns:drive_list")).content.decode()
    assert "百日双提升" not in client_for("resident").get(reverse("campaigns:drive_list")).content.decode()
    bad = dict(data, end=_d(-10))
    assert admin.post(reverse("campaigns:drive_create"), bad).status_code == 400 and Drive.objects.count() == 1


@pytest.mark.parametrize("name", ["campaign_create", "meeting_create", "award_create", "advisor_batch_create",
                                  "advisor_place", "venture_create", "drive_create"])
def test_creation_pages_answer_404_to_those_who_may_not_create(world, client_for, name):
    assert client_for("resident").get(reverse(f"campaigns:{name}")).status_code == 404
    # placing an advisor needs a batch first
    expected = 404 if name == "advisor_place" else 200
    assert client_for("county_admin").get(reverse(f"campaigns:{name}")).status_code == expected


def test_grant_amounts_are_converted_to_fen_exactly():
    from xianfeng.campaigns.views.ventures import yuan_to_fen

    assert yuan_to_fen(Decimal("2000.50")) == 200_050 and yuan_to_fen(None) == 0 and yuan_to_fen(Decimal("0.005")) == 1
