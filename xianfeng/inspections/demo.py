"""Demo step: the inspection the report describes — 现场点评第七组, four people, Sept 13–16 in the demo county.

Spot checks of 县卫生局, 县委政法委, 武原镇 and 秦山镇; two seminars; the draw with the report's quotas (15 villages or
communities, 2 enterprises, 2 social organisations, 1 hospital, 1 school); 172 people interviewed door to door and
in the street; 200 questionnaires issued and collected, 199 aware and 198 satisfied. Everything goes through the
services; the 200 responses use responses_bulk_create, which checks every answer by the same rules as
response_submit and writes them in one statement.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from xianfeng.core.demo import DEMO_PASSWORD, DEMO_TODAY, DemoContext, demo_step
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import Organisation, Role

from . import services
from .models import DrawUnit, Finding, Inspection

GROUP = "现场点评第七组"
SURVEY = [
    ["type", "name", "label::中文 (zh)", "label::English (en)", "required", "relevant", "constraint",
     "constraint_message::中文 (zh)"],
    ["begin_group", "about", "基本情况", "About you", "", "", "", ""],
    ["select_one who", "who", "您的身份", "You are", "yes", "", "", ""],
    ["integer", "age", "您的年龄", "Your age", "", "", ". >= 16 and . <= 110", "年龄须在16到110岁之间"],
    ["end_group", "", "", "", "", "", "", ""],
    ["begin_group", "views", "对创先争优活动的评价", "Your view of the campaign", "", "", "", ""],
    ["select_one yn", "awareness", "您知道本地正在开展创先争优活动吗？", "Do you know the campaign is under way here?",
     "yes", "", "", ""],
    ["select_one sat", "satisfaction", "您对本地创先争优活动的成效满意吗？", "Are you satisfied with what it achieved?",
     "yes", "", "", ""],
    ["select_one yn", "recognition", "您认为活动给身边带来了实实在在的变化吗？",
     "Has it brought real change around you?", "yes", "", "", ""],
    ["select_multiple ways", "how", "您通过哪些途径了解活动？（最多两项）", "How did you hear of it? (two at most)", "",
     "${awareness} = 'yes'", "count-selected(.) <= 2", "最多选两项"],
    ["text", "comment", "您对活动还有什么意见建议？", "Any suggestion?", "", "", "", ""],
    ["end_group", "", "", "", "", "", "", ""],
]
CHOICES = [
    ["list_name", "name", "label::中文 (zh)", "label::English (en)"],
    ["who", "member", "党员", "Party member"], ["who", "resident", "群众", "Resident"],
    ["yn", "yes", "是", "Yes"], ["yn", "no", "否", "No"],
    ["sat", "1", "满意", "Satisfied"], ["sat", "2", "基本满意", "Fairly satisfied"], ["sat", "3", "不满意", "Not satisfied"],
    ["sat", "4", "不了解", "Don't know"],
    ["ways", "meeting", "党员会议、党课", "Meetings, lessons"], ["ways", "board", "宣传栏、黑板报", "Boards"],
    ["ways", "media", "报纸、电视、广播", "Newspaper, TV, radio"], ["ways", "phone", "网络、手机报", "Web, mobile newspaper"],
]
RATES = [["rate", "question", "positive", "weights"], ["awareness", "awareness", "yes", ""],
         ["satisfaction", "satisfaction", "1 2", "1:100 2:75 3:55 4:0"], ["recognition", "recognition", "yes", ""]]
COMMENTS = ["希望承诺事项多公示进展", "党员服务到家很及时", "", "", "希望多开展便民服务", "网格员经常上门", "", "建议活动常态化"]


def survey_xlsx() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "survey"
    for row in SURVEY:
        ws.append(row)
    for title, rows in (("choices", CHOICES), ("rates", RATES),
                        ("settings", [["form_title", "form_id", "default_language"],
                                      ["创先争优活动群众满意度调查问卷", "cxzy_survey", "中文 (zh)"]])):
        sheet = wb.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@demo_step(900)
def build_inspection(ctx: DemoContext) -> None:
    rng = ctx.rng
    year = DEMO_TODAY.year
    county = ctx.data.get("county") or Organisation.objects.get(depth=1)
    leader = ctx.users.get("inspector_demo")
    if leader is None:
        from xianfeng.orgs.models import User

        leader = User.objects.get(username="inspector_demo")
    members = []
    for i, name in enumerate(["陈立群", "王晓燕", "刘建明"], start=2):
        # the other three members of the group sign in like every demo login (the inspection's pages name them)
        user = org_services.user_create(username=f"inspector{i}_demo", password=DEMO_PASSWORD, first_name=name)
        org_services.role_grant(user=user, kind=Role.Kind.INSPECTOR, org=county)
        members.append(user)
    start, end = dt.date(year, 9, 13), dt.date(year, 9, 16)
    inspection = services.inspection_create(
        org=county, name=f"{county.name}创先争优活动现场点评", group_name=GROUP, start=start, end=end, leader=leader,
        members=members, reported_by=f"{county.name}委", questionnaires_issued=200, actor=leader)
    for name, day in (("县卫生局", 13), ("县委政法委", 13), ("武原镇", 14), ("秦山镇", 14)):
        services.spot_check_add(inspection=inspection, org=Organisation.objects.get(name=name), date=dt.date(year, 9, day),
                                notes="听取汇报，查阅台账，走访党员群众", actor=leader)
    frozen = services.draw_freeze(inspection=inspection, actor=leader, today=dt.date(year, 9, 12))
    draw = services.draw_publish(draw=frozen, seed=f"{year}-09-12 福利彩票3D 4 7 1",
                                 seed_source="抽查前一日公布的福利彩票3D开奖号码", actor=leader)
    units = list(DrawUnit.objects.filter(draw=draw).select_related("org", "inspector").order_by("stratum", "position"))
    ctx.data["inspection"] = inspection
    # Seminars: one in a town, one in a community.
    wuyuan, hebin = Organisation.objects.get(name="武原镇"), Organisation.objects.get(name="河滨社区")
    services.seminar_record(inspection=inspection, title="党员群众座谈会（武原镇）", date=dt.date(year, 9, 14),
                            members=9, residents=6, unit=wuyuan, notes="围绕先锋承诺、点对点服务座谈", actor=leader)
    services.seminar_record(inspection=inspection, title="党员群众座谈会（河滨社区）", date=dt.date(year, 9, 15),
                            members=7, residents=8, unit=hebin, notes="围绕积分卡管理、一联双管座谈", actor=leader)
    # Records reviewed in every drawn unit.
    from .models import checklist_for

    for i, u in enumerate(units):
        items = [k for k, _ in checklist_for(u.org.kind)]
        found = items if i % 5 else items[:-1]
        services.record_review_record(inspection=inspection, unit=u.org, date=dt.date(year, 9, 14 + i % 3),
                                      checked=found, evidence="活动方案、承诺台账、会议记录", actor=u.inspector or leader)
    # 172 people reached door to door and in the street.
    for i in range(172):
        u = units[i % len(units)]
        services.interview_record(inspection=inspection, unit=u.org, respondent_type="member" if i % 3 == 0 else "resident",
                                  method="door_to_door" if i % 2 == 0 else "street", date=dt.date(year, 9, 13 + i % 4),
                                  who="党员" if i % 3 == 0 else "群众", place=u.org.name,
                                  notes=rng.choice(["知晓活动，认可承诺公示", "对网格服务满意", "希望服务更常态化",
                                                    "了解先锋承诺内容"]), actor=u.inspector or leader)
    # 200 questionnaires: 199 aware, 198 satisfied (满意 or 基本满意), 186 who see real change.
    questionnaire = services.questionnaire_import(inspection=inspection, data=survey_xlsx(),
                                                  filename="创先争优活动群众满意度调查问卷.xlsx", actor=leader)
    order = list(range(200))
    rng.shuffle(order)
    unaware = {order[0]}
    unsatisfied = {order[0], order[1]}
    unrecognising = set(order[:14])
    rows = []
    for i in range(200):
        u = units[i % len(units)]
        aware = i not in unaware
        answers: dict[str, Any] = {"who": "member" if i % 4 == 0 else "resident", "age": rng.randint(20, 82),
                   "awareness": "yes" if aware else "no",
                   "satisfaction": ("3" if i == order[1] else "4") if i in unsatisfied else rng.choice("1112"),
                   "recognition": "no" if i in unrecognising else "yes",
                   "comment": rng.choice(COMMENTS)}
        if aware:
            answers["how"] = rng.sample(["meeting", "board", "media", "phone"], k=rng.randint(1, 2))
        rows.append({"answers": answers, "respondent_type": answers["who"],
                     "method": "door_to_door" if i % 2 == 0 else "street", "unit": u.org, "stratum": u.stratum,
                     "client_key": f"demo-{i:03d}", "today": DEMO_TODAY})
    services.responses_bulk_create(questionnaire=questionnaire, rows=rows, actor=leader)
    # Findings from the data, accepted; tasks for the rectification list.
    services.findings_draft(inspection=inspection, actor=leader, today=DEMO_TODAY)
    for finding in Finding.objects.filter(inspection=inspection):
        services.finding_update(finding=finding, status=Finding.Status.ACCEPTED, actor=leader)
    if not Finding.objects.filter(inspection=inspection, kind="formulaic_pledges").exists():
        services.finding_add(inspection=inspection, kind="formulaic_pledges", title="少数党员的公开承诺程式化",
                             text="随机检查的单位中，部分党员的公开承诺内容雷同、表述笼统，缺少可检验的具体事项。",
                             recommendation=_targeted(), actor=leader)
    gap = Finding.objects.filter(inspection=inspection, kind="awareness_gap").first()
    if gap is not None:
        services.rectification_create(finding=gap, org=Organisation.objects.get(name="县委宣传部"),
                                      task="梳理群众认同感偏低的原因，面向群众公开承诺践诺成果",
                                      deadline=DEMO_TODAY + dt.timedelta(days=30), actor=leader, today=DEMO_TODAY)
    formulaic = Finding.objects.filter(inspection=inspection, kind="formulaic_pledges").first()
    if formulaic is not None:
        for u in units[:2]:
            services.rectification_create(finding=formulaic, org=u.org, task="组织党员重新审定公开承诺，逐项明确可检验的内容和时限",
                                          deadline=DEMO_TODAY + dt.timedelta(days=20), actor=leader, today=DEMO_TODAY)
    services.inspection_update(inspection=inspection, status=Inspection.Status.REPORTING, actor=leader)


def _targeted() -> str:
    from .analysis import RECOMMENDATIONS

    return RECOMMENDATIONS["targeted"]
