import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from xianfeng.campaigns import services
from xianfeng.campaigns.models import (
    PARTY_CHECKLIST,
    CampaignPlan,
    Deliverable,
    DriveProgress,
    FollowUp,
    Nomination,
    PlanEvent,
    VentureSupport,
    Vote,
)
from xianfeng.core.models import AppendOnlyError, AuditEvent
from xianfeng.core.policy import NotFound
from xianfeng.core.rates import org_rates
from xianfeng.core.testing import make_person, make_user
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import OrgKind, Role

from .factories import make_campaign, make_round

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"


# ---- plans and the progress matrix ----------------------------------------------------------------------------------


def test_plan_goes_draft_submitted_returned_submitted_accepted(world):
    campaign = make_campaign(world)
    plan = services.plan_save(campaign=campaign, org=world.hebin_branch, title="河滨社区党支部活动方案", text="一、目标", actor=None)
    assert plan.status == CampaignPlan.Status.DRAFT
    plan = services.plan_submit(plan=plan, actor=world.hebin_secretary)
    assert plan.status == "submitted" and plan.submitted_at is not None
    with pytest.raises(ValidationError):
        services.plan_save(campaign=campaign, org=world.hebin_branch, title="改", text="x", actor=None)
    with pytest.raises(ValidationError) as exc:
        services.plan_return(plan=plan, note="", actor=world.wuyuan_admin)
    assert "note" in exc.value.message_dict
    plan = services.plan_return(plan=plan, note="目标不具体，请细化", actor=world.wuyuan_admin)
    assert plan.status == "returned" and plan.review_note == "目标不具体，请细化"
    plan = services.plan_save(campaign=campaign, org=world.hebin_branch, title="河滨社区党支部活动方案（修改稿）",
                              text="一、目标：服务群众200人次", actor=None)
    plan = services.plan_submit(plan=plan, actor=world.hebin_secretary)
    plan = services.plan_accept(plan=plan, actor=world.wuyuan_admin)
    assert plan.status == "accepted"
    assert [e.status for e in PlanEvent.objects.filter(plan=plan)] == [
        "draft", "submitted", "returned", "submitted", "accepted"]
    with pytest.raises(ValidationError):
        services.plan_accept(plan=plan, actor=None)
    assert AuditEvent.objects.filter(model="campaigns.CampaignPlan", object_id=str(plan.pk)).count() == 6


def test_plan_for_an_organisation_outside_the_deliverable_kinds_is_refused(world):
    campaign = make_campaign(world)
    with pytest.raises(ValidationError) as exc:
        services.plan_save(campaign=campaign, org=world.hebin, title="社区方案", text="x", actor=None)
    assert "org" in exc.value.message_dict


def test_empty_plan_cannot_be_submitted(world):
    plan = services.plan_save(campaign=make_campaign(world), org=world.hebin_branch, title="方案", actor=None)
    with pytest.raises(ValidationError) as exc:
        services.plan_submit(plan=plan, actor=None)
    assert "text" in exc.value.message_dict
    assert CampaignPlan.objects.get(pk=plan.pk).status == "draft"


def test_plan_file_must_be_a_document(world):
    campaign = make_campaign(world)
    fake = SimpleUploadedFile("方案.pdf", b"MZ\x90\x00 an executable", content_type="application/pdf")
    with pytest.raises(ValidationError) as exc:
        services.plan_save(campaign=campaign, org=world.hebin_branch, title="方案", file=fake, actor=None)
    assert "file" in exc.value.message_dict
    image = SimpleUploadedFile("方案.png", b"\x89PNG\r\n\x1a\n", content_type="image/png")
    with pytest.raises(ValidationError):
        services.plan_save(campaign=campaign, org=world.hebin_branch, title="方案", file=image, actor=None)
    assert not CampaignPlan.objects.exists()
    good = SimpleUploadedFile("方案.pdf", PDF, content_type="application/pdf")
    plan = services.plan_save(campaign=campaign, org=world.hebin_branch, title="方案", file=good, actor=None)
    assert plan.file.name.endswith(".pdf")
    assert services.plan_submit(plan=plan, actor=None).status == "submitted"


def test_progress_matrix_marks_missing_overdue_and_laggards(world):
    today = timezone.localdate()
    campaign = make_campaign(world, plan_due=today - dt.timedelta(days=5))
    plan = services.plan_save(campaign=campaign, org=world.hebin_branch, title="方案", text="x", actor=None)
    services.plan_submit(plan=plan, actor=None)
    lessons = campaign.deliverables.get(code="lessons")
    services.deliverable_record(deliverable=lessons, org=world.hebin, done_on=today - dt.timedelta(days=3), actor=None)
    matrix = services.progress_matrix(campaign)
    rows = {r.name: r for r in matrix.rows}
    codes = [d.code for d in matrix.deliverables]
    assert codes == ["plan", "pledges", "lessons"]
    assert rows["河滨社区党支部"].cells == ["submitted", "missing", "na"]
    assert not rows["河滨社区党支部"].laggard
    assert rows["杨柳村党支部"].cells == ["overdue", "missing", "na"]
    assert rows["杨柳村党支部"].laggard
    assert rows["河滨社区"].cells == ["na", "na", "done"] and rows["河滨社区"].done == 1
    assert rows["杨柳村"].cells == ["na", "na", "overdue"]
    assert {r.name for r in matrix.laggards} == {"杨柳村党支部", "杨柳村"}
    assert matrix.column_totals() == [(0, 2), (0, 2), (1, 2)]
    part = services.progress_matrix(campaign, within=world.wuyuan)
    assert {r.name for r in part.rows} == {"河滨社区", "河滨社区党支部"}


def test_deliverable_record_refuses_the_plan_a_duplicate_and_a_wrong_kind(world):
    campaign = make_campaign(world)
    lessons = campaign.deliverables.get(code="lessons")
    with pytest.raises(ValidationError):
        services.deliverable_record(deliverable=campaign.deliverables.get(code="plan"), org=world.hebin_branch,
                                    done_on=timezone.localdate(), actor=None)
    with pytest.raises(ValidationError):
        services.deliverable_record(deliverable=lessons, org=world.hebin_branch, done_on=timezone.localdate(), actor=None)
    services.deliverable_record(deliverable=lessons, org=world.hebin, done_on=timezone.localdate(), actor=None)
    with pytest.raises(ValidationError):
        services.deliverable_record(deliverable=lessons, org=world.hebin, done_on=timezone.localdate(), actor=None)


def test_campaign_phases_advance_in_order_until_closed(world):
    campaign = make_campaign(world)
    for expected in ("implement", "evaluate", "closed"):
        campaign = services.campaign_advance(campaign=campaign, actor=None)
        assert campaign.phase == expected
    with pytest.raises(ValidationError):
        services.campaign_advance(campaign=campaign, actor=None)


def test_plans_submitted_rate_counts_by_subtree(world):
    campaign = make_campaign(world)
    services.plan_submit(plan=services.plan_save(campaign=campaign, org=world.hebin_branch, title="方案", text="x", actor=None), actor=None)
    services.plan_save(campaign=campaign, org=world.qinshan_branch, title="方案", text="x", actor=None)  # a draft: not submitted
    rate = org_rates()["campaigns.plans_submitted"]
    result = rate.compute([world.county, world.wuyuan, world.qinshan, world.health_bureau])
    assert result[world.county.pk] == (1, 2)
    assert result[world.wuyuan.pk] == (1, 1)
    assert result[world.qinshan.pk] == (0, 1)
    assert world.health_bureau.pk not in result
    assert rate.compute([world.county], end=campaign.start - dt.timedelta(days=1)) == {}


# ---- meetings and follow-ups --------------------------------------------------------------------------------------


def test_meeting_with_follow_ups_and_closing_one(world):
    today = timezone.localdate()
    meeting = services.meeting_record(
        org=world.county, kind="leading_group", date=today - dt.timedelta(days=3), title="第一次领导小组会议",
        follow_ups=[{"org": world.wuyuan, "text": "报送活动方案", "due": today + dt.timedelta(days=7)}], actor=None)
    follow_up = meeting.follow_ups.get()
    with pytest.raises(ValidationError):
        services.follow_up_close(follow_up=follow_up, done_on=today, note="", actor=None)
    services.follow_up_close(follow_up=follow_up, done_on=today, note="已报送", actor=world.wuyuan_admin)
    with pytest.raises(ValidationError):
        services.follow_up_close(follow_up=follow_up, done_on=today, note="again", actor=None)
    assert FollowUp.objects.get().done_note == "已报送"


def test_follow_up_from_a_guidance_visit(world):
    cp = org_services.contact_point_create(leader=make_person("陈书记"), org=world.hebin, kind="village",
                                           start=timezone.localdate() - dt.timedelta(days=30))
    visit = org_services.guidance_visit_record(contact_point=cp, date=timezone.localdate(), notes="座谈")
    item = services.follow_up_create(visit=visit, org=world.hebin, text="整改台账", due=timezone.localdate(), actor=None)
    assert item.visit == visit
    with pytest.raises(ValidationError):
        services.follow_up_create(org=world.hebin, text="无来源", due=timezone.localdate(), actor=None)


def test_a_visits_follow_ups_become_tasks_one_per_line(world, client_for):
    cp = org_services.contact_point_create(leader=make_person("陈书记"), org=world.hebin, kind="village",
                                           start=timezone.localdate() - dt.timedelta(days=30))
    day = timezone.localdate() - dt.timedelta(days=2)
    visit = org_services.guidance_visit_record(contact_point=cp, date=day, notes="座谈",
                                               follow_ups="补齐党课台账\n\n  增设公示栏  ", actor=world.hebin_secretary)
    tasks = list(FollowUp.objects.filter(visit=visit).order_by("id"))
    assert [(t.text, t.org, t.due) for t in tasks] == [
        ("补齐党课台账", world.hebin, day + dt.timedelta(days=30)), ("增设公示栏", world.hebin, day + dt.timedelta(days=30))]
    # tracked to done like a meeting's: listed, closed with what was done
    page = client_for("hebin_secretary").get(reverse("campaigns:follow_up_list")).content.decode()
    assert "补齐党课台账" in page and "增设公示栏" in page
    services.follow_up_close(follow_up=tasks[0], done_on=timezone.localdate(), note="已补齐", actor=world.hebin_secretary)
    assert FollowUp.objects.get(pk=tasks[0].pk).done_note == "已补齐"
    # a visit without follow-ups makes none
    org_services.guidance_visit_record(contact_point=cp, date=day, notes="回访", actor=world.hebin_secretary)
    assert FollowUp.objects.count() == 2


def test_meeting_in_the_future_is_refused(world):
    with pytest.raises(ValidationError):
        services.meeting_record(org=world.county, kind="leading_group",
                                date=timezone.localdate() + dt.timedelta(days=1), title="x", actor=None)


# ---- awards -------------------------------------------------------------------------------------------------------


def test_default_round_has_one_plus_nine_categories(world):
    award, cats, noms = make_round(world)
    assert len(cats) == 10 and cats["advanced_org"].nominee_kind == "organisation"
    assert {"务实创新先锋", "强村富民先锋", "文明和谐先锋"} <= {c.name for c in cats.values()}


def test_nomination_checks_the_nominee_and_the_deadline(world):
    award, cats, noms = make_round(world, opens_in=dt.timedelta(days=2), voting=False)
    with pytest.raises(ValidationError):  # a member in an organisation category
        services.nomination_create(category=cats["advanced_org"], nominated_by=world.county,
                                   nominee_member=world.members["hebin_b"], citation="x", actor=None)
    with pytest.raises(ValidationError):  # outside the nominating organisation's subtree
        services.nomination_create(category=cats["harmony"], nominated_by=world.wuyuan,
                                   nominee_member=world.members["qinshan_a"], citation="x", actor=None)
    with pytest.raises(ValidationError):  # twice
        services.nomination_create(category=cats["innovation"], nominated_by=world.county,
                                   nominee_member=world.members["hebin_a"], citation="x", actor=None)
    with pytest.raises(ValidationError):  # after the vote opens
        services.nomination_create(category=cats["harmony"], nominated_by=world.county,
                                   nominee_member=world.members["hebin_b"], citation="x",
                                   now=award.vote_start + dt.timedelta(minutes=1), actor=None)


def test_nomination_evidence_comes_from_the_registered_rates(world):
    campaign = make_campaign(world)
    services.plan_submit(plan=services.plan_save(campaign=campaign, org=world.hebin_branch, title="方案", text="x", actor=None), actor=None)
    award, cats, noms = make_round(world, voting=False, opens_in=dt.timedelta(days=1))
    assert noms["org"].evidence["campaigns.plans_submitted"] == {"label": "活动方案报送率", "x": 1, "n": 1}


def test_resident_votes_once_per_category(world):
    award, cats, noms = make_round(world)
    vote = services.vote_cast(nomination=noms["a"], user=world.resident, ip="10.0.0.1")
    assert vote.category == cats["innovation"]
    with pytest.raises(services.AlreadyVoted):
        services.vote_cast(nomination=noms["b"], user=world.resident, ip="10.0.0.1")
    services.vote_cast(nomination=noms["org"], user=world.resident, ip="10.0.0.1")  # another category is fine
    assert Vote.objects.count() == 2


def test_second_account_of_the_same_person_cannot_vote_again(world):
    """A person's login moved to a new account (a re-registration) still has the vote the old one cast."""
    award, cats, noms = make_round(world)
    person = make_person("赵居民")
    first = make_user("resident_one", Role.Kind.RESIDENT, world.hebin, person=person)
    services.vote_cast(nomination=noms["a"], user=first)
    first.person = None
    first.save()
    second = make_user("resident_two", Role.Kind.RESIDENT, world.hebin, person=person)
    with pytest.raises(services.AlreadyVoted):
        services.vote_cast(nomination=noms["b"], user=second)
    assert services.voted_categories(award, second) == {cats["innovation"].pk: noms["a"].pk}


def test_vote_outside_the_window_is_refused_with_the_window(world):
    award, cats, noms = make_round(world, opens_in=dt.timedelta(hours=2))
    with pytest.raises(services.VoteRefused) as exc:
        services.vote_cast(nomination=noms["a"], user=world.resident)
    assert "评议时间为" in exc.value.message
    with pytest.raises(services.VoteRefused):
        services.vote_cast(nomination=noms["a"], user=world.resident, now=award.vote_end)
    assert not Vote.objects.exists()


def test_only_registered_residents_vote(world):
    award, cats, noms = make_round(world)
    with pytest.raises(services.VoteRefused):
        services.vote_cast(nomination=noms["a"], user=world.hebin_secretary)


def test_votes_from_one_address_are_rate_limited(world):
    award, cats, noms = make_round(world)
    award.votes_per_ip_per_hour = 1
    award.save()
    services.vote_cast(nomination=noms["a"], user=world.resident, ip="10.0.0.9")
    other = make_user("resident_x", Role.Kind.RESIDENT, world.hebin)
    with pytest.raises(services.RateLimited):
        services.vote_cast(nomination=noms["a"], user=other, ip="10.0.0.9")
    services.vote_cast(nomination=noms["a"], user=other, ip="10.0.0.10")


def test_results_are_hidden_until_the_window_closes(world):
    award, cats, noms = make_round(world)
    services.vote_cast(nomination=noms["a"], user=world.resident)
    with pytest.raises(services.ResultsHidden):
        services.round_results(award)
    results = services.round_results(award, now=award.vote_end)
    rows = results[cats["innovation"].pk]
    assert [(r.nomination.pk, r.votes) for r in rows] == [(noms["a"].pk, 1), (noms["b"].pk, 0)]


def test_final_score_weighs_votes_and_committee(world):
    award, cats, noms = make_round(world)
    services.vote_cast(nomination=noms["a"], user=world.resident)
    services.committee_score(nomination=noms["a"], actor=world.county_admin, score=60)
    services.committee_score(nomination=noms["b"], actor=world.county_admin, score=100)
    with pytest.raises(ValidationError):
        services.committee_score(nomination=noms["b"], actor=world.county_admin, score=90)
    with pytest.raises(ValidationError):
        services.committee_score(nomination=noms["b"], actor=world.inspector, score=101)
    rows = services.round_results(award, now=award.vote_end)[cats["innovation"].pk]
    # a: 0.4 × 100 + 0.6 × 60 = 76; b: 0.4 × 0 + 0.6 × 100 = 60
    assert [(r.nomination.pk, r.final) for r in rows] == [(noms["a"].pk, Decimal("76.00")), (noms["b"].pk, Decimal("60.00"))]


def test_publicity_objections_and_publishing(world):
    award, cats, noms = make_round(world)
    cats["innovation"].quota = 1
    cats["innovation"].save()
    services.vote_cast(nomination=noms["a"], user=world.resident)
    with pytest.raises(ValidationError):
        services.award_round_start_publicity(award=award, actor=None)  # the window is still open
    end = award.vote_end
    award = services.award_round_start_publicity(award=award, now=end, actor=None)
    noms = {k: Nomination.objects.get(pk=v.pk) for k, v in noms.items()}
    assert noms["a"].status == "awarded" and noms["b"].status == "not_awarded"
    with pytest.raises(ValidationError) as exc:
        services.objection_lodge(nomination=noms["a"], name="匿名", contact="", text="事迹不实", now=end)
    assert "contact" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.objection_lodge(nomination=noms["b"], name="王", contact="13900001111", text="x", now=end)
    objection = services.objection_lodge(nomination=noms["a"], name="王某", contact="139 0000 1111", text="事迹不实",
                                         now=end)
    assert objection.contact == "13900001111"
    later = end + dt.timedelta(days=award.publicity_days)
    with pytest.raises(ValidationError):
        services.objection_lodge(nomination=noms["a"], name="李", contact="13900001112", text="x", now=later)
    with pytest.raises(ValidationError):
        services.award_round_publish(award=award, now=later, actor=None)  # an objection is unanswered
    services.objection_answer(objection=objection, answer="经核实，事迹属实", upheld=False, actor=world.county_admin)
    with pytest.raises(ValidationError):
        services.award_round_publish(award=award, now=end + dt.timedelta(days=1), actor=None)  # publicity not over
    award = services.award_round_publish(award=award, now=later, actor=None)
    assert award.status == "published"


def test_upheld_objection_disqualifies(world):
    award, cats, noms = make_round(world)
    award = services.award_round_start_publicity(award=award, now=award.vote_end, actor=None)
    objection = services.objection_lodge(nomination=Nomination.objects.get(pk=noms["a"].pk), name="王某",
                                         contact="13900001111", text="不实", now=award.vote_end)
    services.objection_answer(objection=objection, answer="异议成立", upheld=True, actor=None)
    assert Nomination.objects.get(pk=noms["a"].pk).status == "disqualified"
    with pytest.raises(ValidationError):
        services.objection_answer(objection=objection, answer="again", upheld=False, actor=None)


# ---- advisors, ventures, the drive, bulletins ---------------------------------------------------------------------


def test_advisor_placement_logs_and_dual_brand(world):
    firm = org_services.org_create(name="海盐紧固件有限公司", code="330424001E001", kind=OrgKind.ENTERPRISE,
                                   parent=world.wuyuan)
    today = timezone.localdate()
    batch = services.advisor_batch_create(org=world.county, name="第一批红领", start=today - dt.timedelta(days=90),
                                          end=today + dt.timedelta(days=600), actor=None)
    with pytest.raises(ValidationError):
        services.advisor_place(batch=batch, person=make_person("退休干部甲"), enterprise=world.hebin, actor=None)
    advisor = services.advisor_place(batch=batch, person=make_person("退休干部乙"), enterprise=firm, former_post="原副局长", actor=None)
    with pytest.raises(ValidationError):
        services.advisor_place(batch=batch, person=make_person("退休干部丙"), enterprise=firm, actor=None)
    services.advisor_log_record(advisor=advisor, month=today.replace(day=15), text="指导建立党支部", hours=12, actor=None)
    with pytest.raises(ValidationError):
        services.advisor_log_record(advisor=advisor, month=today, text="again", actor=None)
    with pytest.raises(ValidationError):
        services.advisor_log_record(advisor=advisor, month=today + dt.timedelta(days=40), text="future", actor=None)
    evaluation = services.dual_brand_evaluate(
        enterprise=firm, year=today.year, output_wan=Decimal("12000"), output_growth_pct=Decimal("12.5"),
        tax_wan=Decimal("560"), employees=320,
        checklist={"organisation": True, "activities": True, "carrier": True, "records": True, "position": False,
                   "pioneers": True}, actor=None)
    assert evaluation.development_strong and evaluation.party_strong
    with pytest.raises(ValidationError):
        services.dual_brand_evaluate(enterprise=firm, year=today.year - 1, output_wan=1, output_growth_pct=1,
                                     tax_wan=1, employees=1, checklist={"bogus": True}, actor=None)


def test_dual_brand_evaluation_rules(world):
    today = timezone.localdate()
    firm = org_services.org_create(name="海盐紧固件有限公司", code="330424001E001", kind=OrgKind.ENTERPRISE,
                                   parent=world.wuyuan)
    figures = {"output_wan": Decimal("800"), "output_growth_pct": Decimal("-2.0"), "tax_wan": Decimal("10"),
               "employees": 40}
    none_met = services.dual_brand_evaluate(enterprise=firm, year=today.year - 1, checklist={}, **figures, actor=None)
    assert not none_met.party_strong and not none_met.development_strong  # saved, and simply not strong
    assert none_met.checklist == {code: False for code, _ in PARTY_CHECKLIST}
    with pytest.raises(ValidationError) as exc:
        services.dual_brand_evaluate(enterprise=firm, year=today.year + 1, checklist={"organisation": True}, **figures,
                                     actor=None)
    assert "year" in exc.value.message_dict and str(today.year) in exc.value.message_dict["year"][0]
    with pytest.raises(NotFound):
        services.dual_brand_evaluate(enterprise=firm, year=today.year, checklist={}, actor=world.users["qinshan_secretary"],
                                     **figures)
    assert firm.dual_brand_evaluations.count() == 1


def test_venture_figures_and_grant_on_the_ledger(world):
    from xianfeng.ledger.services import account_balance

    venture = services.venture_create(org=world.qinshan_village, name="秦万芦荟专业合作社", kind="cooperative",
                                      founded=dt.date(2006, 3, 1), founders=[world.members["qinshan_a"]], actor=None)
    services.venture_figure_record(venture=venture, date=dt.date(2006, 3, 1), members=3, area_mu=Decimal("8"),
                                   households=0, actor=None)
    services.venture_figure_record(venture=venture, date=dt.date(2010, 6, 30), members=12,
                                   area_mu=Decimal("2530"), households=250, income_per_household_yuan=90_000, actor=None)
    with pytest.raises(ValidationError):
        services.venture_figure_record(venture=venture, date=dt.date(2010, 6, 30), members=1, area_mu=1, households=1, actor=None)
    with pytest.raises(ValidationError):  # the fund is empty
        services.venture_support_record(venture=venture, kind="grant", date=dt.date(2010, 5, 1), title="扶助资金",
                                        amount_fen=5_000_000, fund_org=world.county, actor=None)
    assert not VentureSupport.objects.exists()
    services.venture_fund_allocate(org=world.county, amount_fen=20_000_000, key="budget-2010", actor=None)
    support = services.venture_support_record(venture=venture, kind="grant", date=dt.date(2010, 5, 1), title="扶助资金",
                                              amount_fen=5_000_000, fund_org=world.county, actor=None)
    assert support.ledger_transaction is not None
    assert account_balance(services.venture_fund(world.county)) == 15_000_000
    with pytest.raises(ValidationError):  # a fund outside the venture's tree
        services.venture_support_record(venture=venture, kind="grant", date=dt.date(2010, 5, 1), title="x",
                                        amount_fen=100, fund_org=world.wuyuan, actor=None)
    services.venture_support_record(venture=venture, kind="training", date=dt.date(2010, 5, 2), title="种植技术培训", actor=None)
    assert [f.households for f in services.latest_figures([venture]).values()] == [250]


def test_drive_targets_and_progress(world):
    today = timezone.localdate()
    drive = services.drive_create(org=world.county, name="百日双提升", start=today - dt.timedelta(days=50),
                                  end=today + dt.timedelta(days=50),
                                  targets=[(world.wuyuan, "union", 10), (world.qinshan, "youth_league", 4)], actor=None)
    union = drive.targets.get(metric="union")
    services.drive_progress_report(target=union, date=today - dt.timedelta(days=10), achieved=3, actor=None)
    services.drive_progress_report(target=union, date=today, achieved=6, actor=None)
    with pytest.raises(ValidationError):
        services.drive_progress_report(target=union, date=today + dt.timedelta(days=1), achieved=7, actor=None)
    with pytest.raises(ValidationError):
        services.drive_target_set(drive=drive, org=world.wuyuan, metric="women", target=0, actor=None)
    rows = {r.target.metric: r for r in services.drive_progress(drive)}
    assert rows["union"].achieved == 6 and rows["union"].pct == 60
    assert rows["youth_league"].achieved == 0 and rows["youth_league"].as_of is None
    assert services.drive_elapsed_pct(drive) == 50


def test_drive_report_is_a_row_and_a_correction_needs_a_reason(world):
    today = timezone.localdate()
    drive = services.drive_create(org=world.county, name="百日双提升", start=today - dt.timedelta(days=50),
                                  end=today + dt.timedelta(days=50), targets=[(world.wuyuan, "union", 10)], actor=None)
    union = drive.targets.get()
    day = today - dt.timedelta(days=5)
    first = services.drive_progress_report(target=union, date=day, achieved=6, note="六家", actor=None)
    with pytest.raises(ValidationError) as exc:  # the same date again, without a reason: refused, nothing written
        services.drive_progress_report(target=union, date=day, achieved=2, actor=None)
    assert "reason" in exc.value.message_dict
    with pytest.raises(ValidationError):  # a lower number on a later date is a correction too
        services.drive_progress_report(target=union, date=day + dt.timedelta(days=1), achieved=5, reason="  ", actor=None)
    with pytest.raises(ValidationError) as exc:  # before the latest report: refused
        services.drive_progress_report(target=union, date=day - dt.timedelta(days=3), achieved=7, actor=None)
    assert "date" in exc.value.message_dict
    assert DriveProgress.objects.filter(target=union).count() == 1
    second = services.drive_progress_report(target=union, date=day, achieved=2, reason="重复统计了四家", actor=None)
    first.refresh_from_db()
    assert (first.achieved, first.note, first.corrects_id) == (6, "六家", None)
    assert (second.corrects_id, second.reason) == (first.pk, "重复统计了四家")
    row = services.drive_progress(drive)[0]
    assert (row.achieved, [h.achieved for h in row.history]) == (2, [2, 6])
    with pytest.raises(AppendOnlyError):
        first.delete()
    with pytest.raises(ValidationError):  # a reason on a report that corrects nothing is refused, not dropped
        services.drive_progress_report(target=union, date=today, achieved=8, reason="多写一句", actor=None)
    outsider = world.users["qinshan_secretary"]
    with pytest.raises(NotFound):
        services.drive_progress_report(target=union, date=today, achieved=9, reason="越权", actor=outsider)
    assert DriveProgress.objects.filter(target=union).count() == 2


def test_bulletin_briefing_needs_an_issue_and_images_are_checked(world):
    with pytest.raises(ValidationError):
        services.bulletin_create(org=world.county, kind="briefing", title="简报", body="正文", actor=None)
    bad = SimpleUploadedFile("a.jpg", b"not an image")
    with pytest.raises(ValidationError) as exc:
        services.bulletin_create(org=world.county, title="新闻", body="正文", image=bad, actor=None)
    assert "image" in exc.value.message_dict
    b = services.bulletin_create(org=world.county, kind="briefing", issue=1, title="创先争优简报第1期", body="正文",
                                 publish=True, actor=None)
    assert b.published_at is not None
    with pytest.raises(ValidationError):
        services.bulletin_create(org=world.county, kind="briefing", issue=1, title="重复", body="正文", actor=None)
    services.bulletin_withdraw(bulletin=b, actor=None)
    with pytest.raises(ValidationError):
        services.bulletin_withdraw(bulletin=b, actor=None)


def test_deliverable_kinds_are_checked(world):
    with pytest.raises(ValidationError):
        services.campaign_create(name="x", org=world.county, start=dt.date(2026, 1, 1), implement_from=dt.date(2026, 2, 1),
                                 evaluate_from=dt.date(2026, 3, 1), end=dt.date(2026, 4, 1),
                                 deliverables=[{"code": "plan", "name": "方案", "org_kinds": ["planet"],
                                                "due": dt.date(2026, 1, 10)}], actor=None)
    assert not Deliverable.objects.exists()


def test_advisor_placement_needs_the_actors_scope_over_the_person(world):
    """Placing links a person found by ID number: a person whose organisation is outside the actor's scope is refused
    on the ID number before anything is written; one of the actor's own subtree is placed."""
    from xianfeng.orgs.services import PersonOutOfScope

    firm = org_services.org_create(name="海盐某机械公司", code="330424001E01", kind=OrgKind.ENTERPRISE,
                                   parent=world.wuyuan)
    batch = services.advisor_batch_create(org=world.wuyuan, name="第一批", start=dt.date(2025, 1, 1),
                                          end=dt.date(2027, 12, 31), actor=None)
    admin = world.users["wuyuan_admin"]
    elsewhere = world.members["qinshan_a"].person  # a member of 秦山镇, outside 武原镇
    with pytest.raises(PersonOutOfScope) as exc:
        services.advisor_place(batch=batch, person=elsewhere, enterprise=firm, actor=admin)
    assert "id_number" in exc.value.message_dict
    assert not firm.advisors.exists()
    own = world.members["hebin_a"].person  # a member of 河滨社区, inside 武原镇
    advisor = services.advisor_place(batch=batch, person=own, enterprise=firm, actor=admin)
    assert advisor.enterprise == firm
    with pytest.raises(NotFound):  # a batch the actor does not administer
        services.advisor_place(batch=batch, person=own, enterprise=firm, actor=world.users["qinshan_secretary"])
