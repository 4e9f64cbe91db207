"""Demo step (order 700): the county's campaign as the report tells it.

The leading group's 7 meetings with their follow-ups; the campaign with a plan from every party organisation (most
accepted, some returned or late: the matrix has laggards); the "1+9 先锋群评创" round, evaluated with residents'
votes, committee scores, publicity with objections, and published; 30 红领 advisors in 2 batches with monthly logs and
a 双强 evaluation; the 秦万芦荟 cooperative (3 members and 8 mu → 2,530 mu and 250+ households, +80–100k yuan per
household) with its grant on the ledger; the 100-day drive (百日双提升) from June; bulletins; locations for the
contact-point map.

Bulk paths (documented where used) write plans, deliverable records, advisor logs, resident voters and votes with the
same rules the services apply; everything else goes through the services.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from xianfeng.core.audit import audit_record
from xianfeng.core.demo import DEMO_PASSWORD, DEMO_TODAY, DemoContext, demo_step
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import (
    PARTY_KINDS,
    Member,
    Organisation,
    OrgKind,
    Resident,
    Role,
    User,
)

from . import services
from .models import (
    PARTY_CHECKLIST,
    AdvisorLog,
    AwardRound,
    CampaignPlan,
    DeliverableRecord,
    FollowUp,
    Nomination,
    PlanEvent,
    Vote,
)

logger = logging.getLogger(__name__)
YEAR = DEMO_TODAY.year
TZ = timezone.get_default_timezone()

MEETINGS = [  # (date, title, follow-ups for the towns)
    (dt.date(YEAR, 3, 2), "创先争优活动领导小组第一次会议：动员部署，成立领导小组及办公室", "制定本镇活动方案并报送"),
    (dt.date(YEAR, 3, 30), "领导小组第二次会议：审定活动方案，明确县领导联系点", "落实县领导联系点对接"),
    (dt.date(YEAR, 4, 28), "领导小组第三次会议：推进公开承诺，部署“1+9先锋群评创”", "组织党员公开承诺并公示"),
    (dt.date(YEAR, 5, 26), "领导小组第四次会议：选派“红领”党建指导员进驻非公企业", "配合红领进企开展工作"),
    (dt.date(YEAR, 6, 1), "常委会专题研究：部署“百日双提升”行动", "摸排新经济组织和新社会组织底数"),
    (dt.date(YEAR, 7, 28), "领导小组第五次会议：中期督查，通报进度不平衡问题", "整改督查反馈的问题"),
    (dt.date(YEAR, 9, 8), "领导小组第六次会议：总结“百日双提升”行动，部署群众评议", "组织群众参与评议"),
]
# The report counts 7 meetings of the leading group (the standing committee's session is one of them in its count).

TOWN_LOCATIONS = {  # approximate centres (latitude, longitude)
    "海盐县": (30.5260, 120.9460), "武原镇": (30.5270, 120.9440), "秦山镇": (30.4340, 120.9140),
    "西塘桥镇": (30.6070, 121.0160), "沈荡镇": (30.6000, 120.8300), "通元镇": (30.5350, 120.8080),
    "于城镇": (30.6400, 120.9200), "百步镇": (30.6180, 120.7600), "澉浦镇": (30.3800, 120.8600),
}

NOMINEE_CITATIONS = [
    "带头创办服务品牌，群众满意度高", "牵头实施村级集体经济项目，带动农户增收", "坚持走访困难群众，解决实际问题",
    "在企业生产一线攻坚克难，带领团队创新", "组织志愿服务队常态化开展服务", "调解邻里纠纷，维护社区和谐",
]

# (kind, title, month, day, body): the county's own news and briefings, written for the demo from the report's events
BULLETINS = [
    ("news", "我县召开创先争优活动动员部署大会", 3, 5,
     "3月5日，县委召开创先争优活动动员部署大会，县四套班子领导、各镇（街道）和县级各部门主要负责人参加。\n\n"
     "会议印发了全县创先争优活动实施方案，成立由县委书记任组长的活动领导小组，按系统组建指导组，要求各级党组织在"
     "月底前制定本单位活动方案，做到党员公开承诺、领导点评、群众评议“三个全覆盖”。"),
    ("briefing", "创先争优活动简报（第1期）：各级党组织全面制定活动方案", 3, 20,
     "截至3月20日，全县各级党组织已普遍制定活动方案或计划，并报上级党组织备案。\n\n"
     "各指导组分赴联系系统逐一审阅方案，对目标不具体、措施不落地的退回修改。县领导确定联系点83个，其中部门26个、"
     "镇8个、村（社区）24个、非公企业25个。"),
    ("news", "县领导深入联系点指导创先争优活动", 4, 25,
     "4月下旬，县领导分赴各自联系点，听取活动进展汇报，召开党员群众座谈会，现场协调解决基层反映的问题。\n\n"
     "每次指导形成的后续事项由联系点所在单位限期办理，办理情况在下次指导时逐项回看。"),
    ("briefing", "创先争优活动简报（第2期）：党员公开承诺全面展开", 5, 10,
     "“公开承诺、先锋领航”在全县铺开：党员亮身份、作承诺，支部逐项审定后在公示栏公示，接受群众监督。\n\n"
     "全县已有1000余个基层党组织、2万余名党员作出公开承诺。县委组织部提醒各支部：承诺要具体、可检验，"
     "防止“程式化”表述，践诺情况要及时记入台账。"),
    ("news", "30名“红领”党建指导员进驻非公企业", 5, 30,
     "我县从退休干部中选派的两批共30名“红领”党建指导员全部到岗，进驻非公企业开展党建指导。\n\n"
     "指导员每月记录工作日志，围绕“发展强、党建强”双强目标，帮助企业健全党组织、规范组织生活、培养入党积极分子。"),
    ("news", "“百日双提升”行动启动：以党建带工建、带团建", 6, 2,
     "6月1日起，全县开展为期100天的“百日双提升”行动，在新经济组织和新社会组织中以党建带工建、带团建、带妇建。\n\n"
     "各镇（街道）分解了工会、团组织、妇女组织的组建目标，每月报送进展，县活动办按月通报。"),
    ("briefing", "创先争优活动简报（第3期）：秦万芦荟专业合作社带富一方", 7, 6,
     "秦山镇秦万村3名党员从8亩芦荟起步创办专业合作社，在党员创业扶助资金和项目推介的支持下，种植面积扩大到"
     "2530亩，带动250余户农户，户均增收8万至10万元。\n\n"
     "合作社党员与困难户“双带双联系”，提供种苗、技术和销路，成为全县党员创业带富的样板。"),
    ("news", "“1+9先锋群评创”群众评议开始", 9, 1,
     "“1+9先锋群评创”进入群众评议阶段：评选先进基层党组织，以及务实创新、强村富民、文明和谐等9类先锋。\n\n"
     "群众可在门户网站“评选投票”栏目查看候选对象的事迹和平台记录的服务数据，每人每个类别限投一票。"),
    ("briefing", "创先争优活动简报（第4期）：“百日双提升”行动成效", 9, 12,
     "“百日双提升”行动收官。各镇在新经济组织和新社会组织中新建了一批工会、团组织和妇女组织，"
     "完成情况按镇逐项列示于行动页面。\n\n"
     "同期，全县开展“百堂党课”502堂，党员群众参加1.9万余人次；262支志愿服务团开展活动518次。"),
    ("news", "“1+9先锋群评创”拟表彰对象公示", 9, 21,
     "经群众评议、评委会评分，“1+9先锋群评创”拟表彰对象名单现予公示，公示期7天。\n\n"
     "对公示对象有异议的，可在公示期内通过门户网站提出，县活动办将逐件核实并答复。"),
    ("news", "“1+9先锋群评创”结果公布", 9, 29,
     "公示期满，“1+9先锋群评创”结果正式公布。县委号召全县党员向先进学习，把创先争优的好做法转化为长效机制。"),
]


def _aware(day: dt.date, hour: int = 9) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour), TZ)


@demo_step(700)
def build_campaigns(ctx: DemoContext) -> None:
    county = ctx.data["county"]
    admin = ctx.users.get("county_admin")
    with transaction.atomic():
        _locations(ctx)
        campaign = _campaign(ctx, county, admin)
        _meetings(ctx, county, campaign, admin)
        _visit_follow_ups(ctx)
        _advisors(ctx, county, admin)
        _ventures(ctx, county, admin)
        _drive(ctx, county, admin)
        _bulletins(ctx, county, admin)
        _award_round(ctx, county, admin)
    ctx.data.setdefault("summary", {})["leading-group meetings"] = len(MEETINGS)


def _locations(ctx: DemoContext) -> None:
    """Coordinates for the county, the towns and every contact point's unit (around its town) — for the map.

    Bulk path of org_update for these two fields only (plain numbers, no rule beyond their type): one UPDATE batch
    and one audit row.
    """
    rng = ctx.rng
    centre = TOWN_LOCATIONS["海盐县"]
    changed = []
    for org in Organisation.objects.filter(name__in=TOWN_LOCATIONS, depth__lte=2):
        org.latitude, org.longitude = TOWN_LOCATIONS[org.name]
        changed.append(org)
    for org in (Organisation.objects.filter(contact_points__isnull=False).exclude(name__in=TOWN_LOCATIONS)
                .distinct().order_by("path")):
        town = org.full_name.split("/")[1] if org.depth > 2 else ""
        lat, lng = TOWN_LOCATIONS.get(town, centre)
        spread = 0.03 if town else 0.012
        org.latitude = round(lat + rng.uniform(-spread, spread), 5)
        org.longitude = round(lng + rng.uniform(-spread, spread), 5)
        changed.append(org)
    Organisation.objects.bulk_update(changed, ["latitude", "longitude"], batch_size=500)
    audit_record(by=None, action="update", model="orgs.Organisation",
                 summary=f"演示数据：{len(changed)} 个组织的位置（联系点地图）")


def _campaign(ctx: DemoContext, county: Organisation, admin) -> object:
    rng = ctx.rng
    party = sorted(PARTY_KINDS)
    units = [OrgKind.VILLAGE, OrgKind.COMMUNITY, OrgKind.ENTERPRISE]
    campaign = services.campaign_create(
        name=f"{YEAR}年深入开展创先争优活动", org=county, start=dt.date(YEAR, 3, 1),
        implement_from=dt.date(YEAR, 4, 1), evaluate_from=dt.date(YEAR, 11, 1), end=dt.date(YEAR, 12, 31),
        description="以“五个好”“五带头”为主要内容，在全县基层党组织和党员中深入开展创先争优活动。",
        deliverables=[
            {"code": "plan", "name": "活动方案", "org_kinds": party, "due": dt.date(YEAR, 4, 15)},
            {"code": "pledges", "name": "公开承诺", "org_kinds": party, "due": dt.date(YEAR, 5, 31)},
            {"code": "lessons", "name": "专题党课", "org_kinds": party, "due": dt.date(YEAR, 8, 31)},
            {"code": "posts", "name": "先锋服务岗", "org_kinds": units, "due": dt.date(YEAR, 7, 31)},
            {"code": "lessons_learned", "name": "经验总结", "org_kinds": [OrgKind.TOWN, OrgKind.DEPARTMENT],
             "due": dt.date(YEAR, 12, 15)},
        ], actor=admin)
    services.campaign_advance(campaign=campaign, actor=admin)  # to 组织实施
    # Bulk path for ~1,000 plans: the same states plan_save/plan_submit/plan_return/plan_accept produce, one history
    # row per step, one audit row for the batch. 90 % accepted, 4 % waiting for review, 3 % returned, 3 % not yet.
    required = list(services.required_orgs(campaign, party).values_list("id", "name"))
    plans, steps = [], []
    for org_id, name in required:
        roll = rng.random()
        if roll < 0.03:
            continue
        status = ("accepted" if roll < 0.93 else "submitted" if roll < 0.97 else "returned")
        submitted = _aware(dt.date(YEAR, 3, 20) + dt.timedelta(days=rng.randint(0, 30)), rng.randint(8, 17))
        reviewed = submitted + dt.timedelta(days=rng.randint(1, 6)) if status != "submitted" else None
        note = "目标任务不够具体，请结合本单位实际细化承诺事项" if status == "returned" else ""
        plans.append(CampaignPlan(campaign=campaign, org_id=org_id, status=status, title=f"{name}创先争优活动方案",
                                  text="一、指导思想\n二、目标要求\n三、主要内容（“五个好”“五带头”）\n四、方法步骤\n五、组织领导",
                                  submitted_at=submitted, reviewed_at=reviewed, review_note=note))
        steps.append((org_id, ["draft", "submitted"] + ([status] if status != "submitted" else [])))
    CampaignPlan.objects.bulk_create(plans, batch_size=1000)
    ids = dict(CampaignPlan.objects.filter(campaign=campaign).values_list("org_id", "id"))
    PlanEvent.objects.bulk_create([PlanEvent(plan_id=ids[org_id], status=s, note="") for org_id, states in steps
                                   for s in states], batch_size=2000)
    # Deliverable records (bulk path of deliverable_record: required kinds only, dates not after the due date+30).
    records = []
    for item in campaign.deliverables.exclude(code="plan"):
        share = {"pledges": 0.96, "lessons": 0.9, "posts": 0.88, "lessons_learned": 0.0}[item.code]
        for org_id in services.required_orgs(campaign, item.org_kinds).values_list("id", flat=True):
            if rng.random() < share:
                day = min(DEMO_TODAY, item.due - dt.timedelta(days=rng.randint(-20, 40)))
                records.append(DeliverableRecord(deliverable=item, org_id=org_id, done_on=day, note=""))
    DeliverableRecord.objects.bulk_create(records, batch_size=2000)
    audit_record(by=admin, action="import", model="campaigns.CampaignPlan",
                 summary=f"演示数据：活动方案 {len(plans)} 份，交付记录 {len(records)} 条")
    ctx.data["campaign"] = campaign
    return campaign


def _meetings(ctx: DemoContext, county: Organisation, campaign, admin) -> None:
    towns = list(Organisation.objects.filter(kind=OrgKind.TOWN).order_by("path"))
    leaders = ctx.data.get("leaders", [])
    chair = leaders[0][0].name if leaders else ""
    for i, (day, title, task) in enumerate(MEETINGS):
        kind = "standing_committee" if title.startswith("常委会") else "leading_group"
        follow = [{"org": towns[(i + k) % len(towns)], "text": task, "due": day + dt.timedelta(days=20)}
                  for k in range(3)]
        meeting = services.meeting_record(
            org=county, kind=kind, date=day, title=title, chair=chair, campaign=campaign, actor=admin,
            attendees="领导小组成员，各镇党委书记，县直有关部门主要负责人",
            minutes=f"会议听取了活动办公室的工作汇报，研究了下一阶段工作。会议要求：{task}。", follow_ups=follow)
        for item in meeting.follow_ups.all():
            if item.due < DEMO_TODAY - dt.timedelta(days=10) and ctx.rng.random() < 0.85:
                services.follow_up_close(follow_up=item, done_on=item.due - dt.timedelta(days=ctx.rng.randint(0, 10)),
                                         note="已按要求落实", actor=admin)


def _visit_follow_ups(ctx: DemoContext) -> None:
    """The follow-ups of the guidance visits (made tasks when orgs' demo step recorded the visits): most of those
    already due are done."""
    for item in FollowUp.objects.filter(visit__isnull=False).order_by("id"):
        if item.due < DEMO_TODAY and ctx.rng.random() < 0.7:
            services.follow_up_close(follow_up=item, done_on=item.due, note="已整改到位", actor=None)


def _advisors(ctx: DemoContext, county: Organisation, admin) -> None:
    from xianfeng.orgs.demo import _unique_id

    rng = ctx.rng
    enterprises = list(Organisation.objects.filter(kind=OrgKind.ENTERPRISE).order_by("path"))
    chosen = rng.sample(enterprises, 30)
    batches = [
        services.advisor_batch_create(org=county, name="第一批“红领”党建指导员", start=dt.date(YEAR, 5, 28),
                                      end=dt.date(YEAR + 2, 5, 27), actor=admin),
        services.advisor_batch_create(org=county, name="第二批“红领”党建指导员", start=dt.date(YEAR, 8, 1),
                                      end=dt.date(YEAR + 2, 7, 31), actor=admin),
    ]
    posts = ["原县农经局副局长", "原镇党委副书记", "原县总工会副主席", "原县经贸局调研员", "原镇人大主席", "原县委组织部科长"]
    logs = []
    topics = ["指导企业党支部规范组织生活", "帮助企业建立工会、团组织", "协调解决企业用工难题", "发展入党积极分子",
              "开展党员先锋岗创建", "宣讲惠企政策"]
    for i, firm in enumerate(chosen):
        batch = batches[0] if i < 18 else batches[1]
        birth = dt.date(1948 + i % 8, 1 + i % 12, 1 + i)
        gender = "M" if rng.random() < 0.85 else "F"
        person = org_services.person_upsert(
            name=ctx.person_name(gender),
            id_number=_unique_id(ctx, "330424", birth, gender), phone="")
        advisor = services.advisor_place(batch=batch, person=person, enterprise=firm, former_post=rng.choice(posts),
                                         actor=admin)
        # Bulk path of advisor_log_record: one log per month inside the term, up to the demo's today.
        month = batch.start.replace(day=1)
        while month <= DEMO_TODAY:
            logs.append(AdvisorLog(advisor=advisor, month=month, text=rng.choice(topics), hours=rng.randint(8, 24)))
            month = (month + dt.timedelta(days=32)).replace(day=1)
        checklist = {code: rng.random() < 0.85 for code, _ in PARTY_CHECKLIST}
        # The evaluation is of the year the advisor's term began, never of a year before the advisor was there.
        services.dual_brand_evaluate(enterprise=firm, year=YEAR, output_wan=Decimal(rng.randint(2000, 60000)),
                                     output_growth_pct=Decimal(str(round(rng.uniform(-3, 25), 1))),
                                     tax_wan=Decimal(rng.randint(50, 3000)), employees=rng.randint(60, 1200),
                                     checklist=checklist, actor=admin)
    AdvisorLog.objects.bulk_create(logs, batch_size=1000)
    audit_record(by=admin, action="import", model="campaigns.AdvisorLog", summary=f"演示数据：红领工作记录 {len(logs)} 条")


def _ventures(ctx: DemoContext, county: Organisation, admin) -> None:
    qinwan = Organisation.objects.get(name="秦万村")
    founders = list(Member.objects.in_subtree(qinwan).order_by("id")[:3])
    venture = services.venture_create(
        org=qinwan, name="海盐县秦万芦荟专业合作社", kind="cooperative", founded=dt.date(2006, 3, 1),
        founders=founders, actor=admin,
        description="3名党员带头试种芦荟，从8亩起步，发展成带动250余户农户、户均增收8万至10万元的专业合作社。")
    for day, members, area, households, income in [
        (dt.date(2006, 3, 1), 3, "8", 0, 0), (dt.date(2007, 12, 31), 5, "120", 18, 12_000),
        (dt.date(2008, 12, 31), 9, "600", 70, 30_000), (dt.date(2010, 12, 31), 14, "1500", 160, 60_000),
        (dt.date(YEAR - 1, 12, 31), 21, "2300", 238, 80_000), (dt.date(YEAR, 6, 30), 23, "2530", 256, 100_000),
    ]:
        services.venture_figure_record(venture=venture, date=day, members=members, area_mu=Decimal(area),
                                       households=households, income_per_household_yuan=income, actor=admin)
    services.venture_fund_allocate(org=county, amount_fen=100_000_000, key=f"demo:venture_fund:{YEAR}", actor=admin)
    services.venture_support_record(venture=venture, kind="grant", date=dt.date(YEAR, 4, 10), title="党员创业扶助资金",
                                    amount_fen=20_000_000, fund_org=county, key=f"demo:qinwan:{YEAR}", actor=admin)
    services.venture_support_record(venture=venture, kind="fair", date=dt.date(YEAR, 5, 16), title="党员创业项目推介会",
                                    actor=admin)
    services.venture_support_record(venture=venture, kind="training", date=dt.date(YEAR, 6, 20),
                                    title="芦荟种植与深加工技术培训", actor=admin)
    rng = ctx.rng
    villages = list(Organisation.objects.filter(kind=OrgKind.VILLAGE).exclude(pk=qinwan.pk).order_by("path"))
    for i, (name, kind) in enumerate([("葡萄专业合作社", "cooperative"), ("家庭农场", "family_farm"),
                                      ("农机服务专业合作社", "cooperative"), ("电子商务有限公司", "enterprise")]):
        village = villages[(i * 7) % len(villages)]
        other = services.venture_create(org=village, name=f"{village.name}{name}", kind=kind,
                                        founded=dt.date(YEAR - 3 + i % 2, 3, 1), actor=admin)
        mu, reached = rng.randint(20, 60), rng.randint(5, 15)
        for year in (YEAR - 1, YEAR):
            services.venture_figure_record(venture=other, date=dt.date(year, 6, 30), members=rng.randint(2, 6),
                                           area_mu=Decimal(mu), households=reached,
                                           income_per_household_yuan=rng.randint(8, 30) * 1000, actor=admin)
            mu, reached = mu * 2, reached * 2
        services.venture_support_record(venture=other, kind="grant", date=dt.date(YEAR, 4, 10), title="党员创业扶助资金",
                                        amount_fen=rng.randint(2, 8) * 1_000_000, fund_org=county,
                                        key=f"demo:venture:{other.pk}", actor=admin)


def _drive(ctx: DemoContext, county: Organisation, admin) -> None:
    """百日双提升 from 1 June: party building leads union, youth-league and women's-federation building in the new
    economic and social organisations; targets per town, progress reported every few weeks."""
    rng = ctx.rng
    start = dt.date(YEAR, 6, 1)
    towns = list(Organisation.objects.filter(kind=OrgKind.TOWN).order_by("path"))
    targets = [(t, metric, rng.randint(lo, hi)) for t in towns
               for metric, lo, hi in (("union", 8, 20), ("youth_league", 4, 10), ("women", 3, 8))]
    drive = services.drive_create(org=county, name="“百日双提升”行动", start=start, end=start + dt.timedelta(days=99),
                                  targets=targets, actor=admin)
    for target in drive.targets.all():
        final = min(target.target, round(target.target * rng.uniform(0.75, 1.15)))
        for k, day in enumerate((start + dt.timedelta(days=30), start + dt.timedelta(days=60),
                                 start + dt.timedelta(days=99))):
            services.drive_progress_report(target=target, date=day, achieved=round(final * (k + 1) / 3), actor=admin)


def _bulletins(ctx: DemoContext, county: Organisation, admin) -> None:
    issue = 0
    for kind, title, month, day, body in BULLETINS:
        if kind == "briefing":
            issue += 1
        bulletin = services.bulletin_create(
            org=county, kind=kind, issue=issue if kind == "briefing" else None, title=title, actor=admin,
            body=f"{body}\n\n（县委创先争优活动领导小组办公室供稿）")
        services.bulletin_publish(bulletin=bulletin, at=_aware(dt.date(YEAR, month, day), 10), actor=admin)


def _award_round(ctx: DemoContext, county: Organisation, admin) -> None:
    """The 1+9 round: nominations with the platform's figures, residents' votes (bulk path), committee scores,
    publicity with two objections answered, and the published list."""
    rng = ctx.rng
    vote_start, vote_end = _aware(dt.date(YEAR, 9, 1)), _aware(dt.date(YEAR, 9, 16), 18)
    award = services.award_round_create(org=county, name=f"{YEAR}年度“1+9先锋群评创”", vote_start=vote_start,
                                        vote_end=vote_end, actor=admin)
    categories = list(award.categories.all())
    towns = list(Organisation.objects.filter(kind=OrgKind.TOWN).order_by("path"))
    before = vote_start - dt.timedelta(days=3)
    units = list(Organisation.objects.filter(kind__in=[OrgKind.VILLAGE, OrgKind.COMMUNITY]).order_by("path"))
    nominee_orgs = rng.sample(units, 14)
    members_by_town = {t.pk: list(Member.objects.in_subtree(t).select_related("person", "org").order_by("id")[:40])
                       for t in towns}
    # The platform's figures for every nominee's organisation, each registered rate computed once for all of them.
    from xianfeng.core.rates import org_rates

    subjects: list[Organisation] = list(nominee_orgs)
    picks: dict[int, list[Member]] = {}
    for category in categories[1:]:
        picks[category.pk] = []
        for town in rng.sample(towns, 5):
            pool = [m for m in members_by_town[town.pk] if m not in picks[category.pk]]
            picks[category.pk].append(rng.choice(pool))
        subjects += [m.org for m in picks[category.pk]]
    figures: dict[int, dict] = {o.pk: {} for o in subjects}
    for key, rate in org_rates().items():
        try:
            with transaction.atomic():
                values = rate.compute(subjects)
        except Exception:  # another module's rate failing leaves its figure out, as nomination_create does
            logger.exception("rate %s failed in the demo's nominations", key)
            continue
        for org_id, (x, n) in values.items():
            if n and org_id in figures:
                figures[org_id][key] = {"label": rate.label, "x": x, "n": n}
    nominations: list[Nomination] = []
    for org in nominee_orgs:
        town = next(t for t in towns if org.path.startswith(t.path))
        nominations.append(services.nomination_create(
            category=categories[0], nominated_by=town, nominee_org=org, citation=rng.choice(NOMINEE_CITATIONS),
            now=before, evidence=figures[org.pk], actor=admin))
    for category in categories[1:]:
        for member in picks[category.pk]:
            town = next(t for t in towns if member.org.path.startswith(t.path))
            nominations.append(services.nomination_create(
                category=category, nominated_by=town, nominee_member=member, citation=rng.choice(NOMINEE_CITATIONS),
                now=before, evidence=figures[member.org_id], actor=admin))
    services.award_round_open_voting(award=award, actor=admin)
    _votes(ctx, award, categories, nominations, vote_start, vote_end)
    scorers = [ctx.users[name] for name in ("county_admin", "inspector_demo") if name in ctx.users]
    for nomination in nominations:
        for scorer in scorers:
            services.committee_score(nomination=nomination, actor=scorer, score=rng.randint(70, 98))
    award = services.award_round_start_publicity(award=award, now=_aware(dt.date(YEAR, 9, 21)), actor=admin)
    awarded = list(Nomination.objects.filter(category__round=award, status="awarded").order_by("id"))
    for nomination, upheld in ((awarded[3], False), (awarded[-2], False)):
        objection = services.objection_lodge(nomination=nomination, name=ctx.faker.name(),
                                             contact=f"139{rng.randint(0, 99_999_999):08d}",
                                             text="反映该同志事迹材料有夸大，请核实。", now=_aware(dt.date(YEAR, 9, 23)))
        services.objection_answer(objection=objection, upheld=upheld, actor=admin,
                                  answer="经县创先争优活动领导小组办公室核实，所反映问题不属实，已电话答复反映人。")
    services.award_round_publish(award=award, now=_aware(dt.date(YEAR, 9, 29)), actor=admin)
    ctx.data["award_round"] = AwardRound.objects.get(pk=award.pk)


def _votes(ctx: DemoContext, award, categories, nominations, start: dt.datetime, end: dt.datetime) -> None:
    """Bulk path of vote_cast: residents with a sign-in (resident role, linked to their person, the demo password),
    each voting at most once per category inside the window — the database's unique constraints check it on insert."""
    rng = ctx.rng
    residents = list(Resident.objects.filter(person__user__isnull=True).select_related("person", "org")
                     .order_by("id")[: max(60, int(300 * ctx.scale))])
    password = make_password(DEMO_PASSWORD)  # one hash for all, as a bulk sign-up would
    users = [User(username=f"voter_{r.person_id}", first_name=r.person.name[:150], person=r.person, password=password)
             for r in residents]
    User.objects.bulk_create(users, batch_size=1000)
    users = list(User.objects.filter(username__in=[u.username for u in users]).order_by("id"))
    org_of = {r.person_id: r.org_id for r in residents}
    Role.objects.bulk_create([Role(user=u, kind=Role.Kind.RESIDENT, org_id=org_of[u.person_id]) for u in users],
                             batch_size=1000)
    by_category: dict[int, list[Nomination]] = {}
    for n in nominations:
        by_category.setdefault(n.category_id, []).append(n)
    weights = {n.pk: rng.uniform(0.2, 3.0) for n in nominations}
    seconds = int((end - start).total_seconds())
    votes = []
    for user in users:
        for category in rng.sample(categories, rng.randint(3, len(categories))):
            options = by_category.get(category.pk, [])
            if not options:
                continue
            choice = rng.choices(options, weights=[weights[n.pk] for n in options])[0]
            votes.append(Vote(category=category, nomination=choice, voter=user, person_id=user.person_id,
                              ip=f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"))
    Vote.objects.bulk_create(votes, batch_size=2000)
    # `at` is auto_now_add: move each voter's ballot to its own moment inside the window (a voter fills every
    # category at one sitting). The moments have their own stream, so the rest of the county stays as it was.
    moments = random.Random(rng.randint(0, seconds))
    for user in users:
        Vote.objects.filter(category__round=award, voter=user).update(
            at=start + dt.timedelta(seconds=moments.randint(0, seconds)))
    audit_record(by=None, action="import", model="campaigns.Vote",
                 summary=f"演示数据：{len(users)} 位居民评议，{len(votes)} 票")
    ctx.data["demo_votes"] = len(votes)

