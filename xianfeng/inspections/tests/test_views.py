"""Pages and the API through HTTP: permissions (an outsider gets 404), forms, exports, the public pages."""

import datetime as dt
import json

import pytest
from django.urls import reverse

from xianfeng.core.models import AuditEvent
from xianfeng.inspections import services
from xianfeng.inspections.models import Draw, Finding, Rectification, Response

from .conftest import answers, survey_bytes


@pytest.fixture
def published(inspection, units):
    frozen = services.draw_freeze(inspection=inspection, today=dt.date(2026, 9, 12), actor=inspection.created_by)
    return services.draw_publish(draw=frozen, seed="2026-09-12 4 7 1", actor=inspection.created_by)


PAGES = ["detail", "plan", "draw", "questionnaires", "fieldwork", "rates", "findings", "rectifications", "report"]


@pytest.mark.parametrize("name", PAGES)
def test_inspection_pages_answer_the_inspector_and_404_to_others(client_for, inspection, name):
    url = reverse(f"inspections:{name}", args=[inspection.pk])
    assert client_for("inspector").get(url).status_code == 200
    assert client_for("county_admin").get(url).status_code == 200
    for outsider in ("qinshan_secretary", "hebin_secretary", "member", "resident"):
        assert client_for(outsider).get(url).status_code == 404


def test_the_list_and_the_menu_are_for_inspectors(client_for, inspection):
    html = client_for("inspector").get(reverse("inspections:list")).content.decode()
    assert inspection.name in html
    assert client_for("qinshan_secretary").get(reverse("inspections:list")).status_code == 404
    labels = [str(i["label"]) for i in client_for("inspector").get(reverse("home")).context["nav_items"]]
    assert "督查点评" in labels


def test_creating_an_inspection_through_the_form(client_for, world):
    client = client_for("inspector")
    response = client.post(reverse("inspections:new"), {
        "org_code": "330424001", "name": "武原镇点评", "group_name": "第一组", "start": "2026-10-01",
        "end": "2026-10-02", "members": "county_admin", "reported_by": "武原镇党委"})
    assert response.status_code == 302
    bad = client.post(reverse("inspections:new"), {"org_code": "NOPE", "name": "x", "group_name": "g",
                                                   "start": "2026-10-01", "end": "2026-10-02", "members": "ghost"})
    assert bad.status_code == 400 and "您的范围内没有该编码的组织" in bad.content.decode()


def test_freezing_and_publishing_through_the_draw_page(client_for, inspection, units):
    client = client_for("inspector")
    url = reverse("inspections:draw", args=[inspection.pk])
    assert client.post(url, {"action": "freeze"}).status_code == 302
    sha = Draw.objects.get().frame_sha256
    assert sha in client.get(url).content.decode()
    assert client.post(url, {"action": "publish", "seed": ""}).status_code == 400
    assert client.post(url, {"action": "publish", "seed": "12345", "seed_source": "test"}).status_code == 302
    draw = Draw.objects.get()
    public = client_for("resident").get(reverse("inspections:public_draw", args=[draw.pk])).content.decode()
    assert draw.result_sha256 in public
    from django.test import Client

    record = json.loads(Client().get(reverse("inspections:public_draw_json", args=[draw.pk])).content)
    assert record["hashes"]["frame"] == sha


def test_a_quota_larger_than_the_stratum_is_shown_as_an_error(client_for, inspection, units):
    services.inspection_update(inspection=inspection, quotas={"school": 9}, actor=inspection.created_by)
    response = client_for("inspector").post(reverse("inspections:draw", args=[inspection.pk]), {"action": "freeze"},
                                            follow=True)
    assert "学校需抽取9个，但名录中只有2个" in response.content.decode()


def test_importing_a_bad_xlsform_shows_the_row_and_imports_nothing(client_for, inspection):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from .conftest import xlsform

    data = xlsform([["type", "name", "label"], ["select_one nolist", "q", "Q"]], [["list_name", "name", "label"],
                                                                                 ["yn", "yes", "Yes"]])
    response = client_for("inspector").post(reverse("inspections:questionnaires", args=[inspection.pk]), {
        "form": "import", "file": SimpleUploadedFile("bad.xlsx", data)})
    assert response.status_code == 400 and "[row : 2]" in response.content.decode()
    good = client_for("inspector").post(reverse("inspections:questionnaires", args=[inspection.pk]), {
        "form": "import", "file": SimpleUploadedFile("good.xlsx", survey_bytes())})
    assert good.status_code == 302


def test_the_fill_page_carries_the_form_and_the_submission_address(client_for, questionnaire):
    html = client_for("inspector").get(reverse("inspections:fill", args=[questionnaire.pk])).content.decode()
    assert 'id="xf-form"' in html and "inspection-responses" in html and "fill.js" in html


def test_api_response_submission_is_idempotent_and_field_errors_come_back(client_for, questionnaire):
    client = client_for("inspector")
    url = reverse("inspections-response-list")
    body = {"questionnaire": questionnaire.pk, "client_key": "abc", "respondent_type": "resident",
            "method": "street", "answers": answers()}
    first = client.post(url, body, content_type="application/json")
    again = client.post(url, body, content_type="application/json")
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
    bad = client.post(url, {**body, "client_key": "def", "answers": answers(age=5)}, content_type="application/json")
    assert bad.status_code == 400 and bad.json() == {"age": ["年龄须在18到120岁之间"]}
    outsider = client_for("qinshan_secretary").post(url, {**body, "client_key": "x"}, content_type="application/json")
    assert outsider.status_code == 404
    assert Response.objects.count() == 1


def test_api_rates_have_the_agreed_shape_and_outsiders_get_404(client_for, questionnaire, inspection):
    services.inspection_update(inspection=inspection, questionnaires_issued=2, actor=inspection.created_by)
    for i, aware in enumerate([True, False]):
        services.response_submit(questionnaire=questionnaire, answers=answers(aware=aware), respondent_type="member",
                                 method="seminar", client_key=str(i), actor=inspection.created_by)
    url = reverse("inspections-inspection-rates", args=[inspection.pk])
    data = client_for("inspector").get(url).json()
    aware = next(r for r in data if r["name"] == "awareness")
    assert {k: aware[k] for k in ("x", "n", "estimate", "method", "response_rate")} == {
        "x": 1, "n": 2, "estimate": 0.5, "method": "wilson", "response_rate": 1.0}
    assert 0 < aware["ci_low"] < 0.5 < aware["ci_high"] < 1
    assert client_for("qinshan_secretary").get(url).status_code == 404
    assert client_for("inspector").get(reverse("inspections-inspection-list")).json()["count"] == 1


def test_rates_page_shows_n_and_interval(client_for, questionnaire, inspection):
    services.response_submit(questionnaire=questionnaire, answers=answers(), respondent_type="member",
                             method="seminar", client_key="1", actor=inspection.created_by)
    html = client_for("inspector").get(reverse("inspections:rates", args=[inspection.pk])).content.decode()
    summary = html.split('data-testid="rate-awareness-summary"')[1].split("</div>")[0]
    assert "<strong>100%</strong>" in summary and "n = 1" in summary and "Wilson" in summary and "wilson" not in summary
    assert "95% 20.7%–100.0%" in summary  # Wilson at 1/1


def test_responses_export_xlsx_and_csv_are_audited(client_for, questionnaire):
    services.response_submit(questionnaire=questionnaire, answers=answers(), respondent_type="member",
                             method="seminar", client_key="1", actor=questionnaire.inspection.created_by)
    client = client_for("inspector")
    csv = client.get(reverse("inspections:responses_csv", args=[questionnaire.pk]))
    assert csv.status_code == 200 and "满意" in csv.content.decode("utf-8-sig")
    xlsx = client.get(reverse("inspections:responses_xlsx", args=[questionnaire.pk]))
    assert xlsx.status_code == 200 and b"".join(xlsx.streaming_content)[:2] == b"PK"
    assert AuditEvent.objects.filter(action="export").count() == 2
    assert client_for("hebin_secretary").get(reverse("inspections:responses_csv", args=[questionnaire.pk])
                                             ).status_code == 404


def test_fieldwork_forms_record_and_refuse_units_outside_scope(client_for, inspection, world):
    client = client_for("inspector")
    url = reverse("inspections:fieldwork", args=[inspection.pk])
    ok = client.post(url, {"form": "interview", "respondent_type": "resident", "method": "street",
                           "unit_code": world.hebin.code, "date": "2026-09-14", "notes": "满意"})
    assert ok.status_code == 302
    review = client.post(url, {"form": "review", "unit_code": world.hebin.code, "date": "2026-09-14",
                               "checked": ["plan", "pledges"]})
    assert review.status_code == 302
    seminar = client.post(url, {"form": "seminar", "title": "座谈会", "date": "2026-09-14", "members": 5,
                                "residents": 4})
    assert seminar.status_code == 302
    bad = client.post(url, {"form": "interview", "respondent_type": "resident", "method": "street",
                            "unit_code": "ZZZ", "date": "2026-09-14"})
    assert bad.status_code == 400


def test_findings_page_drafts_accepts_and_assigns_a_task_the_org_reports_on(client_for, inspection, world):
    client = client_for("inspector")
    url = reverse("inspections:findings", args=[inspection.pk])
    client.post(url, {"action": "add", "title": "台账不全", "text": "缺党课记录", "recommendation": ""})
    finding = Finding.objects.get()
    response = client.post(url, {"action": "task", "finding": finding.pk, "org_code": world.hebin.code,
                                 "task": "补齐", "deadline": "2099-01-01"})
    assert response.status_code == 302
    task = Rectification.objects.get()
    detail = reverse("inspections:rectification_detail", args=[task.pk])
    secretary = client_for("hebin_secretary")
    assert task.task in secretary.get(reverse("inspections:my_rectifications")).content.decode()
    # the inspector finds the task to verify from the menu's 整改任务 entry too; an outsider's list is empty
    mine = client.get(reverse("inspections:my_rectifications")).content.decode()
    assert task.task in mine and reverse("inspections:my_rectifications") in client.get(reverse("home")).content.decode()
    assert task.task not in client_for("qinshan_secretary").get(reverse("inspections:my_rectifications")).content.decode()
    assert secretary.post(detail, {"action": "report", "report": "已补齐"}).status_code == 302
    assert secretary.post(detail, {"action": "verify", "decision": "close"}).status_code == 404
    assert client_for("qinshan_secretary").get(detail).status_code == 404
    assert client.post(detail, {"action": "verify", "decision": "close"}).status_code == 302
    task.refresh_from_db()
    assert task.status == "closed"
    public = client_for("resident").get(reverse("inspections:public_rectifications", args=[inspection.pk]))
    assert public.status_code == 200 and "补齐" in public.content.decode() and "已补齐" not in public.content.decode()


def test_report_page_edits_a_section_and_downloads_a_docx(client_for, inspection):
    client = client_for("inspector")
    url = reverse("inspections:report", args=[inspection.pk])
    assert "现场点评工作情况汇报" in client.get(url).content.decode()
    client.post(url, {"key": "practices", "text": "1、领导重视，周密部署。"})
    inspection.refresh_from_db()
    assert inspection.report_sections["practices"] == "1、领导重视，周密部署。"
    docx = client.get(reverse("inspections:report_download", args=[inspection.pk, "docx"]))
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    html = client.get(reverse("inspections:report_download", args=[inspection.pk, "html"])).content.decode()
    assert "一、基本做法" in html and "1、领导重视，周密部署。" in html
    assert client_for("hebin_secretary").get(reverse("inspections:report_download",
                                                     args=[inspection.pk, "docx"])).status_code == 404


def test_the_builder_moves_and_removes_questions_until_responses_exist(client_for, inspection, world):
    q = services.questionnaire_create(inspection=inspection, title="自建问卷", actor=world.inspector)
    for name in ("first", "second"):
        services.questionnaire_add_question(questionnaire=q, section="", name=name, kind="text", label_zh=name, actor=world.inspector)
    url = reverse("inspections:questionnaire", args=[q.pk])
    inspector = client_for("inspector")
    assert inspector.post(url, {"form": "move", "name": "second", "direction": "up"}).status_code == 302
    q.refresh_from_db()
    assert [x["name"] for x in q.form["sections"][0]["questions"]] == ["second", "first"]
    page = inspector.post(url, {"form": "move", "name": "second", "direction": "up"})
    assert page.status_code == 400 and "已在本节最前" in page.content.decode()
    assert client_for("qinshan_secretary").post(url, {"form": "remove", "name": "first"}).status_code == 404
    assert inspector.post(url, {"form": "remove", "name": "first"}).status_code == 302
    q.refresh_from_db()
    assert [x["name"] for x in q.form["sections"][0]["questions"]] == ["second"]
    assert AuditEvent.objects.filter(summary="问卷删除题目 first").exists()
    services.response_submit(questionnaire=q, answers={"second": "好"}, respondent_type="resident",
                             method="street", client_key="k1", actor=world.inspector)
    page = inspector.post(url, {"form": "remove", "name": "second"})
    assert page.status_code == 400 and "已有答卷" in page.content.decode()
