"""Demo step: the report's grids — 783 grids, 798 grid teams, 6,951 cadres, 37,825 residents in grid households —
with a year of visits and cases.

The catalogue, the holidays, the demo logins and the Open311 client go through the services. Grids, households,
teams, visits and cases go in by bulk inserts (services would take minutes), applying the same rules:
  - a grid's code is its village/community code + a 3-digit sequence; the first grid of each is its default grid;
    boundaries are axis-aligned rectangles tiling a block per village/community, so they are valid and disjoint;
  - household people are named only (no Person, no ID number) except the foundation's Residents, who are linked
    to a household of their own village/community (their 户号) — so the 37,825 are 5,000 Residents + named people;
  - cadres are existing party members' Persons; department cadres come from the departments' own members;
  - cases follow the lifecycle with one CaseEvent per step; deadlines come from the catalogue and the working-day
    calendar (calendar.deadline); closed cases carry an outcome; "not ours" names the unit; ratings only on closed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any

from django.utils import timezone

from xianfeng.core.demo import DEMO_PASSWORD, DEMO_TODAY, DemoContext, demo_step
from xianfeng.demands.models import Demand
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import Member, Organisation, OrgKind, Resident, Role

from . import services
from .calendar import deadline, load_calendar
from .models import (
    Case,
    CaseCategory,
    CaseEvent,
    Grid,
    GridTeam,
    Household,
    HouseholdMember,
    Status,
    TeamMember,
    Visit,
)

GRIDS, TEAMS, CADRES, PEOPLE = 783, 798, 6_951, 37_825
CASES_PER_YEAR = 9_000
CENTER = (30.50, 120.90)  # the blocks of the villages and communities are laid out around 海盐
BLOCK = 0.018  # degrees per village/community block (about 2 km)

# (code, name, group, deadline kind, value, default department or None)
CATALOGUE = [
    ("0101", "道路破损", "城市管理", "working_days", 3, None),
    ("0102", "路灯不亮", "城市管理", "working_days", 3, None),
    ("0103", "垃圾清运", "环境卫生", "same_day", 1, None),
    ("0104", "占道经营", "城市管理", "working_days", 3, None),
    ("0201", "违章搭建", "住房城建", "working_days", 13, "县住建局"),
    ("0202", "物业纠纷", "住房城建", "working_days", 13, "县住建局"),
    ("0301", "噪声扰民", "生态环境", "working_days", 3, "县环保局"),
    ("0302", "河道污染", "生态环境", "working_days", 13, "县环保局"),
    ("0401", "邻里纠纷", "矛盾调解", "working_days", 3, None),
    ("0402", "治安隐患", "平安建设", "same_day", 1, "县公安局"),
    ("0501", "养老服务", "民生保障", "working_days", 13, "县民政局"),
    ("0502", "医疗卫生", "民生保障", "working_days", 13, "县卫生局"),
    ("0601", "燃气险情", "安全生产", "hours", 4, None),
]
PRIVATE_PLACE = {"0401"}  # 邻里纠纷: the public list never shows where such a case is
CATEGORY_WEIGHTS = [14, 10, 12, 6, 5, 6, 7, 3, 9, 4, 5, 4, 1]
HOLIDAYS_2026 = (  # 国务院办公厅关于2026年部分节假日安排的通知 (as published for the demo year)
    [(dt.date(2026, 1, 1), "元旦"), (dt.date(2026, 1, 2), "元旦")]
    + [(dt.date(2026, 2, d), "春节") for d in range(16, 24)]
    + [(dt.date(2026, 4, 6), "清明节"), (dt.date(2026, 5, 1), "劳动节"), (dt.date(2026, 5, 4), "劳动节"),
       (dt.date(2026, 5, 5), "劳动节"), (dt.date(2026, 6, 19), "端午节"), (dt.date(2026, 9, 25), "中秋节")]
    + [(dt.date(2026, 10, d), "国庆节") for d in range(1, 8)]
)
WORKED_WEEKENDS_2026 = [(dt.date(2026, 2, 14), "春节调休"), (dt.date(2026, 2, 28), "春节调休"),
                        (dt.date(2026, 5, 9), "劳动节调休"), (dt.date(2026, 9, 26), "国庆节调休"),
                        (dt.date(2026, 10, 10), "国庆节调休")]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "建国秀英丽华明军志强玉兰海燕文杰红梅伟芳桂英春梅金凤永康国平淑珍建华小红德明晓东雪梅俊杰美玲子涵浩然欣怡思远嘉怡宇轩梓萱"
STREETS = ["人民路", "新桥路", "朝阳路", "枣园路", "勤俭路", "城北路", "百尺路", "海滨大道", "盐北路", "向阳路", "长安路", "武原街"]


def _insert(model, fields: list[str], rows: list[tuple]) -> list[int]:
    """INSERT many rows with executemany, values adapted the way Django adapts them (datetimes, dates, JSON);
    returns the new rows' ids in insertion order. Model validation is the caller's: every row built here obeys the
    model's constraints, which the database checks anyway."""
    import json

    from django.db import connection, models

    ops = connection.ops
    adapters: list[Any] = []
    columns = []
    for name in fields:
        field = model._meta.get_field(name)
        columns.append(connection.ops.quote_name(field.column))
        if isinstance(field, models.DateTimeField):
            adapters.append(_utc_text if connection.vendor == "sqlite" else ops.adapt_datetimefield_value)
        elif isinstance(field, models.DateField):
            adapters.append(ops.adapt_datefield_value)
        elif isinstance(field, models.JSONField):
            adapters.append(lambda v: None if v is None else json.dumps(v, ensure_ascii=False))
        else:
            adapters.append(None)
    table = connection.ops.quote_name(model._meta.db_table)
    # names come from the model's own metadata, quoted; the values go as parameters
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
    before = model.objects.order_by("-id").values_list("id", flat=True).first() or 0
    prepared = [tuple(a(v) if a is not None and v is not None else v for a, v in zip(adapters, row, strict=True))
                for row in rows]
    with connection.cursor() as cursor:
        for start in range(0, len(prepared), 5000):
            cursor.executemany(sql, prepared[start:start + 5000])
    return list(model.objects.filter(id__gt=before).order_by("id").values_list("id", flat=True))


def _utc_text(value: dt.datetime) -> str:
    """What Django's SQLite backend stores for an aware datetime (UTC, naive text), without its per-value checks."""
    return str(value.astimezone(dt.UTC).replace(tzinfo=None))


def _scaled(n: int, scale: float) -> int:
    return n if scale >= 1 else max(1, round(n * scale))


def _name(rng) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))


@demo_step(500)
def build_grids(ctx: DemoContext) -> None:
    from django.db import transaction

    with transaction.atomic():  # one transaction: SQLite commits once instead of per statement
        _build(ctx)


def _build(ctx: DemoContext) -> None:
    now = timezone.make_aware(dt.datetime.combine(DEMO_TODAY, dt.time(17)))
    for day, name in HOLIDAYS_2026:
        services.calendar_day_set(date=day, is_workday=False, name=name)
    for day, name in WORKED_WEEKENDS_2026:
        services.calendar_day_set(date=day, is_workday=True, name=name)
    departments = {o.name: o for o in Organisation.objects.filter(kind=OrgKind.DEPARTMENT)}
    categories = [services.category_create(code=code, name=name, group=group, deadline_kind=kind,
                                           deadline_value=value, default_unit=departments.get(dept or ""),
                                           description=f"{group}：{name}", keywords=name,
                                           place_private=code in PRIVATE_PLACE)
                  for code, name, group, kind, value, dept in CATALOGUE]
    units = list(Organisation.objects.filter(kind__in=[OrgKind.VILLAGE, OrgKind.COMMUNITY]).order_by("path"))
    grids = _grids(ctx, units)
    teams, seats = _teams(ctx, units, grids, departments)
    households, people = _households(ctx, grids)
    visits = _visits(ctx, grids, households)
    n_cases, n_events = _cases(ctx, grids, categories, now)
    _logins(ctx)
    services.open311_client_create(name="12345政务服务便民热线", org=ctx.data.get("county") or units[0].parent.parent)
    cadres = TeamMember.objects.values("person").distinct().count()
    ctx.data.setdefault("summary", {}).update({
        "grids": len(grids), "grid teams": teams, "grid cadres": cadres, "residents in grid households": people,
        "households": len(households), "visits": visits, "cases": n_cases, "case events": n_events,
    })
    ctx.log(f"    grids {len(grids)}, teams {teams}, cadres {cadres}, residents in households {people}, "
            f"cases {n_cases}")


def _grids(ctx: DemoContext, units: list[Organisation]) -> list[Grid]:
    """783 grids over the villages and communities (communities, denser, get more), each block tiled."""
    rng = ctx.rng
    total = _scaled(GRIDS, ctx.scale)
    weights = [1.6 if u.kind == OrgKind.COMMUNITY else 1.0 for u in units]
    share = [max(1, int(total * w / sum(weights))) for w in weights]
    for i in rng.sample(range(len(units)), k=max(0, total - sum(share))):
        share[i] += 1
    while sum(share) > total:  # tiny scales: every unit keeps its one default grid
        i = max(range(len(share)), key=share.__getitem__)
        if share[i] == 1:
            break
        share[i] -= 1
    side = math.ceil(math.sqrt(len(units)))
    rows = []
    for k, (unit, n) in enumerate(zip(units, share, strict=True)):
        lat0 = CENTER[0] + (k // side) * BLOCK * 1.1
        lng0 = CENTER[1] + (k % side) * BLOCK * 1.1
        cols = math.ceil(math.sqrt(n))
        nrows = math.ceil(n / cols)
        w, h = BLOCK / cols, BLOCK / nrows
        for s in range(n):
            r, c = divmod(s, cols)
            x0, y0 = lng0 + c * w, lat0 + r * h
            ring = [[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h], [x0, y0]]
            rows.append(Grid(org=unit, seq=s + 1, code=f"{unit.code}{s + 1:03d}",
                             name=f"{unit.name}{'默认' if s == 0 else ''}第{s + 1}网格", is_default=s == 0,
                             boundary={"type": "Polygon", "coordinates": [ring]},
                             min_lat=y0, max_lat=y0 + h, min_lng=x0, max_lng=x0 + w))
    Grid.objects.bulk_create(rows, batch_size=500)
    return list(Grid.objects.select_related("org").order_by("code"))


def _teams(ctx, units, grids, departments) -> tuple[int, int]:
    """One team per grid, plus cross-grid teams (一团多格) up to 798; 6,951 distinct cadres, some in two teams."""
    rng = ctx.rng
    by_unit: dict[int, list[Grid]] = defaultdict(list)
    for g in grids:
        by_unit[g.org_id].append(g)
    n_teams = _scaled(TEAMS, ctx.scale)
    plans: list[tuple[Organisation, list[Grid], str]] = [(g.org, [g], f"{g.name}服务团") for g in grids]
    multi = [u for u in units if len(by_unit[u.pk]) >= 2]
    while len(plans) < n_teams and multi:
        unit = multi[len(plans) % len(multi)]
        served = rng.sample(by_unit[unit.pk], k=min(3, len(by_unit[unit.pk])))
        plans.append((unit, served, f"{unit.name}四区联动服务团{len(plans) - len(grids) + 1}"))
    GridTeam.objects.bulk_create([GridTeam(org=o, name=name[:80]) for o, _, name in plans], batch_size=500)
    teams = list(GridTeam.objects.order_by("id"))
    through = GridTeam.grids.through
    through.objects.bulk_create([through(gridteam_id=t.pk, grid_id=g.pk) for t, (_, gs, _) in zip(teams, plans,
                                                                                                  strict=True)
                                 for g in gs], batch_size=1000)
    dept_ids = [d.pk for d in departments.values()]
    dept_paths = {d.pk: d.path for d in departments.values()}
    members = list(Member.objects.order_by("id").values_list("person_id", "org__path"))
    dept_pool: dict[int, list[int]] = defaultdict(list)
    general: list[int] = []
    for person_id, path in members:
        dept = next((d for d, p in dept_paths.items() if path.startswith(p)), None)
        (dept_pool[dept] if dept else general).append(person_id)
    rng.shuffle(general)
    for pool in dept_pool.values():
        rng.shuffle(pool)
    target = _scaled(CADRES, ctx.scale)
    seats_plan = []
    for team in teams:
        roles = ["leader", "grid_worker"] + ["department"] * rng.choice((2, 2, 3)) + ["member"] * rng.choice(
            (3, 4, 4, 5)) + ["volunteer"] * rng.choice((0, 1))
        seats_plan += [(team.pk, role) for role in roles]
    order = list(range(len(seats_plan)))
    rng.shuffle(order)
    used: list[int] = []
    in_team: dict[int, set[int]] = defaultdict(set)
    rows = []
    fresh_general = iter(general)
    fresh_dept = {d: iter(p) for d, p in dept_pool.items()}
    dept_used: dict[int, list[int]] = defaultdict(list)
    for i in order:
        team_id, role = seats_plan[i]
        department = rng.choice(dept_ids) if role == "department" and dept_ids else None
        person = None
        if len(used) < target and department:
            person = next(fresh_dept[department], None)
            if person is None:  # this department has no one left: pair another one's cadre
                for other in rng.sample(dept_ids, k=len(dept_ids)):
                    person = next(fresh_dept[other], None)
                    if person is not None:
                        department = other
                        break
        if len(used) < target and person is None:
            person = next(fresh_general, None)
        if person is None:  # reuse a cadre who already serves elsewhere (one person, several teams)
            pool = dept_used[department] if department and dept_used[department] else used
            for _ in range(20):
                candidate = rng.choice(pool)
                if candidate not in in_team[team_id]:
                    person = candidate
                    break
            if person is None:
                continue
        else:
            used.append(person)
            if department:
                dept_used[department].append(person)
        in_team[team_id].add(person)
        rows.append(TeamMember(team_id=team_id, person_id=person, role=role, department_id=department))
    TeamMember.objects.bulk_create(rows, batch_size=1000)
    return len(teams), len(rows)


def _households(ctx, grids) -> tuple[list[tuple[int, int]], int]:
    """Households and their people: the foundation's Residents by their 户号, then named people up to 37,825."""
    rng = ctx.rng
    by_unit: dict[int, list[Grid]] = defaultdict(list)
    for g in grids:
        by_unit[g.org_id].append(g)
    target = _scaled(PEOPLE, ctx.scale)
    residents: dict[tuple[int, str], list[Resident]] = defaultdict(list)
    for r in Resident.objects.select_related("person").order_by("id"):
        if r.org_id in by_unit:
            residents[(r.org_id, r.household or f"R{r.pk}")].append(r)
    plans: list[tuple[Grid, str, list[Any]]] = []  # (grid, number, people: Resident or None)
    for (org_id, number), rs in residents.items():
        plans.append((rng.choice(by_unit[org_id]), number, list(rs)))
    people = sum(len(p) for _, _, p in plans)
    seq: dict[int, int] = defaultdict(int)
    while people < target:
        grid = grids[len(plans) % len(grids)]
        seq[grid.pk] += 1
        size = min(target - people, rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5)))
        plans.append((grid, f"{grid.code}-{seq[grid.pk]:03d}", [None] * size))
        people += size
    rows = []
    created = timezone.now()
    for grid, number, members in plans:
        lat = rng.uniform(grid.min_lat, grid.max_lat)
        lng = rng.uniform(grid.min_lng, grid.max_lng)
        head = members[0].person.name if members and members[0] is not None else _name(rng)
        alone = len(members) == 1 and rng.random() < 0.25
        rows.append((grid.pk, number[:40], f"{grid.org.name}{rng.choice(STREETS)}{rng.randint(1, 300)}号", head, "",
                     lat, lng, alone, rng.random() < 0.03, rng.random() < 0.03, created))
    ids = _insert(Household, ["grid", "number", "address", "head_name", "phone", "latitude", "longitude",
                              "elderly_alone", "disabled", "hardship", "created_at"], rows)
    member_rows = []
    for pk, (_, _, members), row in zip(ids, plans, rows, strict=True):
        for i, resident in enumerate(members):
            relation = "head" if i == 0 else rng.choice(("spouse", "child", "child", "parent", "other"))
            name = resident.person.name if resident is not None else (row[3] if i == 0 else _name(rng))
            member_rows.append((pk, name, relation, rng.randint(1935, 2020),
                                resident.pk if resident is not None else None))
    _insert(HouseholdMember, ["household", "name", "relation", "birth_year", "resident"], member_rows)
    saved = [(pk, row[0]) for pk, row in zip(ids, rows, strict=True)]
    return saved, len(member_rows)


def _visits(ctx, grids, households) -> int:
    """A year of visits: most households seen within 90 days, the vulnerable more often."""
    rng = ctx.rng
    grid_workers: dict[int, str] = {}
    for seat in TeamMember.objects.filter(role="grid_worker").select_related("person").prefetch_related(
            "team__grids"):
        for g in seat.team.grids.all():
            grid_workers.setdefault(g.pk, seat.person.name)
    notes = ["了解家庭近况", "宣传垃圾分类", "走访独居老人，身体状况良好", "征求对社区工作的意见", "反诈宣传",
             "了解就业需求", "消防安全检查", "政策宣传"]
    rows = []
    created = timezone.now()
    for h_id, grid_id in households:
        r = rng.random()
        last = rng.randint(0, 29) if r < 0.62 else rng.randint(30, 89) if r < 0.91 else rng.randint(90, 300)
        dates = [last] + [last + rng.randint(20, 120) for _ in range(rng.choice((0, 1, 1, 2)))]
        for ago in dates:
            if ago > 364:
                continue
            rows.append((h_id, grid_id, DEMO_TODAY - dt.timedelta(days=ago), grid_workers.get(grid_id, "网格员"),
                         rng.choice(notes), created))
    _insert(Visit, ["household", "grid", "date", "visitor_name", "notes", "created_at"], rows)
    return len(rows)


def _cases(ctx, grids, categories: list[CaseCategory], now: dt.datetime) -> tuple[int, int]:
    """A year of cases through the lifecycle, one event per step; numbers are year + 8-digit sequence."""
    rng = ctx.rng
    cal = load_calendar()
    n = _scaled(CASES_PER_YEAR, ctx.scale)
    start = now - dt.timedelta(days=365)
    county: Any = Organisation.objects.filter(depth=1).order_by("path").first()
    towns = dict(Organisation.objects.filter(pk__in={g.org_id for g in grids}).values_list("pk", "parent_id"))
    describe = {c.code: [f"{c.name}：{place}" for place in ("小区门口", "菜场旁", "河边", "学校附近", "主路口",
                                                            "老旧小区楼道", "村道")] for c in categories}
    departments = list(Organisation.objects.filter(kind=OrgKind.DEPARTMENT).values_list("pk", flat=True))
    cases: list[Case] = []
    events: list[list[tuple]] = []
    sources = ["portal"] * 5 + ["staff"] * 3 + ["visit"] + ["open311"]
    for i in range(n):
        created = start + dt.timedelta(seconds=rng.randint(0, 365 * 86400 - 1))
        grid = rng.choice(grids)
        category = rng.choices(categories, weights=CATEGORY_WEIGHTS)[0]
        unit_id = category.default_unit_id or grid.org_id
        due = deadline(category.deadline_kind, category.deadline_value, created, cal)
        window = max(due - created, dt.timedelta(hours=2))
        case = Case(number=f"{timezone.localtime(created):%Y}D{i + 1:07d}", org_id=grid.org_id, grid=grid,
                    category=category, description=rng.choice(describe[category.code]),
                    address=f"{grid.org.name}{rng.choice(STREETS)}{rng.randint(1, 300)}号",
                    latitude=rng.uniform(grid.min_lat, grid.max_lat), longitude=rng.uniform(grid.min_lng,
                                                                                            grid.max_lng),
                    source=rng.choice(sources), reporter_name=_name(rng), handling_unit_id=unit_id,
                    dispatched_at=created, accept_due_at=created + dt.timedelta(hours=category.accept_hours),
                    due_at=due, created_at=created, updated_at=created)
        steps: list[tuple[Any, ...]] = [("open", "", Status.OPENED, created, None, ""),
                 ("dispatch", Status.OPENED, Status.DISPATCHED, created, unit_id, "按派单目录自动派遣")]
        t = created
        fate = rng.random()
        age = now - created
        if rng.random() < 0.03:  # returned once, re-dispatched
            t += dt.timedelta(hours=rng.uniform(0.5, 3))
            steps.append(("return", Status.DISPATCHED, Status.RETURNED, t, None, "非本单位职责，请重新派遣"))
            t += dt.timedelta(hours=rng.uniform(0.2, 2))
            steps.append(("dispatch", Status.RETURNED, Status.DISPATCHED, t, unit_id, "重新派遣"))
        if age < window * 0.3 and fate < 0.5:  # recent, not yet accepted
            case.status = Status.DISPATCHED
        else:
            t += dt.timedelta(hours=rng.uniform(0.2, category.accept_hours))
            steps.append(("accept", Status.DISPATCHED, Status.ACCEPTED, t, None, ""))
            t += dt.timedelta(minutes=rng.randint(5, 120))
            steps.append(("start", Status.ACCEPTED, Status.HANDLING, t, None, ""))
            late = rng.random() < 0.05
            # closing time first, so an on-time case is closed (not merely reported) by its deadline
            closed = t + (window * rng.uniform(1.05, 1.6) if late else max(due - t, dt.timedelta(minutes=40))
                          * rng.uniform(0.2, 0.95))
            verified = closed - dt.timedelta(minutes=rng.randint(5, 15))
            finish = verified - (verified - t) * rng.uniform(0.05, 0.4)
            if rng.random() < 0.012 and age > window:  # 缓办
                case.status = Status.SUSPENDED
                case.suspended_at = t + dt.timedelta(hours=2)
                steps.append(("suspend", Status.HANDLING, Status.SUSPENDED, case.suspended_at, None,
                              "等待产权单位确认"))
            elif finish > now:
                case.status = Status.HANDLING
            elif closed > now:
                steps.append(("report", Status.HANDLING, Status.REPORTED, finish, None, "已处置完毕"))
                case.status = Status.REPORTED
            else:
                reopen = rng.random() < 0.025 and closed + dt.timedelta(days=6) < now
                if reopen:  # closed once, reopened by the resident, handled again (the second round on time)
                    first = closed - (closed - t) * 0.5
                    steps += [("report", Status.HANDLING, Status.REPORTED, first - dt.timedelta(hours=2), None,
                               "已处置完毕"),
                              ("verify", Status.REPORTED, Status.VERIFIED, first - dt.timedelta(hours=1), None,
                               "现场核查属实"),
                              ("close", Status.VERIFIED, Status.CLOSED, first, None, ""),
                              ("reopen", Status.CLOSED, Status.REOPENED, first + dt.timedelta(days=1), None,
                               "问题反复出现"),
                              ("dispatch", Status.REOPENED, Status.DISPATCHED, first + dt.timedelta(days=1, hours=1),
                               unit_id, "重开后重新派遣"),
                              ("accept", Status.DISPATCHED, Status.ACCEPTED, first + dt.timedelta(days=1, hours=2),
                               None, ""),
                              ("start", Status.ACCEPTED, Status.HANDLING, first + dt.timedelta(days=1, hours=3),
                               None, "")]
                    case.reopen_count = 1
                    case.dispatched_at = first + dt.timedelta(days=1, hours=1)
                    case.due_at = due = deadline(category.deadline_kind, category.deadline_value,
                                                 case.dispatched_at, cal)
                    closed = min(due, now) - dt.timedelta(minutes=30)
                    verified = closed - dt.timedelta(minutes=10)
                    finish = verified - dt.timedelta(minutes=20)
                steps.append(("report", Status.HANDLING, Status.REPORTED, finish, None, "已处置完毕"))
                steps.append(("verify", Status.REPORTED, Status.VERIFIED, verified, None, "现场核查属实"))
                o = rng.random()
                outcome = "resolved" if o < 0.9 else "explained" if o < 0.96 else "not_ours"
                note = {"resolved": "", "explained": "已向群众解释政策，暂无法解决",
                        "not_ours": "属部门职责，已转办"}[outcome]
                steps.append(("close", Status.VERIFIED, Status.CLOSED, closed, None, note))
                case.status = Status.CLOSED
                case.outcome, case.outcome_note = outcome, note
                case.transferred_to_id = rng.choice(departments) if outcome == "not_ours" else None
                case.closed_at, case.closed_on_time = closed, closed <= due
                if rng.random() < 0.7:
                    r = rng.random()
                    case.rating = "satisfied" if r < 0.82 else "basic" if r < 0.96 else "unsatisfied"
                    case.rated_at = closed + dt.timedelta(hours=rng.uniform(1, 48))
                    steps.append(("rate", Status.CLOSED, Status.CLOSED, case.rated_at, None,
                                  case.get_rating_display()))
        if case.status not in (Status.CLOSED, Status.SUSPENDED):
            if case.status == Status.DISPATCHED:
                case.escalate_at = case.accept_due_at
            else:
                case.escalate_at = due
            level = 0
            escalate: Any = case.escalate_at
            for when, unit in ((escalate, grid.org_id), (escalate + dt.timedelta(hours=24), towns.get(grid.org_id)),
                               (escalate + dt.timedelta(hours=48), category.default_unit_id or county.pk)):
                if when < now:
                    level += 1
                    steps.append(("escalate", case.status, case.status, when, unit, "超期未办结"))
            case.escalation_level = level
            case.escalate_at = None if level == 3 else escalate + dt.timedelta(hours=24 * level)
        if case.status in (Status.ACCEPTED, Status.HANDLING, Status.REPORTED, Status.VERIFIED):
            case.handler = None
        case.updated_at = max(s[3] for s in steps)
        cases.append(case)
        events.append(steps)
    fields = [f for f in Case._meta.concrete_fields if f.name != "id"]
    ids = _insert(Case, [f.name for f in fields], [tuple(f.value_from_object(c) if f.name != "photo" else ""
                                                         for f in fields) for c in cases])
    rows = []
    for pk, steps in zip(ids, events, strict=True):
        level = 0
        for kind, frm, to, at, unit, note in steps:
            if kind == "escalate":
                level += 1
            rows.append((pk, at, kind, frm, to, note, unit, level if kind in ("escalate", "dispatch") else None))
    _insert(CaseEvent, ["case", "at", "kind", "from_status", "to_status", "note", "unit", "level"], rows)
    return len(cases), len(rows)


def _logins(ctx) -> None:
    """A grid worker of 河滨社区 for the demo (the resident and the secretary come from the foundation)."""
    hebin = Organisation.objects.filter(name="河滨社区").first()
    if hebin is None:
        return
    user = org_services.user_create(username="hebin_grid", password=DEMO_PASSWORD, first_name="河滨网格员")
    org_services.role_grant(user=user, kind=Role.Kind.GRID_WORKER, org=hebin)
    ctx.users["hebin_grid"] = user


@demo_step(510)
def place_demands(ctx: DemoContext) -> None:
    """After the grid register exists (step 500): each demo demand (demands' step 300) gets its household's position, so members can
    browse by distance. One read of the households of the communities concerned, one bulk update."""
    demands = list(Demand.objects.filter(latitude__isnull=True).exclude(household="").only("id", "org_id",
                                                                                          "household"))
    if not demands:
        return
    where = {(org_id, number): (lat, lng) for org_id, number, lat, lng in Household.objects.filter(
        grid__org_id__in={d.org_id for d in demands}, latitude__isnull=False, longitude__isnull=False)
        .values_list("grid__org_id", "number", "latitude", "longitude").iterator(chunk_size=5000)}
    placed = []
    for d in demands:
        position = where.get((d.org_id, d.household))
        if position is not None:
            d.latitude, d.longitude = position
            placed.append(d)
    Demand.objects.bulk_update(placed, ["latitude", "longitude"], batch_size=2000)
    ctx.log(f"    demands placed on the map: {len(placed)} of {len(demands)}")
