"""An inspector fills a questionnaire on a phone, loses the connection mid-way, gets it back, and the response
arrives once; the rates page then counts it."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from xianfeng.inspections import services
from xianfeng.inspections.models import Response
from xianfeng.inspections.tests.conftest import survey_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def questionnaire(world):
    inspection = services.inspection_create(org=world.county, name="海盐县创先争优活动现场点评", group_name="现场点评第七组",
                                            start=dt.date(2026, 9, 13), end=dt.date(2026, 9, 16),
                                            leader=world.inspector, questionnaires_issued=1, actor=world.inspector)
    return services.questionnaire_import(inspection=inspection, data=survey_bytes(), filename="survey.xlsx", actor=world.inspector)


def choose(page, label: str) -> None:
    page.get_by_label(label, exact=True).check()


def test_inspector_fills_a_questionnaire_offline_and_it_arrives_once(questionnaire, live_server, open_page, sign_in):
    page = open_page("phone")
    sign_in(page, "inspector_demo")
    page.goto(live_server.url + reverse("inspections:fill", args=[questionnaire.pk]))
    status = page.get_by_test_id("fill-status")
    next_button = page.get_by_test_id("next")
    # who and how: nothing chosen yet, so the page refuses to move on
    next_button.click()
    assert status.inner_text() == "请修改标出的答案。"
    choose(page, "群众")
    choose(page, "入户调查")
    next_button.click()
    # section 1: the age constraint is checked on the phone, as on the server
    choose(page, "群众")
    page.get_by_label("年龄 *").fill("12")
    next_button.click()
    assert page.get_by_text("年龄须在18到120岁之间").is_visible()
    page.get_by_label("年龄 *").fill("45")
    page.get_by_label("年龄 *").blur()
    next_button.click()
    # the connection drops mid-way
    page.context.set_offline(True)
    aware = page.get_by_role("group", name="您知道本地正在开展创先争优活动吗？ *")
    aware.get_by_label("否", exact=True).check()  # not aware: the satisfaction question is skipped
    assert page.get_by_text("您对活动成效满意吗？").count() == 0
    aware.get_by_label("是", exact=True).check()  # aware after all: it appears
    choose(page, "满意")
    page.get_by_role("group", name="您认同活动对本地的作用吗？").get_by_label("是", exact=True).check()
    next_button.click()
    assert page.get_by_test_id("progress").inner_text() == "4 / 4"
    # the draft survives a reload of the cached state: it is in localStorage
    assert "satisfaction" in page.evaluate(f"localStorage.getItem('xf-draft-q{questionnaire.pk}')")
    assert next_button.inner_text() == "提交"
    next_button.click()
    page.wait_for_function("() => document.querySelector('[data-testid=fill-status]').textContent.includes('没有网络')")
    assert Response.objects.count() == 0
    page.context.set_offline(False)
    page.wait_for_function("() => document.querySelector('[data-testid=fill-status]').textContent.includes('已提交')",
                           timeout=15_000)
    response = Response.objects.get()
    assert response.answers == {"who": "resident", "age": 45, "awareness": "yes", "satisfaction": "1",
                                "recognition": "yes"}
    assert response.method == "door_to_door" and response.respondent_type == "resident"
    # sending again (a second tab, a retry) changes nothing: the client key is the same
    page.evaluate("""async ([url, body]) => {
        await fetch(url, {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json",
            "X-CSRFToken": JSON.parse(document.getElementById("xf-conf").textContent).csrf}, body: JSON.stringify(body)});
    }""", [reverse("inspections-response-list"), {"questionnaire": questionnaire.pk, "client_key": response.client_key,
                                                  "respondent_type": "resident", "method": "street", "answers": {}}])
    assert Response.objects.count() == 1
    # the rates update
    page.goto(live_server.url + reverse("inspections:rates", args=[questionnaire.inspection_id]))
    summary = page.get_by_test_id("rate-awareness-summary").inner_text()
    assert re.search(r"100%\s*·\s*n = 1", summary)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
