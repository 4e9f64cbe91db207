"""Demo step: Haiyan County's organisation tree, 20,000+ members, residents, logins, contact points, guidance groups.

Members go in through the roster import (the same validation and bulk path a county uses for a real roster);
organisations, users, roles and contact points through the services.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q

from xianfeng.core.demo import DEMO_PASSWORD, DEMO_TODAY, DemoContext, demo_step
from xianfeng.core.ids import make_id_number
from xianfeng.core.scoping import subtree_q

from . import services
from .models import ContactPoint, Member, Organisation, OrgKind, Person, Role

COUNTY_CODE = "330424"

# The report's 8 towns, each with its communities and villages (about 100 in all).
TOWNS: list[tuple[str, list[str], int]] = [
    ("武原镇", ["河滨社区", "东海花苑社区", "城北社区", "向阳社区", "海滨社区", "新桥社区", "南门社区", "西门社区",
              "天宁社区", "金海社区", "朝阳社区", "城东社区"], 10),
    ("秦山镇", ["秦山社区"], 11),
    ("西塘桥镇", ["西塘桥社区"], 11),
    ("沈荡镇", ["沈荡社区"], 11),
    ("通元镇", ["通元社区"], 12),
    ("于城镇", ["于城社区"], 9),
    ("百步镇", ["百步社区"], 10),
    ("澉浦镇", ["澉浦社区"], 11),
]
FIXED_VILLAGES = {"秦山镇": ["秦万村"], "武原镇": ["元通村", "枣园村"]}
VILLAGE_SYLLABLES = "丰庆安福兴华新和平永乐民胜利光明红星长春友谊建设联合团结东西南北中金银山水林桥塘湾浦港石园"

DEPARTMENTS = [
    "县委办公室", "县政府办公室", "县委组织部", "县委宣传部", "县委统战部", "县委政法委", "县纪委", "县发改局",
    "县教育局", "县科技局", "县公安局", "县民政局", "县司法局", "县财政局", "县人力社保局", "县国土资源局",
    "县住建局", "县交通运输局", "县水利局", "县农业经济局", "县商务局", "县文广新局", "县卫生局", "县人口计生局",
    "县审计局", "县环保局",
]
HOSPITALS = ["海盐县人民医院", "海盐县中医院", "海盐县妇幼保健院", "海盐县第二人民医院", "海盐县第三人民医院",
             "海盐县精神卫生中心", "海盐县疾病预防控制中心", "海盐县康复医院"]
SCHOOL_KINDS = ["中学", "小学", "实验小学", "初级中学", "幼儿园"]
INDUSTRIES = ["紧固件", "机械", "纺织", "五金", "电子", "化纤", "新材料", "食品", "建材", "包装", "核电设备", "轴承",
              "阀门", "服饰", "家具", "汽配", "印染", "塑业", "电器", "生物科技"]
SOCIAL = ["个体劳动者协会", "私营企业协会", "老年人体育协会", "志愿者协会", "慈善总会", "红十字会", "书法家协会",
          "摄影家协会", "餐饮行业协会", "物流行业协会", "律师协会", "会计学会", "青年商会", "女企业家协会",
          "科普协会", "老年协会", "义工联合会", "社区服务中心", "家政服务协会", "乡村旅游协会"]
LEADERS = [
    ("县委书记", "M"), ("县长", "M"), ("县委副书记", "M"), ("常务副县长", "M"), ("县委常委、组织部部长", "F"),
    ("县委常委、宣传部部长", "M"), ("县委常委、政法委书记", "M"), ("县委常委、纪委书记", "M"),
    ("县委常委、统战部部长", "F"), ("县委常委、办公室主任", "M"), ("副县长", "M"), ("副县长", "F"), ("副县长", "M"),
    ("县人大常委会主任", "M"), ("县政协主席", "M"), ("县委常委、人武部部长", "M"),
]
SYSTEMS = ["镇（街道）系统", "农村系统", "社区系统", "机关系统", "教育系统", "卫生系统", "非公企业系统", "社会组织系统"]
EDUCATION = ["小学", "初中", "高中", "中专", "大专", "本科", "研究生"]
ORG_KIND_WEIGHT = {  # relative size of a party branch, by the unit it sits in
    OrgKind.VILLAGE: 1.0, OrgKind.COMMUNITY: 0.8, OrgKind.DEPARTMENT: 0.9, OrgKind.ENTERPRISE: 0.35,
    OrgKind.SCHOOL: 0.6, OrgKind.HOSPITAL: 1.2, OrgKind.SOCIAL: 0.2, OrgKind.TOWN: 0.9,
}
OCCUPATION: dict[str, list[str]] = {
    OrgKind.VILLAGE: ["农民", "个体经营者", "村干部", "企业职工"], OrgKind.COMMUNITY: ["社区工作者", "企业职工", "个体经营者"],
    OrgKind.DEPARTMENT: ["公务员", "事业单位人员"], OrgKind.ENTERPRISE: ["企业职工", "企业管理人员", "专业技术人员"],
    OrgKind.SCHOOL: ["教师"], OrgKind.HOSPITAL: ["医务人员"], OrgKind.SOCIAL: ["社会组织从业人员"],
    OrgKind.TOWN: ["公务员", "事业单位人员"],
}
HEBIN_MEMBERS = 240  # the report: 200+ members claim services in the 河滨社区 pilot


@demo_step(100)
def build_foundation(ctx: DemoContext) -> None:
    tree = _build_tree(ctx)
    _build_members(ctx, tree)
    _build_residents(ctx)
    _build_logins(ctx)
    _build_contact_points(ctx, tree)
    _build_guidance_groups(ctx, tree)
    _one_link_two_managers(ctx)
    party = Organisation.objects.party().count()
    ctx.data["summary"] = {
        "organisations": Organisation.objects.count(),
        "grassroots party organisations": party,
        "members": Member.objects.count(),
        "residents": ctx.data["residents"],
        "contact points": ContactPoint.objects.count(),
    }


def _create(ctx: DemoContext, *, name: str, code: str, kind: str, parent: Organisation | None, **extra: Any):
    org = services.org_create(name=name, code=code, kind=kind, parent=parent, **extra)
    ctx.orgs[code] = org
    return org


def _village_names(ctx: DemoContext, count: int, taken: set[str]) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        name = "".join(ctx.rng.sample(VILLAGE_SYLLABLES, 2)) + "村"
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names


def _branches(ctx: DemoContext, unit: Organisation, count: int, *, top_kind: str | None) -> list[Organisation]:
    """A unit's party organisations: optionally a 党委/党总支 with `count` branches under it, else one branch."""
    if top_kind is None:
        return [_create(ctx, name=f"{unit.name}党支部", code=f"{unit.code}D01", kind=OrgKind.BRANCH, parent=unit)]
    top_name = f"{unit.name}{'党委' if top_kind == OrgKind.COMMITTEE else '党总支'}"
    top = _create(ctx, name=top_name, code=f"{unit.code}D00", kind=top_kind, parent=unit)
    ordinals = "一二三四五六七八九十"
    return [
        _create(ctx, name=f"{unit.name}第{ordinals[i]}党支部", code=f"{unit.code}D{i + 1:02d}", kind=OrgKind.BRANCH,
                parent=top)
        for i in range(count)
    ]


def _build_tree(ctx: DemoContext) -> dict[str, list[tuple[Organisation, str]]]:
    """Returns {"branches": [(branch, unit kind)], ...} for the member step."""
    rng = ctx.rng
    county = _create(ctx, name="海盐县", code=COUNTY_CODE, kind=OrgKind.COUNTY, parent=None, system="")
    ctx.data["county"] = county
    branches: list[tuple[Organisation, str]] = []
    taken = {v for vs in FIXED_VILLAGES.values() for v in vs}
    towns, villages, enterprises = [], [], []
    for t, (town_name, communities, n_villages) in enumerate(TOWNS, start=1):
        town = _create(ctx, name=town_name, code=f"{COUNTY_CODE}{100 + t}", kind=OrgKind.TOWN, parent=county,
                       system=SYSTEMS[0])
        towns.append(town)
        committee = _create(ctx, name=f"{town_name}党委", code=f"{town.code}D00", kind=OrgKind.COMMITTEE, parent=town)
        for i, organ in enumerate(["机关第一党支部", "机关第二党支部", "事业单位党支部"], start=1):
            org = _create(ctx, name=f"{town_name}{organ}", code=f"{town.code}D{i:02d}", kind=OrgKind.BRANCH,
                          parent=committee)
            branches.append((org, OrgKind.TOWN))
        fixed = FIXED_VILLAGES.get(town_name, [])
        names = [(c, OrgKind.COMMUNITY) for c in communities] + [(v, OrgKind.VILLAGE) for v in fixed]
        n_random = n_villages - len(fixed) if ctx.scale >= 1 else max(1, round((n_villages - len(fixed)) * ctx.scale))
        names += [(v, OrgKind.VILLAGE) for v in _village_names(ctx, n_random, taken)]
        for j, (name, kind) in enumerate(names, start=1):
            unit = _create(ctx, name=name, code=f"{town.code}{j:03d}", kind=kind, parent=town,
                           system=SYSTEMS[2] if kind == OrgKind.COMMUNITY else SYSTEMS[1])
            villages.append(unit)
            count = 4 if name == "河滨社区" else rng.choice([3, 3, 4, 4, 5, 5])
            for b in _branches(ctx, unit, count, top_kind=OrgKind.GENERAL_BRANCH):
                branches.append((b, kind))
        n_enterprises = rng.randint(28, 34)
        for k in range(n_enterprises if ctx.scale >= 1 else max(4, round(n_enterprises * ctx.scale))):
            name = f"海盐{ctx.faker.company_prefix()}{rng.choice(INDUSTRIES)}有限公司"
            unit = _create(ctx, name=name, code=f"{town.code}E{k + 1:03d}", kind=OrgKind.ENTERPRISE, parent=town,
                           system=SYSTEMS[6])
            enterprises.append(unit)
            for b in _branches(ctx, unit, 1, top_kind=None):
                branches.append((b, OrgKind.ENTERPRISE))
    departments = []
    for i, name in enumerate(DEPARTMENTS, start=1):
        unit = _create(ctx, name=name, code=f"{COUNTY_CODE}B{i:02d}", kind=OrgKind.DEPARTMENT, parent=county,
                       system=SYSTEMS[3])
        departments.append(unit)
        for b in _branches(ctx, unit, rng.choice([2, 3, 3, 4]), top_kind=OrgKind.COMMITTEE):
            branches.append((b, OrgKind.DEPARTMENT))
    for i, name in enumerate(HOSPITALS, start=1):
        unit = _create(ctx, name=name, code=f"{COUNTY_CODE}H{i:02d}", kind=OrgKind.HOSPITAL, parent=county,
                       system=SYSTEMS[5])
        for b in _branches(ctx, unit, rng.choice([2, 3]), top_kind=OrgKind.GENERAL_BRANCH):
            branches.append((b, OrgKind.HOSPITAL))
    for i in range(45):
        town = towns[i % len(towns)]
        name = f"{town.name.removesuffix('镇')}{SCHOOL_KINDS[i // len(towns) % len(SCHOOL_KINDS)]}"
        if i // len(towns) >= len(SCHOOL_KINDS):
            name = f"{town.name.removesuffix('镇')}第{i // len(towns)}{SCHOOL_KINDS[i % len(SCHOOL_KINDS)]}"
        unit = _create(ctx, name=f"海盐县{name}", code=f"{COUNTY_CODE}X{i + 1:02d}", kind=OrgKind.SCHOOL,
                       parent=county, system=SYSTEMS[4])
        for b in _branches(ctx, unit, 1, top_kind=None):
            branches.append((b, OrgKind.SCHOOL))
    for i, name in enumerate(SOCIAL + [f"{t[0]}{s}" for t in TOWNS for s in ("商会", "志愿者服务站")][:10], start=1):
        unit = _create(ctx, name=name if name.startswith(("海盐", *[t[0] for t in TOWNS])) else f"海盐县{name}",
                       code=f"{COUNTY_CODE}S{i:02d}", kind=OrgKind.SOCIAL, parent=county, system=SYSTEMS[7])
        for b in _branches(ctx, unit, 1, top_kind=None):
            branches.append((b, OrgKind.SOCIAL))
    return {"branches": branches, "towns": towns, "villages": villages, "enterprises": enterprises,
            "departments": departments}


def _random_birth(ctx: DemoContext) -> dt.date:
    rng = ctx.rng
    band = rng.random()
    age = rng.randint(23, 35) if band < 0.22 else rng.randint(36, 50) if band < 0.47 else (
        rng.randint(51, 65) if band < 0.75 else rng.randint(66, 92))
    return DEMO_TODAY - dt.timedelta(days=age * 365 + rng.randint(0, 364))


def _unique_id(ctx: DemoContext, region: str, birth: dt.date, gender: str) -> str:
    """A valid ID number no one else in the demo county has."""
    used = ctx.data.setdefault("used_ids", set())
    while True:
        ctx.data["id_seq"] = seq = ctx.data.get("id_seq", 0) + 1
        number = make_id_number(region, birth, seq, gender)
        if number not in used:
            used.add(number)
            return number


def _build_members(ctx: DemoContext, tree: dict) -> None:
    from .roster import roster_import_or_raise

    rng = ctx.rng
    target = int(20_400 * ctx.scale)
    branches = tree["branches"]
    hebin_branches = [b for b, _ in branches if b.full_name.split("/")[2:3] == ["河滨社区"]]
    others = [(b, k) for b, k in branches if b not in hebin_branches]
    hebin_total = max(4, int(HEBIN_MEMBERS * max(ctx.scale, 0.05))) if ctx.scale < 1 else HEBIN_MEMBERS
    weights = [ORG_KIND_WEIGHT[k] * rng.uniform(0.6, 1.4) for _, k in others]
    rest = target - hebin_total
    scale = rest / sum(weights)
    sizes = [max(1, int(w * scale)) for w in weights]
    for i in rng.sample(range(len(sizes)), k=min(len(sizes), max(0, rest - sum(sizes)))):
        sizes[i] += 1
    plan: list[tuple[Organisation, str, int]] = [(b, k, n) for (b, k), n in zip(others, sizes, strict=True)]
    per_hebin = hebin_total // len(hebin_branches)
    plan += [(b, OrgKind.COMMUNITY, per_hebin + (1 if i < hebin_total % len(hebin_branches) else 0))
             for i, b in enumerate(hebin_branches)]

    rows: list[dict[str, Any]] = []
    for branch, unit_kind, n in plan:
        for _ in range(n):
            gender = "M" if rng.random() < 0.7 else "F"
            birth = _random_birth(ctx)
            region = COUNTY_CODE if rng.random() < 0.85 else rng.choice(["330481", "330402", "330483", "330421"])
            number = _unique_id(ctx, region, birth, gender)
            age = (DEMO_TODAY - birth).days // 365
            join_age = rng.randint(19, min(45, max(19, age - 1)))
            join = birth + dt.timedelta(days=join_age * 365 + rng.randint(20, 340))
            join = min(join, DEMO_TODAY - dt.timedelta(days=rng.randint(30, 400)))
            probationary = (DEMO_TODAY - join).days < 365
            full = None if probationary else join + dt.timedelta(days=365 + rng.randint(0, 20))
            if unit_kind == OrgKind.COMMUNITY and branch in hebin_branches:
                on_job = rng.random() < 0.85
            else:
                on_job = age < 60 and rng.random() < 0.95
            status = "在册"
            if not on_job and age >= 60:
                status = "离退休"
            if age >= 80 and rng.random() < 0.25:
                status = "行动不便"
            elif on_job and unit_kind in (OrgKind.VILLAGE, OrgKind.ENTERPRISE) and rng.random() < 0.04:
                status = "流动党员"
            edu_hi = 3 if age > 65 else 5 if age > 45 else 6
            rows.append({
                "姓名": ctx.person_name(gender),
                "性别": "男" if gender == "M" else "女",
                "民族": "汉族" if rng.random() < 0.985 else rng.choice(["回族", "满族", "土家族", "苗族", "壮族"]),
                "出生日期": birth,
                "身份证号": number,
                "手机号": "" if rng.random() < 0.05 else f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}",
                "学历": EDUCATION[min(len(EDUCATION) - 1, max(0, rng.randint(1, edu_hi)))],
                "职业": "离退休人员" if status == "离退休" else rng.choice(OCCUPATION[unit_kind]),
                "入党日期": join,
                "转正日期": full,
                "所在党组织": branch.code,
                "人员类别": "预备党员" if probationary else "正式党员",
                "状态": status,
                "是否在职": "是" if on_job else "否",
            })
    roster_import_or_raise(rows=rows, actor=None, source="demo")
    ctx.data["hebin_branches"] = hebin_branches


def _build_residents(ctx: DemoContext) -> None:
    rng = ctx.rng
    units = list(Organisation.objects.filter(kind__in=[OrgKind.VILLAGE, OrgKind.COMMUNITY]).order_by("path"))
    count = int(5_000 * ctx.scale)
    rows = []
    hebin = next(u for u in units if u.name == "河滨社区")
    for i in range(count):
        unit = hebin if i < count // 25 else rng.choice(units)  # 河滨社区, the service pilot, gets a share of its own
        gender = "M" if rng.random() < 0.5 else "F"
        birth = DEMO_TODAY - dt.timedelta(days=rng.randint(18 * 365, 95 * 365))
        rows.append({
            "name": ctx.person_name(gender),
            "id_number": _unique_id(ctx, COUNTY_CODE, birth, gender),
            "phone": f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}",
            "org": unit,
            "household": f"{unit.code}-{rng.randint(1, 900):04d}",
            "address": f"{unit.full_name.split('/')[1]}{unit.name}{ctx.faker.street_name()}{rng.randint(1, 200)}号",
        })
    created = services.residents_bulk_create(rows=rows, actor=None)
    ctx.data["residents"] = created


def _build_logins(ctx: DemoContext) -> None:
    county = ctx.data["county"]
    wuyuan = Organisation.objects.get(name="武原镇")
    hebin = Organisation.objects.get(name="河滨社区")
    qinwan = Organisation.objects.get(name="秦万村")
    hebin_members = list(Member.objects.filter(org__in=ctx.data["hebin_branches"]).select_related("person")
                         .order_by("id")[:2])
    resident = hebin.residents.select_related("person").order_by("id").first()
    qinwan_member = Member.objects.filter(org__path__startswith=qinwan.path).select_related("person").first()
    logins = [
        ("county_admin", Role.Kind.COUNTY_ADMIN, county, None, "组织部管理员"),
        ("wuyuan_admin", Role.Kind.ORG_ADMIN, wuyuan, None, "武原镇组织委员"),
        ("hebin_secretary", Role.Kind.SECRETARY, hebin, hebin_members[0].person, ""),
        ("qinshan_secretary", Role.Kind.SECRETARY, qinwan, qinwan_member.person if qinwan_member else None, ""),
        ("member_demo", Role.Kind.MEMBER, hebin_members[1].org, hebin_members[1].person, ""),
        ("resident_demo", Role.Kind.RESIDENT, hebin, resident.person if resident else None, ""),
        ("inspector_demo", Role.Kind.INSPECTOR, county, None, "现场点评第七组"),
    ]
    for username, kind, org, person, label in logins:
        name = person.name if person else label
        user = services.user_create(username=username, password=DEMO_PASSWORD, person=person,
                                    first_name=name[:150], is_staff=username == "county_admin")
        services.role_grant(user=user, kind=kind, org=org)
        ctx.users[username] = user


def _build_contact_points(ctx: DemoContext, tree: dict) -> None:
    """The report's 联系点: county leaders took 26 departments, 8 towns, 24 villages and 25 non-public enterprises."""
    rng = ctx.rng
    leaders = []
    for i, (title, gender) in enumerate(LEADERS):
        birth = dt.date(1962 + i % 12, 1 + i % 12, 3 + i)
        person = services.person_upsert(
            name=ctx.person_name(gender),
            id_number=_unique_id(ctx, COUNTY_CODE, birth, gender), phone="", gender="",
        )
        leaders.append((person, title))
    ctx.data["leaders"] = leaders
    start = dt.date(DEMO_TODAY.year, 4, 20)
    targets = (
        [(o, ContactPoint.Kind.DEPARTMENT) for o in tree["departments"]]
        + [(o, ContactPoint.Kind.TOWN) for o in tree["towns"]]
        + [(o, ContactPoint.Kind.VILLAGE) for o in rng.sample(tree["villages"], 24)]
        + [(o, ContactPoint.Kind.ENTERPRISE) for o in rng.sample(tree["enterprises"], 25)]
    )
    notes = ["听取创先争优活动开展情况汇报", "参加党员组织生活会并上党课", "走访困难党员和群众", "督促落实公开承诺事项",
             "协调解决村级集体经济发展难题", "指导制定活动方案", "召开党员群众座谈会"]
    for i, (org, kind) in enumerate(targets):
        leader, title = leaders[i % len(leaders)]
        cp = services.contact_point_create(leader=leader, org=org, kind=kind, start=start, leader_title=title)
        for v in range(rng.randint(1, 3)):
            day = start + dt.timedelta(days=rng.randint(10, (DEMO_TODAY - start).days))
            services.guidance_visit_record(contact_point=cp, date=day, notes=rng.choice(notes),
                                           follow_ups="" if v else rng.choice(["", "整改台账资料", "补充活动方案"]))


def _build_guidance_groups(ctx: DemoContext, tree: dict) -> None:
    county = ctx.data["county"]
    by_system: dict[str, list[Organisation]] = {}
    for org in Organisation.objects.units().exclude(system=""):
        by_system.setdefault(org.system, []).append(org)
    leaders = ctx.data["leaders"]
    # Each group: a county leader heads it, with four members from the county departments' staff (taken in roster
    # order, no random draw, so the rest of the county stays as it was).
    in_departments = Q()
    for department in tree["departments"]:
        in_departments |= subtree_q("member__org__path", department.path)
    staff = list(Person.objects.filter(in_departments).order_by("member__id")[: 4 * len(SYSTEMS)])
    for i, system in enumerate(SYSTEMS):
        group = services.guidance_group_create(name=f"创先争优活动{system}指导组", system=system, org=county)
        services.guidance_group_staff(actor=None, group=group, leader=leaders[(i + 2) % len(leaders)][0],
                                      people=staff[4 * i: 4 * i + 4], units=by_system.get(system, []))


def _one_link_two_managers(ctx: DemoContext) -> None:
    """一联双管 pilot: members of 武原镇 villages living in the 东海花苑 new community are also managed there."""
    dh = Organisation.objects.get(name="东海花苑社区")
    dh_branch = Organisation.objects.filter(path__startswith=dh.path, kind=OrgKind.BRANCH).order_by("path").first()
    wuyuan = Organisation.objects.get(name="武原镇")
    candidates = (Member.objects.filter(org__path__startswith=wuyuan.path, org__parent__parent__kind=OrgKind.VILLAGE)
                  .order_by("id")[: max(3, int(60 * ctx.scale))])
    for member in candidates:
        services.member_set_managing_org(member=member, org=dh_branch, on=dt.date(DEMO_TODAY.year, 5, 1))
