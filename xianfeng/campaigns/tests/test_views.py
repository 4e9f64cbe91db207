import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from xianfeng.campaigns import services
from xianfeng.campaigns.models import Bulletin, CampaignPlan, FollowUp, Objection, Vote
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import OrgKind

from .factories import make_campaign, make_round

pytestmark = pytest.mark.django_db


def test_campaign_page_shows_the_matrix_with_laggards(world, client_for):
    campaign = make_campaign(world, plan_due=timezone.localdate() - dt.timedelta(days=1))
    response = client_for("county_admin").get(reverse("campaigns:campaign_detail", args=[campaign.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "河滨社区党支部" in html and "杨柳村党支部" in html and 'data-laggard="1"' in html
    response = client_for("county_admin").get(reverse("campaigns:campaign_detail", args=[campaign.pk]) + "?laggards=1")
    assert response.context["page"].paginator.count == response.context["n_laggards"]


def test_matrix_rows_are_limited_to_the_users_scope(world, client_for):
    campaign = make_campaign(world)
    html = client_for("hebin_secretary").get(reverse("campaigns:campaign_detail", args=[campaign.pk])).content.decode()
    assert "河滨社区党支部" in html and "杨柳村" not in html


def test_outsider_gets_404_on_a_campaign_of_another_subtree(world, client_for):
    campaign = services.campaign_create(name="武原镇活动", org=world.wuyuan, start=dt.date(2026, 1, 1),
                                        implement_from=dt.date(2026, 2, 1), evaluate_from=dt.date(2026, 3, 1),
                                        end=dt.date(2026, 12, 1), actor=None)
    assert client_for("qinshan_secretary").get(reverse("campaigns:campaign_detail", args=[campaign.pk])).status_code == 404
    assert client_for("hebin_secretary").get(reverse("campaigns:campaign_detail", args=[campaign.pk])).status_code == 200


def test_secretary_submits_and_admin_returns_a_plan_through_the_pages(world, client_for):
    campaign = make_campaign(world)
    url = reverse("campaigns:plan", args=[campaign.pk, world.hebin_branch.pk])
    secretary = client_for("hebin_secretary")
    bad = SimpleUploadedFile("plan.pdf", b"GIF89a not a document")
    response = secretary.post(url, {"op": "submit", "title": "方案", "text": "", "file": bad})
    assert response.status_code == 400 and "文件内容不是有效的文档" in response.content.decode()
    assert not CampaignPlan.objects.exists()
    response = secretary.post(url, {"op": "submit", "title": "方案", "text": "一、目标"})
    assert response.status_code == 302
    assert CampaignPlan.objects.get().status == "submitted"
    assert secretary.post(url, {"op": "accept", "note": ""}).status_code == 404  # a secretary does not review
    admin = client_for("wuyuan_admin")
    assert admin.post(url, {"op": "return", "note": ""}).status_code == 400
    assert admin.post(url, {"op": "return", "note": "请细化"}).status_code == 302
    assert CampaignPlan.objects.get().status == "returned"
    assert client_for("qinshan_secretary").get(url).status_code == 404


def test_follow_up_closing_is_scoped(world, client_for):
    meeting = services.meeting_record(org=world.county, kind="leading_group", date=timezone.localdate(), title="会议",
                                      follow_ups=[{"org": world.hebin, "text": "整改", "due": timezone.localdate()}], actor=None)
    item = meeting.follow_ups.get()
    url = reverse("campaigns:follow_up_close", args=[item.pk])
    assert client_for("qinshan_secretary").post(url, {"done_on": "2026-01-01", "note": "x"}).status_code == 404
    client_for("hebin_secretary").post(url, {"done_on": timezone.localdate().isoformat(), "note": "已整改"})
    assert FollowUp.objects.get().done_on == timezone.localdate()
    html = client_for("hebin_secretary").get(reverse("campaigns:follow_up_list")).content.decode()
    assert "已整改" in html
    assert client_for("qinshan_secretary").get(reverse("campaigns:meeting_detail", args=[meeting.pk])).status_code == 404


def test_contact_map_places_units_at_their_own_or_an_ancestors_location(world, client_for):
    from xianfeng.core.testing import make_person

    org_services.org_update(org=world.wuyuan, latitude=30.52, longitude=120.94)
    start = timezone.localdate() - dt.timedelta(days=10)
    org_services.contact_point_create(leader=make_person("县委书记"), org=world.hebin, kind="village", start=start)
    org_services.contact_point_create(leader=make_person("县长"), org=world.qinshan_village, kind="village", start=start)
    response = client_for("county_admin").get(reverse("campaigns:contact_map"))
    assert response.status_code == 200
    assert [m["value"] for m in response.context["markers"]] == [[120.94, 30.52]]
    assert '"value": [120.94, 30.52]' in response.content.decode()
    assert [p.org.name for p in response.context["unplaced"]] == ["杨柳村"]
    response = client_for("hebin_secretary").get(reverse("campaigns:contact_map"))
    assert [p.org.name for p in response.context["points"]] == ["河滨社区"]


def test_award_admin_page_hides_votes_until_close(world, client_for):
    award, cats, noms = make_round(world)
    services.vote_cast(nomination=noms["a"], user=world.resident)
    response = client_for("county_admin").get(reverse("campaigns:award_detail", args=[award.pk]))
    assert response.status_code == 200 and response.context["results"] is None
    # a county round is seen by the units taking part in it; a town's round is not seen by another town's people
    assert client_for("qinshan_secretary").get(reverse("campaigns:award_detail", args=[award.pk])).status_code == 200
    now = timezone.now()
    town_round = services.award_round_create(org=world.wuyuan, name="武原镇评创", vote_start=now,
                                             vote_end=now + dt.timedelta(days=1), actor=None)
    url = reverse("campaigns:award_detail", args=[town_round.pk])
    assert client_for("qinshan_secretary").get(url).status_code == 404
    assert client_for("hebin_secretary").get(url).status_code == 200
    assert client_for("qinshan_secretary").get(reverse("campaigns:nominate", args=[town_round.pk])).status_code == 404


def test_committee_scores_through_the_page(world, client_for):
    award, cats, noms = make_round(world)
    url = reverse("campaigns:award_detail", args=[award.pk])
    client_for("county_admin").post(url, {"op": "score", "nomination": noms["a"].pk, "score": "88"})
    assert noms["a"].scores.get().score == 88
    client_for("county_admin").post(url, {"op": "score", "nomination": noms["a"].pk, "score": "101"})
    assert noms["a"].scores.count() == 1
    assert client_for("hebin_secretary").post(url, {"op": "publicity"}).status_code == 404


def test_bulletin_written_published_and_shown_on_the_portal(world, client_for):
    client = client_for("hebin_secretary")
    response = client.post(reverse("campaigns:bulletin_list"), {"org": world.hebin.pk, "kind": "news",
                                                                "title": "河滨社区开展志愿服务", "body": "正文",
                                                                "publish": "on"})
    assert response.status_code == 302
    bulletin = Bulletin.objects.get()
    assert bulletin.published_at is not None
    public = Client()
    assert "河滨社区开展志愿服务" in public.get(reverse("portal:index")).content.decode()
    assert public.get(reverse("portal:bulletin", args=[bulletin.pk])).status_code == 200
    assert "河滨社区开展志愿服务" in public.get(reverse("portal:feed_rss")).content.decode()
    assert "<feed" in public.get(reverse("portal:feed_atom")).content.decode()
    client.post(reverse("campaigns:bulletin_publish", args=[bulletin.pk]), {"op": "withdraw"})
    assert public.get(reverse("portal:bulletin", args=[bulletin.pk])).status_code == 404
    assert client_for("qinshan_secretary").post(reverse("campaigns:bulletin_publish", args=[bulletin.pk])).status_code == 404
    response = client_for("qinshan_secretary").post(reverse("campaigns:bulletin_list"), {
        "org": world.hebin.pk, "kind": "news", "title": "x", "body": "y"})
    assert response.status_code == 404


def test_bulletin_with_a_bad_image_is_a_field_error(world, client_for):
    response = client_for("hebin_secretary").post(reverse("campaigns:bulletin_list"), {
        "org": world.hebin.pk, "kind": "news", "title": "t", "body": "b",
        "image": SimpleUploadedFile("x.png", b"not a png")})
    assert response.status_code == 400 and "文件不是有效的图片" in response.content.decode()
    assert not Bulletin.objects.exists()


def test_venture_and_advisor_pages(world, client_for):
    venture = services.venture_create(org=world.qinshan_village, name="秦万芦荟专业合作社", kind="cooperative",
                                      founded=dt.date(2006, 3, 1), actor=None)
    services.venture_figure_record(venture=venture, date=dt.date(2010, 6, 30), members=12, area_mu=2530,
                                   households=250, actor=None)
    url = reverse("campaigns:venture_detail", args=[venture.pk])
    html = client_for("qinshan_secretary").get(url).content.decode()
    assert "2530" in html and "echarts" in html
    assert client_for("hebin_secretary").get(url).status_code == 404
    firm = org_services.org_create(name="海盐紧固件有限公司", code="330424001E001", kind=OrgKind.ENTERPRISE,
                                   parent=world.wuyuan)
    from xianfeng.core.testing import make_person

    batch = services.advisor_batch_create(org=world.county, name="第一批", start=dt.date(2026, 1, 1),
                                          end=dt.date(2027, 12, 31), actor=None)
    services.advisor_place(batch=batch, person=make_person("老干部"), enterprise=firm, actor=None)
    assert "老干部" in client_for("wuyuan_admin").get(reverse("campaigns:advisor_list")).content.decode()
    assert "老干部" not in client_for("qinshan_secretary").get(reverse("campaigns:advisor_list")).content.decode()


def test_drive_progress_reported_through_the_page(world, client_for):
    today = timezone.localdate()
    drive = services.drive_create(org=world.county, name="百日双提升", start=today - dt.timedelta(days=10),
                                  end=today + dt.timedelta(days=90), targets=[(world.wuyuan, "union", 10)], actor=None)
    target = drive.targets.get()
    url = reverse("campaigns:drive_detail", args=[drive.pk])
    assert client_for("wuyuan_admin").post(url, {"target": target.pk, "date": today.isoformat(),
                                                 "achieved": "4"}).status_code == 302
    assert client_for("wuyuan_admin").post(url, {"target": target.pk, "date": "2000-01-01",
                                                 "achieved": "4"}).status_code == 400
    assert client_for("qinshan_secretary").post(url, {"target": target.pk, "date": today.isoformat(),
                                                      "achieved": "9"}).status_code == 404
    assert client_for("qinshan_secretary").get(url).status_code == 404
    assert "4/10" in client_for("county_admin").get(url).content.decode()


def test_drive_page_shows_every_report_and_a_correction_needs_a_reason(world, client_for):
    today = timezone.localdate()
    drive = services.drive_create(org=world.county, name="百日双提升", start=today - dt.timedelta(days=10),
                                  end=today + dt.timedelta(days=90), targets=[(world.wuyuan, "union", 10)], actor=None)
    target = drive.targets.get()
    url = reverse("campaigns:drive_detail", args=[drive.pk])
    admin = client_for("wuyuan_admin")
    assert admin.post(url, {"target": target.pk, "date": today.isoformat(), "achieved": "7"}).status_code == 302
    refused = admin.post(url, {"target": target.pk, "date": today.isoformat(), "achieved": "3"})
    assert refused.status_code == 400 and "更正原因" in refused.content.decode()
    assert admin.post(url, {"target": target.pk, "date": today.isoformat(), "achieved": "3",
                            "reason": "七家中四家尚未挂牌"}).status_code == 302
    page = client_for("county_admin").get(url).content.decode()
    assert "3/10" in page and "7/10" not in page
    assert 'data-testid="drive-history"' in page and "七家中四家尚未挂牌" in page
    assert "<td>7</td>" in page.replace("\n", "")


def test_index_pages_answer(world, client_for):
    client = client_for("county_admin")
    for name in ("index", "meeting_list", "follow_up_list", "award_list", "advisor_list", "venture_list",
                 "bulletin_list", "contact_map"):
        assert client.get(reverse(f"campaigns:{name}")).status_code == 200, name
    assert Client().get(reverse("campaigns:index")).status_code == 302


# ---- the public side of award rounds ------------------------------------------------------------------------------


def test_resident_votes_on_the_portal_and_a_second_vote_is_409(world, client_for):
    award, cats, noms = make_round(world)
    resident = client_for("resident")
    page = resident.get(reverse("portal:award", args=[award.pk]))
    assert page.status_code == 200 and page.context["results"] is None
    assert "票" not in "".join(t for t in page.content.decode().split('data-testid="votes"')[1:])
    assert resident.post(reverse("portal:vote", args=[noms["a"].pk])).status_code == 302
    response = resident.post(reverse("portal:vote", args=[noms["b"].pk]))
    assert response.status_code == 409 and "务实创新先锋" in response.context["refusal"]
    assert Vote.objects.count() == 1


def test_vote_outside_the_window_is_403_with_the_window(world, client_for):
    award, cats, noms = make_round(world, opens_in=dt.timedelta(hours=3))
    response = client_for("resident").post(reverse("portal:vote", args=[noms["a"].pk]))
    assert response.status_code == 403
    assert services.window_text(award) in response.content.decode()


def test_anonymous_voter_is_sent_to_sign_in_and_a_secretary_is_refused(world, client_for):
    award, cats, noms = make_round(world)
    response = Client().post(reverse("portal:vote", args=[noms["a"].pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client_for("hebin_secretary").post(reverse("portal:vote", args=[noms["a"].pk])).status_code == 403


def test_round_still_nominating_is_not_public(world):
    award, cats, noms = make_round(world, voting=False, opens_in=dt.timedelta(days=1))
    assert Client().get(reverse("portal:award", args=[award.pk])).status_code == 404
    assert Client().post(reverse("portal:vote", args=[noms["a"].pk])).status_code == 404


def test_results_appear_after_close_and_objection_needs_contact(world, client_for):
    award, cats, noms = make_round(world)
    services.vote_cast(nomination=noms["a"], user=world.resident)
    award.vote_start = timezone.now() - dt.timedelta(days=4)
    award.vote_end = timezone.now() - dt.timedelta(minutes=1)
    award.save()
    page = Client().get(reverse("portal:award", args=[award.pk]))
    assert page.context["results"][cats["innovation"].pk][0].votes == 1
    services.award_round_start_publicity(award=award, actor=None)
    url = reverse("portal:objection", args=[noms["a"].pk])
    response = Client().post(url, {"name": "王某", "contact": "", "text": "事迹不实"})
    assert response.status_code == 400 and 'data-testid="field-error-contact"' in response.content.decode()
    assert not Objection.objects.exists()
    assert Client().post(url, {"name": "王某", "contact": "13900001111", "text": "事迹不实"}).status_code == 302
    assert Objection.objects.get().contact == "13900001111"


def test_portal_front_page_links_every_resolvable_board(world, monkeypatch):
    from xianfeng.portal import views as portal_views

    monkeypatch.setattr(portal_views, "PUBLIC_BOARDS", [
        ("portal:bulletin_list", None, "新闻", "newspaper"),
        ("campaigns:no_such_board", None, "不存在", "x"),
        ("portal:award", "county", "按组织", "x"),
    ])
    html = Client().get(reverse("portal:index")).content.decode()
    assert reverse("portal:bulletin_list") in html and "不存在" not in html
    assert reverse("portal:award", args=[world.county.pk]) in html


def test_portal_front_page_links_the_other_modules_public_boards(world):
    html = Client().get(reverse("portal:index")).content.decode()
    for name, args in (("pledges:board", [world.county.pk]), ("pledges:resident_signup", []), ("grids:report", [])):
        try:
            url = reverse(name, args=args)
        except NoReverseMatch:
            continue  # that module's board is not built: the front page leaves it out
        assert f'href="{url}"' in html, name


def test_list_pages_use_a_bounded_number_of_queries(world, client_for, django_assert_max_num_queries):
    campaign = make_campaign(world)
    for org in (world.hebin_branch, world.qinshan_branch):
        services.plan_submit(plan=services.plan_save(campaign=campaign, org=org, title="方案", text="x", actor=None), actor=None)
    client = client_for("county_admin")
    with django_assert_max_num_queries(15):
        assert client.get(reverse("campaigns:campaign_detail", args=[campaign.pk])).status_code == 200
    for i in range(5):
        services.bulletin_create(org=world.county, title=f"新闻{i}", body="正文", publish=True, actor=None)
    with django_assert_max_num_queries(10):
        assert Client().get(reverse("portal:index")).status_code == 200
