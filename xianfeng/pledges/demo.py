"""Demo step: the county's pledge round at the report's scale.

Every member of the county (20,000+) and every party organisation (1,000+, 组织承诺) has a pledge in the demo year's
round; 9,300+ are fulfilled. Texts mix specific pledges (composed from when / where / for whom / what, with numbers)
and formulaic ones (a few dozen templates copied across members with small edits, and vague boilerplate).

Bulk path (the services would take minutes): items pass the same `clean_items` validation as `pledge_create`; each
pledge's status is reached by walking the same transitions the services allow (PATHS below), writing one PledgeEvent
per step; fulfilled pledges carry their confirmation date and evidence; ratings keep one per resident per pledge.
Every step has its actor and its moment, as the services would have recorded them: a member's own steps by the
member's login or, for members without one, by the secretary or administrator who entered the paper pledge for them;
reviews by the organisation that reviews (the member's own for members, the parent for organisations' pledges);
moments spread over the round's months (drafted in March, published by April, fulfilled through the summer).
Then the real `formulaic_detect` clusters the round, and the Hebin pilot's fulfilled pledges are evaluated, ranked
and recognised through the services.
"""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from xianfeng.core.demo import DEMO_PASSWORD, DEMO_TODAY, DemoContext, demo_step
from xianfeng.orgs.models import Member, Organisation, Role, User

from . import services
from .models import Milestone, Pledge, PledgeEvent, PledgeItem, Rating, Status  # noqa: F401 (Milestone: fast_insert)

FULFILLED_SHARE = 0.465  # 20,400 × 0.465 ≈ 9,490 fulfilled (the report: 9,300+)
# final status → share of member pledges (the rest are fulfilled)
OTHER_STATES = [(Status.NOT_FULFILLED, 0.03), (Status.CLAIMED, 0.02), (Status.IN_PROGRESS, 0.34),
                (Status.PUBLISHED, 0.08), (Status.SUBMITTED, 0.025), (Status.RETURNED, 0.01), (Status.APPROVED, 0.01),
                (Status.DRAFT, 0.01)]
PATHS = {  # the services' transitions, in order, to reach each status: (action, to)
    Status.DRAFT: [],
    Status.SUBMITTED: [("提交审定", Status.SUBMITTED)],
    Status.RETURNED: [("提交审定", Status.SUBMITTED), ("退回", Status.RETURNED)],
    Status.APPROVED: [("提交审定", Status.SUBMITTED), ("审定通过", Status.APPROVED)],
    Status.PUBLISHED: [("提交审定", Status.SUBMITTED), ("审定通过", Status.APPROVED), ("公示", Status.PUBLISHED)],
}
PATHS[Status.IN_PROGRESS] = PATHS[Status.PUBLISHED] + [("开始践诺", Status.IN_PROGRESS)]
PATHS[Status.CLAIMED] = PATHS[Status.IN_PROGRESS] + [("申报践诺", Status.CLAIMED)]
PATHS[Status.FULFILLED] = PATHS[Status.CLAIMED] + [("确认践诺", Status.FULFILLED)]
PATHS[Status.NOT_FULFILLED] = PATHS[Status.IN_PROGRESS] + [("认定未践诺", Status.NOT_FULFILLED)]

TEMPLATES = [
    "立足本职岗位，充分发挥共产党员先锋模范作用，全心全意为人民服务",
    "认真学习党的理论，不断提高自身素质，做一名合格的共产党员",
    "每月为社区孤寡老人上门服务一次，帮助解决生活困难",
    "带头遵守法律法规，积极参与社区志愿服务活动，树立党员良好形象",
    "密切联系群众，倾听群众呼声，为群众办实事、解难事",
    "爱岗敬业，勤奋工作，争创一流业绩，为单位发展作贡献",
    "每周参加一次环境卫生整治，保持村容村貌整洁",
    "带头参与平安创建，积极化解邻里矛盾，维护社会和谐稳定",
    "结对帮扶一户困难家庭，每季度走访一次，帮助解决实际困难",
    "严格遵守党的纪律，廉洁自律，坚决抵制不正之风",
    "积极参加党组织生活，按时交纳党费，完成党组织交给的任务",
    "提高服务质量，改进工作作风，让群众满意",
    "带头移风易俗，倡导文明新风，弘扬社会正气",
    "关心集体，团结同志，营造和谐的工作氛围",
    "积极为村里发展献计献策，团结带领群众共同致富",
]
VAGUE = ["坚定理想信念，永葆党员本色", "做好本职工作，努力完成各项任务", "强化宗旨意识，做群众的贴心人",
         "发挥余热，为社会和谐贡献力量", "以身作则，带头做好各项工作", "增强党性修养，提高思想境界"]
PREFIXES = ["", "", "", "我承诺：", "本人承诺", "今年我将"]
SUFFIXES = ["", "", "。", "！", "，请群众监督"]
WHEN = ["年底前", "6月底前", "9月前", "国庆前", "每月", "每周六上午", "每季度", "汛期前", "春节前", "每周三下午", "8月份",
        "10月底前", "每月第一个周日", "暑假期间", "重阳节前后", "每半年"]
WHOM = ["低保户", "独居老人", "留守儿童", "残疾人", "困难党员", "空巢老人", "外来务工人员", "困难学生", "高龄老人",
        "五保户", "新居民", "退役军人", "重病患者家庭"]
WHAT = ["送{n}袋大米和食用油", "上门测{n}次血压血糖", "免费维修家电{n}台", "辅导作业{n}次", "代办医保报销{n}件",
        "清理房前屋后垃圾{n}处", "更换老化电线{n}处", "送学上门{n}次", "理发{n}人次", "安装{n}个烟感报警器",
        "修好{n}处漏雨的屋顶", "募集助学金{n}千元", "送去{n}床棉被", "检查{n}户燃气管道", "开设{n}节书法课",
        "组织{n}场健康讲座", "帮销农产品{n}百斤", "疏通{n}处下水道", "调解{n}起邻里纠纷", "种植{n}棵树苗",
        "代购{n}张返乡车票", "修补{n}百米机耕路", "补办{n}份证件", "送{n}次午餐", "装{n}盏太阳能路灯"]
WHERE = ["{unit}", "{unit}{g}组", "{unit}{g}号楼", "{unit}文化礼堂", "{unit}老年活动中心", "{unit}卫生室", "{unit}东头"]
EVIDENCE = ["已按承诺完成，群众签字确认", "事项全部完成，有照片和台账", "已完成，受益群众满意", "按期完成，记入践诺台账"]
# Who takes which step: the member (or whoever enters the pledge for them) or the reviewing organisation.
OWN_STEPS = frozenset({"起草", "提交审定", "开始践诺", "申报践诺"})
# The demo logins who enter and review pledges for their subtree (the most specific one applies).
RECORDERS = ("hebin_secretary", "qinshan_secretary", "wuyuan_admin", "county_admin")
TZ = timezone.get_default_timezone()
EXPLANATIONS = ["因道路改造工程推迟，事项顺延到明年上半年完成", "本人因病住院，由支部安排其他党员接续完成",
                "因政策调整无法实施，已向群众说明情况", "资金未落实，改为明年列入村级实事项目"]

def _specific(ctx: DemoContext, unit: str) -> str:
    rng = ctx.rng
    where = rng.choice(WHERE).format(unit=unit, g=rng.randint(1, 12))
    what = rng.choice(WHAT).format(n=rng.randint(2, 30))
    return f"{rng.choice(WHEN)}为{where}的{rng.randint(2, 15)}户{rng.choice(WHOM)}{what}"


def _formulaic(ctx: DemoContext) -> str:
    rng = ctx.rng
    if rng.random() < 0.25:
        return rng.choice(VAGUE)
    text = rng.choice(TEMPLATES)
    if rng.random() < 0.3:
        text = text.replace("，", "。", 1)
    return rng.choice(PREFIXES) + text + rng.choice(SUFFIXES)


def _unit_name(org: Organisation) -> str:
    parts = org.full_name.split("/")
    return parts[2] if len(parts) > 2 else parts[-1]


@demo_step(200)
def build_pledges(ctx: DemoContext) -> None:
    rng = ctx.rng
    county = ctx.data.get("county") or Organisation.objects.get(depth=1)
    year = DEMO_TODAY.year
    pledge_round = services.round_create(name=f"{year}年创先争优“公开承诺”", year=year, org=county,
                                         start=dt.date(year, 3, 1), end=dt.date(year, 12, 31),
                                         template_min_members=5, specificity_threshold=0.4)
    members = list(Member.objects.active().select_related("org").order_by("id").values_list("id", "org_id", "org__path",
                                                                                             "org__full_name"))
    party_orgs = list(Organisation.objects.party().order_by("path"))
    hebin_paths = [b.path for b in ctx.data.get("hebin_branches", [])]
    statuses = _statuses(ctx, len(members))

    pledges: list[Pledge] = []
    plans: list[tuple[list[PledgeItem], str]] = []
    for (member_id, org_id, _path, full_name), status in zip(members, statuses, strict=True):
        unit = full_name.split("/")[2] if full_name.count("/") >= 2 else full_name.split("/")[-1]
        formulaic_writer = rng.random() < 0.3
        n_items = rng.choice((1, 2, 2, 3))
        texts = [(_formulaic(ctx) if formulaic_writer and rng.random() < 0.8 else _specific(ctx, unit))
                 for _ in range(n_items)]
        plans.append((_items(ctx, pledge_round, texts), status))
        pledges.append(Pledge(round=pledge_round, member_id=member_id, org_id=org_id))
    for org in party_orgs:
        texts = ["组织党员" + _specific(ctx, _unit_name(org)) for _ in range(2)]
        status = rng.choice([Status.IN_PROGRESS, Status.FULFILLED, Status.FULFILLED, Status.PUBLISHED])
        plans.append((_items(ctx, pledge_round, texts), status))
        pledges.append(Pledge(round=pledge_round, org=org))

    with transaction.atomic():
        _insert(ctx, pledge_round, pledges, plans)
        _ratings(ctx, pledge_round)
        services.board_touch_many(p.org_id for p in pledges)
    services.formulaic_detect(round=pledge_round)
    _hebin_evaluation(ctx, pledge_round, hebin_paths)
    _member_demo(ctx, pledge_round)
    ctx.data["pledges"] = {
        "pledges": Pledge.objects.filter(round=pledge_round).count(),
        "members pledged": Pledge.objects.filter(round=pledge_round, member__isnull=False).exclude(
            status=Status.DRAFT).count(),
        "organisations with pledges": Pledge.objects.filter(round=pledge_round).values("org").distinct().count(),
        "fulfilled": Pledge.objects.filter(round=pledge_round).fulfilled().count(),
        "formulaic": Pledge.objects.filter(round=pledge_round, formulaic=True).count(),
    }
    ctx.log("  pledges: " + ", ".join(f"{k} {v:,}" for k, v in ctx.data["pledges"].items()))


def _statuses(ctx: DemoContext, n: int) -> list[str]:
    statuses: list[str] = [Status.FULFILLED] * int(round(n * FULFILLED_SHARE))
    for status, share in OTHER_STATES:
        statuses += [status] * int(round(n * share))
    statuses = (statuses + [Status.IN_PROGRESS] * n)[:n]
    ctx.rng.shuffle(statuses)
    return statuses


def _items(ctx: DemoContext, pledge_round, texts: list[str]) -> list[PledgeItem]:
    rng = ctx.rng
    rows = []
    for text in texts:
        due = pledge_round.start + dt.timedelta(days=rng.randint(60, (pledge_round.end - pledge_round.start).days))
        rows.append({"kind": rng.choice(["vanguard", "post", "service", "service"]), "text": text, "due_date": due})
    return services.clean_items(rows, pledge_round)  # the same validation as pledge_create


def _recorders(ctx: DemoContext) -> list[tuple[str, int]]:
    """(organisation path, user id) of the demo logins who enter and review pledges, most specific path first."""
    found = []
    for username in RECORDERS:
        user = ctx.users.get(username)
        if user is None:
            continue
        path = (Role.objects.filter(user=user, kind__in=[Role.Kind.SECRETARY, Role.Kind.ORG_ADMIN, Role.Kind.COUNTY_ADMIN])
                .values_list("org__path", flat=True).first())
        if path:
            found.append((path, user.pk))
    return sorted(found, key=lambda r: -len(r[0]))


def _recorder(recorders: list[tuple[str, int]], path: str) -> int | None:
    return next((user_id for prefix, user_id in recorders if path.startswith(prefix)), None)


def _moment(rng: random.Random, day: dt.date, after: dt.datetime | None) -> dt.datetime:
    """A working-hours moment on `day`, later than `after`."""
    at = dt.datetime.combine(day, dt.time(rng.randint(8, 17), rng.randint(0, 59)), tzinfo=TZ)
    if after is not None and at <= after:
        at = after + dt.timedelta(minutes=rng.randint(5, 90))
    return at


def _timeline(rng: random.Random, pledge: Pledge, steps: list[str], start: dt.date) -> list[dt.datetime]:
    """The moment of each step, in order, between the round's start and the demo's today."""
    day = start + dt.timedelta(days=rng.randint(0, 8))
    moments: list[dt.datetime] = []
    for action in steps:
        if action == "提交审定":
            day += dt.timedelta(days=rng.randint(0, 4))
        elif action in ("退回", "审定通过"):
            day += dt.timedelta(days=rng.randint(1, 6))
        elif action == "公示":
            day = max(day, pledge.published_on or day)
        elif action == "开始践诺":
            day += dt.timedelta(days=rng.randint(1, 10))
        elif action == "申报践诺":
            day = (max(day, pledge.fulfilled_on - dt.timedelta(days=rng.randint(1, 6))) if pledge.fulfilled_on
                   else day + dt.timedelta(days=rng.randint(30, 150)))
        elif action == "确认践诺":
            day = max(day, pledge.fulfilled_on or day)
        elif action == "认定未践诺":
            day += dt.timedelta(days=rng.randint(90, 180))
        day = min(day, DEMO_TODAY)
        moments.append(_moment(rng, day, moments[-1] if moments else None))
    return moments


def _insert(ctx: DemoContext, pledge_round, pledges: list[Pledge], plans) -> None:
    rng = ctx.rng
    # History's actors and moments draw from their own stream, so the county's other figures stay as they were.
    history_rng = random.Random(f"{ctx.seed}:pledge-history")
    recorders = _recorders(ctx)
    org_paths = dict(Organisation.objects.values_list("id", "path"))
    own_logins = dict(Member.objects.filter(person__user__isnull=False).values_list("id", "person__user"))
    for pledge, (items, status) in zip(pledges, plans, strict=True):
        pledge.status = status
        pledge.due_date = max(i.due_date for i in items)
        pledge.specificity = round(sum(i.specificity for i in items) / len(items), 3)
        if len(PATHS[status]) >= 3:  # reached 公示
            pledge.published_on = pledge_round.start + dt.timedelta(days=rng.randint(20, 50))
        if status == Status.RETURNED:
            pledge.return_reason = "承诺内容不够具体，请写明服务对象、数量和完成时间"
        if status in (Status.IN_PROGRESS, Status.CLAIMED, Status.NOT_FULFILLED):
            pledge.progress = rng.choice([20, 30, 40, 50, 60, 70, 80])
        if status in (Status.CLAIMED, Status.FULFILLED):
            pledge.evidence = rng.choice(EVIDENCE)
            pledge.progress = 100
        if status == Status.FULFILLED:
            published: dt.date = pledge.published_on or pledge_round.start
            pledge.fulfilled_on = min(DEMO_TODAY, published + dt.timedelta(days=rng.randint(40, 170)))
        if status == Status.NOT_FULFILLED:
            pledge.explanation = rng.choice(EXPLANATIONS)
    # each pledge's steps: (action, to status, by, at)
    histories: list[list[tuple[str, str, int | None, dt.datetime]]] = []
    for pledge, (_, status) in zip(pledges, plans, strict=True):
        path = org_paths[pledge.org_id]
        reviewer = _recorder(recorders, path if pledge.member_id else path[:-4] or path)
        own = own_logins.get(pledge.member_id) or _recorder(recorders, path)
        steps = [("起草", Status.DRAFT)] + PATHS[status]
        moments = _timeline(history_rng, pledge, [a for a, _ in steps], pledge_round.start)
        histories.append([(action, to, own if action in OWN_STEPS else reviewer, at)
                          for (action, to), at in zip(steps, moments, strict=True)])
        if status == Status.FULFILLED:
            pledge.confirmed_by_id = reviewer
        pledge.created_at, pledge.updated_at = moments[0], moments[-1]
    fast_insert(Pledge, ["round_id", "member_id", "org_id", "title", "status", "return_reason", "due_date", "progress",
                         "published_on", "evidence", "fulfilled_on", "confirmed_by_id", "explanation", "specificity",
                         "formulaic", "formulaic_reason", "created_at", "updated_at"], pledges)
    ids = {(member_id, org_id if member_id is None else None): pk for pk, member_id, org_id in
           Pledge.objects.filter(round=pledge_round).values_list("id", "member_id", "org_id")}
    for pledge in pledges:
        pledge.pk = ids[(pledge.member_id, pledge.org_id if pledge.member_id is None else None)]
    all_items, events, milestones = [], [], []
    ops = connection.ops
    for pledge, (items, status), history in zip(pledges, plans, histories, strict=True):
        for item in items:
            item.pledge_id = pledge.pk
            if status not in (Status.DRAFT, Status.SUBMITTED, Status.RETURNED):
                item.review = PledgeItem.Review.OK
            all_items.append(item)
        previous = ""
        for action, to, by, at in history:
            reason = pledge.return_reason if to == Status.RETURNED else pledge.explanation if to == Status.NOT_FULFILLED else ""
            if action == "起草" and pledge.member_id and by != own_logins.get(pledge.member_id):
                reason = "据纸质承诺书代为录入"
            events.append((pledge.pk, ops.adapt_datetimefield_value(at), by, action, previous, to, reason))
            previous = to
        if status in (Status.IN_PROGRESS, Status.CLAIMED, Status.FULFILLED, Status.NOT_FULFILLED):
            day = min((pledge.published_on or pledge_round.start) + dt.timedelta(days=rng.randint(10, 60)), DEMO_TODAY)
            at = _moment(history_rng, day, None)
            milestones.append((pledge.pk, ops.adapt_datefield_value(day), min(pledge.progress, 50),
                               "已开展第一批服务，记入台账", ops.adapt_datetimefield_value(at)))
    fast_insert(PledgeItem, ["pledge_id", "position", "kind", "text", "target_value", "target_unit", "due_date",
                             "review", "review_note", "specificity"], all_items)
    fast_insert(PledgeEvent, ["pledge_id", "at", "by_id", "action", "from_status", "to_status", "reason"], events, rows=True)
    fast_insert(Milestone, ["pledge_id", "date", "percent", "text", "created_at"], milestones, rows=True)


def fast_insert(model, fields: list[str], objs: list, rows: bool = False) -> None:
    """INSERT the objects' `fields` with one executemany (SQLite and psycopg run it far faster than Django's
    multi-row bulk_create); the rows were validated by the caller, and the database's constraints still apply.
    With rows=True, `objs` are already tuples of database values in `fields` order."""
    from django.db import models as m

    meta = model._meta
    field_objs = [meta.get_field(f.removesuffix("_id")) if f.endswith("_id") else meta.get_field(f) for f in fields]
    qn = connection.ops.quote_name
    # table and column names come from the model's own metadata, values are parameters
    sql = (f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in field_objs)}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    ops = connection.ops

    def converter(field):
        if isinstance(field, m.DateTimeField):
            return ops.adapt_datetimefield_value
        if isinstance(field, m.DateField):
            return ops.adapt_datefield_value
        if isinstance(field, m.DecimalField):
            return lambda v: None if v is None else str(v)
        return None

    converters = [converter(f) for f in field_objs]
    values = objs if rows else []
    for obj in [] if rows else objs:
        row = [getattr(obj, name) for name in fields]
        for i, convert in enumerate(converters):
            if convert is not None and row[i] is not None:
                row[i] = convert(row[i])
        values.append(row)
    with connection.cursor() as cursor:
        for start in range(0, len(values), 20000):
            cursor.executemany(sql, values[start:start + 20000])


def _ratings(ctx: DemoContext, pledge_round) -> None:
    """A few hundred resident logins (one password hash shared, as a bulk sign-up would) rate published pledges of
    their own village or community, once each."""
    rng = ctx.rng
    from xianfeng.orgs.models import Resident

    limit = int(400 * max(ctx.scale, 0.05))
    residents = list(Resident.objects.filter(person__user__isnull=True).select_related("org").order_by("id")[:limit])
    if not residents:
        return
    password = make_password(DEMO_PASSWORD)
    users = User.objects.bulk_create([User(username=f"r{r.person_id}", person_id=r.person_id, password=password)
                                      for r in residents], batch_size=1000)
    Role.objects.bulk_create([Role(user=u, kind=Role.Kind.RESIDENT, org_id=r.org_id)
                              for u, r in zip(users, residents, strict=True)], batch_size=1000)
    by_unit: dict[str, list[int]] = {}
    published: dict[int, dt.date] = {}
    for pk, path, published_on in (Pledge.objects.filter(round=pledge_round, status__in=services.RATABLE_STATES,
                                                         member__isnull=False)
                                   .values_list("id", "org__path", "published_on")):
        by_unit.setdefault(path[:12], []).append(pk)
        published[pk] = published_on or pledge_round.start
    values = ["satisfied"] * 70 + ["basic"] * 24 + ["unsatisfied"] * 6
    ratings = []
    for user, resident in zip(users, residents, strict=True):
        candidates = by_unit.get(resident.org.path[:12], [])
        for pk in rng.sample(candidates, min(len(candidates), rng.randint(3, 15))):
            ratings.append(Rating(pledge_id=pk, user=user, value=rng.choice(values)))
    when = random.Random(f"{ctx.seed}:pledge-ratings")  # its own stream, as for the history
    for rating in ratings:
        day = min(published[rating.pledge_id] + dt.timedelta(days=when.randint(2, 150)), DEMO_TODAY)
        rating.created_at = _moment(when, day, None)
    fast_insert(Rating, ["pledge_id", "user_id", "value", "created_at"], ratings)


def _hebin_evaluation(ctx: DemoContext, pledge_round, hebin_paths: list[str]) -> None:
    """河滨社区 pilot: its secretary evaluates the fulfilled pledges and recognises the top three of each branch."""
    secretary = ctx.users.get("hebin_secretary")
    if secretary is None or not hebin_paths:
        return
    rng = ctx.rng
    pledges = list(Pledge.objects.filter(round=pledge_round, status=Status.FULFILLED, member__isnull=False,
                                         org__path__in=hebin_paths).select_related("org", "round", "member")
                   .order_by("id")[:24])
    for pledge in pledges:
        if services.is_owner(pledge, secretary):
            continue
        services.pledge_evaluate(pledge=pledge, org_score=rng.randint(75, 100), actor=secretary)
    for path in hebin_paths:
        top = Pledge.objects.filter(round=pledge_round, org__path=path, rank_in_branch__lte=3,
                                    status=Status.EVALUATED).select_related("org", "round", "member")
        for pledge in top:
            if not services.is_owner(pledge, secretary):
                services.pledge_recognise(pledge=pledge, actor=secretary, reason="年度优秀承诺")


def _member_demo(ctx: DemoContext, pledge_round) -> None:
    """member_demo's own pledge is one in progress, so the login shows the cycle from the member's side."""
    user = ctx.users.get("member_demo")
    if user is None or not user.person_id:
        return
    Pledge.objects.filter(round=pledge_round, member__person_id=user.person_id).update(created_by=user)

