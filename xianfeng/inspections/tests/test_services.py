"""Services: the plan, the draw with its conflicts of interest, responses, rates, findings, rectification."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from xianfeng.core.testing import make_member, make_user
from xianfeng.inspections import analysis, draw, services
from xianfeng.inspections.models import Draw, DrawUnit, Finding, Rectification, RectificationEvent, Response
from xianfeng.notify.models import Notification
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import ContactPoint, Role

from .conftest import END, START, answers

TODAY = dt.date(2026, 9, 14)


def test_an_inspection_keeps_its_group_and_the_reports_default_quotas(inspection, world):
    assert inspection.quotas == {"village_community": 15, "enterprise": 2, "social": 2, "hospital": 1, "school": 1}
    assert [m.user for m in inspection.group.all()] == [world.inspector]


def test_an_inspection_ending_before_it_starts_is_refused(world):
    with pytest.raises(ValidationError):
        services.inspection_create(org=world.county, name="x", group_name="g", start=END, end=START,
                                   leader=world.inspector, actor=world.inspector)


def test_freeze_publishes_the_frame_hash_and_publish_stores_a_verifiable_draw(inspection, units, world):
    frozen = services.draw_freeze(inspection=inspection, actor=world.inspector, today=TODAY)
    assert frozen.frame_sha256 == draw.sha256_of(frozen.frame)
    assert len(frozen.frame) == 18 + 4 + 4 + 2 + 2  # villages/communities, enterprises, social, hospitals, schools
    published = services.draw_publish(draw=frozen, seed="2026-09-12 福彩3D 7 1 4", seed_source="中国福利彩票",
                                      actor=world.inspector)
    assert published.status == Draw.Status.PUBLISHED
    assert draw.verify_record(published.record) == []
    counts = {s: DrawUnit.objects.filter(draw=published, stratum=s).count() for s in inspection.quotas}
    assert counts == inspection.quotas
    with pytest.raises(ValidationError):
        services.draw_publish(draw=published, seed="again", actor=world.inspector)
    with pytest.raises(ValidationError):
        services.draw_freeze(inspection=inspection, actor=world.inspector)


def test_a_quota_larger_than_its_stratum_is_refused_before_anything_is_published(inspection, units, world):
    services.inspection_update(inspection=inspection, quotas={"hospital": 5}, actor=world.inspector)
    with pytest.raises(ValidationError) as exc:
        services.draw_freeze(inspection=inspection, today=TODAY, actor=world.inspector)
    assert "医院需抽取5个，但名录中只有2个" in str(exc.value)
    assert not Draw.objects.exists()


def test_inspectors_are_never_assigned_units_they_belong_to_came_from_or_guide(inspection, units, world):
    village, other, guided = units["village"][2], units["village"][3], units["village"][4]
    branch = org_services.org_create(name="支部", code="330424T02D01", kind="branch", parent=village)
    member = make_member("周督查", branch)
    other_branch = org_services.org_create(name="支部", code="330424T03D01", kind="branch", parent=other)
    org_services.member_transfer(member=member, to_org=other_branch, on=dt.date(2020, 1, 1))
    tied = make_user("inspector_tied", Role.Kind.INSPECTOR, world.county, person=member.person)
    org_services.contact_point_create(leader=member.person, org=guided, kind=ContactPoint.Kind.VILLAGE,
                                      start=dt.date(2026, 4, 1))
    free = make_user("inspector_free", Role.Kind.INSPECTOR, world.county)
    services.inspection_update(inspection=inspection, quotas={"village_community": 18}, actor=world.inspector)
    inspection.group.create(user=tied)
    inspection.group.create(user=free)
    frozen = services.draw_freeze(inspection=inspection, today=TODAY, actor=world.inspector)
    conflicts = dict(frozen.inspectors)[str(tied.pk)]
    assert sorted(conflicts) == sorted([village.code, other.code, guided.code])
    published = services.draw_publish(draw=frozen, seed="any", actor=world.inspector)
    for code in conflicts:
        assert DrawUnit.objects.get(draw=published, org__code=code).inspector != tied


def test_units_inspected_in_the_last_months_are_left_out_when_asked(inspection, units, world):
    frozen = services.draw_freeze(inspection=inspection, today=TODAY, actor=world.inspector)
    services.draw_publish(draw=frozen, seed="first", actor=world.inspector)
    drawn = set(DrawUnit.objects.values_list("org__code", flat=True))
    later = services.inspection_create(org=world.county, name="复查", group_name="g", start=dt.date(2027, 3, 1),
                                       end=dt.date(2027, 3, 3), leader=world.inspector, exclude_months=12,
                                       quotas={"village_community": 3}, actor=world.inspector)
    frozen = services.draw_freeze(inspection=later, today=dt.date(2027, 3, 1), actor=world.inspector)
    assert drawn & set(frozen.excluded) == {c for c in drawn if c in {row[0] for row in frozen.frame} | drawn}
    assert not drawn & {row[0] for row in frozen.frame}


def test_a_resubmitted_response_changes_nothing(questionnaire, world):
    first, created = services.response_submit(questionnaire=questionnaire, answers=answers(), respondent_type="resident",
                                              method="door_to_door", client_key="k-1", unit=world.hebin, actor=world.inspector)
    again, created_again = services.response_submit(questionnaire=questionnaire, answers=answers(aware=False),
                                                    respondent_type="resident", method="street", client_key="k-1", actor=world.inspector)
    assert created and not created_again and again.pk == first.pk
    assert Response.objects.count() == 1 and first.stratum == "village_community"


def test_a_response_breaking_a_constraint_gets_field_errors_and_is_not_stored(questionnaire, world):
    with pytest.raises(ValidationError) as exc:
        services.response_submit(questionnaire=questionnaire, answers=answers(age=12), respondent_type="resident",
                                 method="street", client_key="k-2", actor=world.inspector)
    assert exc.value.message_dict == {"age": ["年龄须在18到120岁之间"]}
    assert not Response.objects.exists()


def _fill(questionnaire, n, aware, satisfied, recognised=None, stratum="", rtype="resident"):
    recognised = aware if recognised is None else recognised
    rows = []
    for i in range(n):
        rows.append({"answers": answers(aware=i < aware, satisfied="1" if i < satisfied else "3",
                                        recognised="yes" if i < recognised else "no"),
                     "respondent_type": rtype, "method": "door_to_door", "client_key": f"{stratum}{rtype}{i}",
                     "stratum": stratum})
    services.responses_bulk_create(questionnaire=questionnaire, rows=rows, actor=questionnaire.inspection.created_by)


def test_the_reports_figures_come_out_with_wilson_intervals(questionnaire, inspection):
    services.inspection_update(inspection=inspection, questionnaires_issued=200, actor=inspection.created_by)
    _fill(questionnaire, 200, aware=199, satisfied=198)
    rates = {r["name"]: r for r in analysis.survey_rates(inspection)}
    aware, sat = rates["awareness"], rates["satisfaction"]
    assert (aware["x"], aware["n"], round(aware["estimate"], 3)) == (199, 200, 0.995)
    assert (round(aware["ci_low"], 3), round(aware["ci_high"], 3)) == (0.972, 0.999)
    # satisfaction is asked of the aware only: 198 of the 199 who answered it
    assert (sat["x"], sat["n"]) == (198, 199)
    assert sat["response_rate"] == 1.0
    assert [d["count"] for d in sat["distribution"]] == [198, 0, 1, 0, 1]
    assert any("不能区分" in w for w in aware["warnings"])


def test_clopper_pearson_on_request_and_weighted_satisfaction(questionnaire, inspection):
    _fill(questionnaire, 10, aware=10, satisfied=8)
    services.inspection_update(inspection=inspection, interval_method="clopper_pearson", satisfaction_mode="weighted",
                               actor=inspection.created_by)
    rates = {r["name"]: r for r in analysis.survey_rates(inspection)}
    assert rates["awareness"]["method"] == "clopper_pearson" and rates["awareness"]["ci_high"] == 1.0
    assert rates["satisfaction"]["weighted"] and rates["satisfaction"]["x"] == pytest.approx(8 * 1.0 + 2 * 0.55)


def test_stratified_rates_weight_strata_by_their_population(questionnaire, inspection):
    _fill(questionnaire, 100, aware=90, satisfied=90, stratum="member", rtype="member")
    _fill(questionnaire, 20, aware=10, satisfied=10, stratum="resident")
    services.inspection_update(inspection=inspection, strata_population={"member": 1000, "resident": 9000}, actor=inspection.created_by)
    aware = next(r for r in analysis.survey_rates(inspection) if r["name"] == "awareness")
    assert aware["estimate"] == pytest.approx(100 / 120)
    assert aware["stratified"]["estimate"] == pytest.approx(0.54)
    assert any("不足30份" in w for w in aware["warnings"])


def test_findings_are_drafted_from_the_data_with_evidence(questionnaire, inspection, units, test_rates, world):
    villages = units["village"]
    values = {v.code: (20, 20) for v in villages}
    values[villages[5].code] = (4, 20)
    test_rates("test.progress", values, label="践诺率")
    test_rates("pledges.formulaic", {v.code: (2, 10) for v in villages})
    frozen = services.draw_freeze(inspection=inspection, today=TODAY, actor=world.inspector)
    services.draw_publish(draw=frozen, seed="s", actor=world.inspector)
    _fill(questionnaire, 200, aware=199, satisfied=198, recognised=150)
    drafted = {f.kind: f for f in services.findings_draft(inspection=inspection, today=TODAY, actor=world.inspector)}
    assert set(drafted) == {"uneven_progress", "formulaic_pledges", "awareness_gap"}
    assert villages[5].name in drafted["uneven_progress"].text and "99.8%" in drafted["uneven_progress"].text
    assert drafted["uneven_progress"].evidence[0]["url"].endswith("#funnel-test.progress")
    assert "差距超出抽样误差" in drafted["awareness_gap"].text
    services.finding_update(finding=drafted["awareness_gap"], status=Finding.Status.ACCEPTED, actor=world.inspector)
    again = {f.kind for f in services.findings_draft(inspection=inspection, today=TODAY, actor=world.inspector)}
    assert again == {"uneven_progress", "formulaic_pledges"}
    assert Finding.objects.filter(inspection=inspection, kind="awareness_gap").count() == 1


def test_rectification_is_reported_returned_verified_and_closed_with_notifications(inspection, world):
    finding = services.finding_add(inspection=inspection, title="台账不全", text="缺少党课记录", actor=world.inspector)
    with pytest.raises(ValidationError):
        services.rectification_create(finding=finding, org=world.hebin, task="补齐", deadline=TODAY - dt.timedelta(1),
                                      today=TODAY, actor=world.inspector)
    task = services.rectification_create(finding=finding, org=world.hebin, task="补齐党课记录",
                                         deadline=TODAY + dt.timedelta(days=10), actor=world.inspector, today=TODAY)
    assert Notification.objects.filter(recipient=world.hebin_secretary, key=f"rectification:{task.pk}:created").exists()
    services.rectification_report(rectification=task, report="已补齐", evidence="照片3张", actor=world.hebin_secretary)
    assert Notification.objects.filter(recipient=world.inspector).count() == 1
    with pytest.raises(ValidationError):
        services.rectification_verify(rectification=task, accept=False, note="", actor=world.inspector)
    services.rectification_verify(rectification=task, accept=False, note="缺少签到表", actor=world.inspector)
    task.refresh_from_db()
    assert task.status == Rectification.Status.OPEN
    services.rectification_report(rectification=task, report="已补签到表", actor=world.hebin_secretary)
    services.rectification_verify(rectification=task, accept=True, actor=world.inspector)
    task.refresh_from_db()
    assert task.status == Rectification.Status.CLOSED
    assert [e.action for e in task.events.all()] == ["created", "reported", "returned", "reported", "closed"]


def test_overdue_tasks_escalate_once_to_the_org_the_level_above_and_the_leader(inspection, world):
    finding = services.finding_add(inspection=inspection, title="t", text="t", actor=world.inspector)
    task = services.rectification_create(finding=finding, org=world.hebin, task="t", deadline=TODAY, today=TODAY, actor=world.inspector)
    assert services.rectifications_escalate_overdue(today=TODAY) == 0
    assert services.rectifications_escalate_overdue(today=TODAY + dt.timedelta(days=1)) == 1
    assert services.rectifications_escalate_overdue(today=TODAY + dt.timedelta(days=2)) == 0
    notified = set(Notification.objects.filter(kind="inspections.rectification_overdue")
                   .values_list("recipient__username", flat=True))
    assert notified == {"hebin_secretary", "wuyuan_admin", "inspector_demo"}
    assert RectificationEvent.objects.filter(rectification=task, action="escalated").count() == 1


def test_earlier_open_rectifications_become_a_finding(inspection, world, units):
    finding = services.finding_add(inspection=inspection, title="t", text="t", actor=world.inspector)
    services.rectification_create(finding=finding, org=world.hebin, task="t", deadline=TODAY, today=TODAY, actor=world.inspector)
    later = services.inspection_create(org=world.county, name="复查", group_name="g", start=dt.date(2027, 3, 1),
                                       end=dt.date(2027, 3, 3), leader=world.inspector, actor=world.inspector)
    kinds = {f.kind for f in services.findings_draft(inspection=later, today=dt.date(2027, 3, 1), actor=world.inspector)}
    assert "open_rectifications" in kinds


def test_report_sections_keep_the_edit_and_fall_back_to_the_draft(inspection):
    services.report_section_save(inspection=inspection, key="intro", text="改过的开头", actor=inspection.created_by)
    assert inspection.report_sections == {"intro": "改过的开头"}
    services.report_section_save(inspection=inspection, key="intro", text=" ", actor=inspection.created_by)
    inspection.refresh_from_db()
    assert inspection.report_sections == {}
    with pytest.raises(ValidationError):
        services.report_section_save(inspection=inspection, key="nope", text="x", actor=inspection.created_by)
