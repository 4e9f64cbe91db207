"""Fixtures for the supervision tests: a few more units in the test county, an inspection of it, a questionnaire."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from xianfeng.core import rates as core_rates
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import OrgKind

from .. import services

START = dt.date(2026, 9, 13)
END = dt.date(2026, 9, 16)


def add_units(world) -> dict[str, list]:
    """Villages/communities, enterprises, social organisations, hospitals, schools under the test county."""
    c = org_services.org_create
    units: dict[str, list] = {"village": [world.hebin, world.qinshan_village], "enterprise": [], "social": [],
                              "hospital": [], "school": []}
    for i in range(16):
        parent = world.wuyuan if i % 2 else world.qinshan
        units["village"].append(c(name=f"测试村{i:02d}", code=f"330424T{i:02d}", kind=OrgKind.VILLAGE, parent=parent))
    for i in range(4):
        units["enterprise"].append(c(name=f"测试企业{i}", code=f"330424E9{i}", kind=OrgKind.ENTERPRISE,
                                     parent=world.wuyuan))
        units["social"].append(c(name=f"测试协会{i}", code=f"330424S9{i}", kind=OrgKind.SOCIAL, parent=world.county))
    for i in range(2):
        units["hospital"].append(c(name=f"测试医院{i}", code=f"330424H9{i}", kind=OrgKind.HOSPITAL, parent=world.county))
        units["school"].append(c(name=f"测试学校{i}", code=f"330424X9{i}", kind=OrgKind.SCHOOL, parent=world.county))
    return units


@pytest.fixture
def units(world):
    return add_units(world)


@pytest.fixture
def inspection(world, units):
    return services.inspection_create(
        org=world.county, name="海盐县创先争优活动现场点评", group_name="现场点评第七组", start=START, end=END,
        leader=world.inspector, reported_by="海盐县委", actor=world.inspector)


def xlsform(survey_rows, choices_rows=None, settings_rows=None, extra: dict | None = None) -> bytes:
    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.title = "survey"
    for row in survey_rows:
        sheet.append(row)
    if choices_rows:
        ch = wb.create_sheet("choices")
        for row in choices_rows:
            ch.append(row)
    if settings_rows:
        st = wb.create_sheet("settings")
        for row in settings_rows:
            st.append(row)
    for name, rows in (extra or {}).items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


SURVEY_HEADER = ["type", "name", "label::中文 (zh)", "label::English (en)", "relevant", "required", "constraint",
                 "constraint_message::中文 (zh)", "choice_filter"]
SURVEY = [
    SURVEY_HEADER,
    ["begin_group", "about", "基本情况", "About you", "", "", "", "", ""],
    ["select_one who", "who", "您的身份", "You are", "", "yes", "", "", ""],
    ["integer", "age", "年龄", "Age", "", "yes", ". >= 18 and . <= 120", "年龄须在18到120岁之间", ""],
    ["end_group", "", "", "", "", "", "", "", ""],
    ["begin_group", "views", "评价", "Views", "", "", "", "", ""],
    ["select_one yn", "awareness", "您知道本地正在开展创先争优活动吗？", "Do you know the campaign?", "", "yes", "", "", ""],
    ["select_one sat", "satisfaction", "您对活动成效满意吗？", "Are you satisfied?", "${awareness} = 'yes'", "yes",
     "", "", ""],
    ["select_one yn", "recognition", "您认同活动对本地的作用吗？", "Do you recognise its effect?",
     "${awareness} = 'yes'", "", "", "", ""],
    ["select_multiple ways", "how", "您通过哪些途径了解？", "How did you hear?", "selected(${awareness}, 'yes')", "",
     "count-selected(.) <= 2", "最多选两项", ""],
    ["end_group", "", "", "", "", "", "", "", ""],
    ["select_one town", "town", "所在镇", "Town", "", "", "", "", ""],
    ["select_one village", "village", "所在村", "Village", "", "", "", "", "town = ${town}"],
    ["text", "comment", "意见建议", "Comments", "", "", "string-length(.) <= 200", "", ""],
    ["note", "thanks", "谢谢您的支持！", "Thank you!", "", "", "", "", ""],
]
CHOICES = [
    ["list_name", "name", "label::中文 (zh)", "label::English (en)", "town"],
    ["who", "member", "党员", "Member", ""], ["who", "resident", "群众", "Resident", ""],
    ["yn", "yes", "是", "Yes", ""], ["yn", "no", "否", "No", ""],
    ["sat", "1", "满意", "Satisfied", ""], ["sat", "2", "基本满意", "Fairly satisfied", ""],
    ["sat", "3", "不满意", "Not satisfied", ""], ["sat", "4", "不了解", "Don't know", ""],
    ["ways", "tv", "电视", "TV", ""], ["ways", "web", "网络", "Web", ""], ["ways", "board", "宣传栏", "Board", ""],
    ["town", "wy", "武原镇", "Wuyuan", ""], ["town", "qs", "秦山镇", "Qinshan", ""],
    ["village", "hb", "河滨社区", "Hebin", "wy"], ["village", "yl", "杨柳村", "Yangliu", "qs"],
]
RATES_SHEET = [["rate", "question", "positive", "weights"],
               ["awareness", "awareness", "yes", ""],
               ["satisfaction", "satisfaction", "1 2", "1:100 2:75 3:55 4:0"],
               ["recognition", "recognition", "yes", ""]]


def survey_bytes() -> bytes:
    return xlsform(SURVEY, CHOICES, [["form_title", "form_id", "default_language"], ["群众满意度调查问卷", "xf1", "中文 (zh)"]],
                   extra={"rates": RATES_SHEET})


@pytest.fixture
def questionnaire(inspection, world):
    return services.questionnaire_import(inspection=inspection, data=survey_bytes(), filename="survey.xlsx",
                                         actor=world.inspector)


def answers(aware=True, satisfied="1", recognised="yes", **extra):
    data = {"who": "resident", "age": 45, "awareness": "yes" if aware else "no"}
    if aware:
        data.update(satisfaction=satisfied, recognition=recognised)
    data.update(extra)
    return data


@pytest.fixture
def test_rates(monkeypatch):
    """Only the rates a test registers (not whatever other modules register) feed the funnels."""
    registry: dict[str, core_rates.OrgRate] = {}

    def register(key: str, values_by_code: dict[str, tuple[int, int]], label: str = "测试比率"):
        def provider(orgs, *, start=None, end=None):
            return {o.pk: values_by_code[o.code] for o in orgs if o.code in values_by_code}

        registry[key] = core_rates.OrgRate(key=key, label=label, numerator="x", denominator="n", provider=provider)

    from .. import analysis

    monkeypatch.setattr(analysis, "org_rates", lambda: dict(registry))
    return register
