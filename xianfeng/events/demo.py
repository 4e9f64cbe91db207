"""Demo step: the report's 百堂党课 (502 lessons, 19,000+ attendances) and 百团服务基层 (262 volunteer teams of
departments and other units, 518 activities, 4,363 participating members), every figure counted from per-person rows.

Bulk path (the services would take minutes for ~26,000 rows). It applies the services' rules:
- a lesson's attendees are active members of its organiser's subtree (member_expected is true, as
  attendance_check_in would set it); one row per person and activity; check-ins between 20 minutes before the start
  and the start;
- team activities are attended only by the team's active members; check-out after check-in, minutes counted with
  services.counted_minutes (inside the scheduled activity, capped);
- hours of activities more than 30 days before the demo's today are approved (decided by the sponsoring unit's
  secretary in the story) and earn points as hours_approve → points_award would award them: the member's
  organisation's rule (points.services.rules_for), category 志愿服务, whole hours, the daily and yearly caps counted
  with the awards already made (the services step's), one ledger transaction per attendance keyed
  f"points:activity_hours:{attendance.pk}" (posted with ledger_post_many, so a replay writes nothing) and one Award;
  the last month's wait for review, a few closed automatically and flagged, as attendance_close_missing does.
A few activities of the Hebin community (the demo logins' own) go through the services: upcoming theme days with
sign-ups, and the demo member's volunteer hours approved through hours_approve (which awards points).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from xianfeng.core.demo import DEMO_TODAY, DemoContext, demo_step
from xianfeng.core.util import chunked
from xianfeng.orgs.models import PARTY_KINDS, Member, Organisation, OrgKind

from . import services
from .models import Activity, ActivityKind, Attendance, Audience, Team, TeamMember

LESSONS = 502
LESSON_ATTENDANCES = 19_236
TEAMS = 262
TEAM_ACTIVITIES = 518
TEAM_PEOPLE = 4_363
TEAM_SPONSOR_KINDS = (OrgKind.DEPARTMENT, OrgKind.HOSPITAL, OrgKind.SCHOOL, OrgKind.TOWN, OrgKind.SOCIAL)
SKILLS = ["义诊", "健康咨询", "法律咨询", "政策宣讲", "助老", "助残", "环境整治", "文明劝导", "科技下乡", "农技指导",
          "心理疏导", "家电维修", "理发", "助学", "交通引导", "防汛应急", "反诈宣传", "垃圾分类"]
TOPICS = ["学习贯彻党的十七届五中全会精神", "创先争优与基层组织建设", "党员先锋作用的发挥", "为民服务全程代理",
          "党风廉政建设", "党章学习", "群众路线与作风建设", "基层党组织书记讲党课", "先锋承诺践诺评诺",
          "农村党员带头致富", "社区党建与网格化管理", "非公企业党建"]
SERVICE_TITLES = ["走进社区", "进村入户", "服务基层", "便民服务日", "结对帮扶", "上门服务", "志愿服务周"]
BATCH = 2000


def _local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _scaled(n: int, scale: float, minimum: int = 1) -> int:
    return n if scale >= 1 else max(minimum, int(n * scale))


@demo_step(400)
def build_events(ctx: DemoContext) -> None:
    start_day, end_day = dt.date(DEMO_TODAY.year, 1, 4), DEMO_TODAY - dt.timedelta(days=1)
    span = (end_day - start_day).days
    members = list(Member.objects.active().values_list("id", "person_id", "org__path").order_by("id"))
    by_path: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for mid, pid, path in members:
        by_path[path].append((mid, pid))
    subtree: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for path, rows in by_path.items():
        for i in range(4, len(path) + 1, 4):
            subtree[path[:i]].extend(rows)
    secretary, member_user = ctx.users.get("hebin_secretary"), ctx.users.get("member_demo")
    # The Hebin story (one team, one activity, two people, through the services) is part of the report's figures.
    reserved: set[int] = set()
    if secretary is not None and member_user is not None and secretary.person_id and member_user.person_id:
        reserved = {secretary.person_id, member_user.person_id}
    story = bool(reserved)
    with transaction.atomic():
        lessons, lesson_rows = _lessons(ctx, subtree, start_day, span, secretary)
        teams, team_activities, team_rows = _teams(ctx, subtree, members, start_day, span, secretary,
                                                   reserved=reserved)
    if story:
        _hebin_story(ctx)
    ctx.data["events"] = {"lessons": lessons, "lesson attendances": lesson_rows, "teams": teams + story,
                          "team activities": team_activities + story}


def _lessons(ctx, subtree, start_day, span, by) -> tuple[int, int]:
    rng = ctx.rng
    party = list(Organisation.objects.filter(kind__in=PARTY_KINDS).values_list("id", "path", "name", "kind")
                 .order_by("path"))
    candidates = [(oid, path, name) for oid, path, name, kind in party if 12 <= len(subtree.get(path, ())) <= 150]
    n_lessons = _scaled(LESSONS, ctx.scale, 3)
    # bigger organisations hold lessons a little more often (weights ∝ members^0.2): about 88 % of those a lesson
    # is for come, as county reports of the period state
    chosen = rng.choices(candidates, weights=[len(subtree[path]) ** 0.2 for _oid, path, _name in candidates],
                         k=n_lessons)
    audiences = [len(subtree[path]) for _oid, path, _name in chosen]
    target = _scaled(LESSON_ATTENDANCES, ctx.scale, 10)
    capacity = sum(audiences)
    if capacity < target:  # few organisations at small scales: everyone comes
        target = capacity
    share = target / capacity
    counts = [min(a, max(1, round(a * share * rng.uniform(0.9, 1.1)))) for a in audiences]
    # settle the rounding so the total is exactly the target
    diff = target - sum(counts)
    order = list(range(len(counts)))
    while diff:
        rng.shuffle(order)
        for i in order:
            if diff > 0 and counts[i] < audiences[i]:
                counts[i] += 1
                diff -= 1
            elif diff < 0 and counts[i] > 1:
                counts[i] -= 1
                diff += 1
            if not diff:
                break
    activities = []
    for oid, _path, name in chosen:
        day = start_day + dt.timedelta(days=rng.randrange(span))
        start = _local(day, rng.choice([9, 14, 15, 19]))
        topic = rng.choice(TOPICS)
        activities.append(Activity(kind=ActivityKind.LESSON, title=f"{name}党课：{topic}", org_id=oid, topic=topic,
                                   lecturer=ctx.faker.name() + rng.choice(["书记", "同志", "老师"]),
                                   starts_at=start, ends_at=start + dt.timedelta(minutes=90),
                                   place=f"{name}党员活动室", audience=Audience.SUBTREE, created_by=by))
    Activity.objects.bulk_create(activities, batch_size=BATCH)
    rows: list[tuple[Any, ...]] = []
    now = timezone.now()
    methods = rng.choices(["rotating_qr", "personal_qr", "manual"], [85, 10, 5], k=target)
    for activity, (_oid, path, _name), n in zip(activities, chosen, counts, strict=True):
        for mid, pid in rng.sample(subtree[path], n):
            rows.append((activity.pk, pid, mid, True, methods[len(rows)],
                         activity.starts_at - dt.timedelta(minutes=rng.randrange(20)), None, 0,
                         Attendance.Hours.NONE, False, "", None, now))
    _insert(Attendance, ATTENDANCE_COLUMNS, rows)
    return len(activities), len(rows)


def _teams(ctx, subtree, members, start_day, span, by, *, reserved: set[int]) -> tuple[int, int, int]:
    rng = ctx.rng
    sponsors = list(Organisation.objects.filter(kind__in=TEAM_SPONSOR_KINDS).values_list("id", "path", "name", "kind")
                    .order_by("kind", "path"))
    departments = [s for s in sponsors if s[3] == OrgKind.DEPARTMENT] or sponsors
    n_teams = _scaled(TEAMS, ctx.scale, 2) - (1 if reserved else 0)
    # the report's "百团" are teams of the county departments: each department sponsors about ten
    plan = [departments[i % len(departments)] for i in range(n_teams)]
    names_taken: set[tuple[int, str]] = set()
    teams = []
    for oid, _path, name, _kind in plan:
        skills = rng.sample(SKILLS, 2)
        base = f"{name}{skills[0]}志愿服务队"
        team_name, n = base, 2
        while (oid, team_name) in names_taken:
            team_name, n = f"{base}（{n}）", n + 1
        names_taken.add((oid, team_name))
        teams.append(Team(org_id=oid, name=team_name, skills=",".join(skills), open_to_requests=rng.random() < 0.8,
                          description=f"由{name}组建，开展{skills[0]}、{skills[1]}等服务。"))
    Team.objects.bulk_create(teams, batch_size=BATCH)

    # 4,363 distinct people, each in one team: first the sponsor's own members, then others
    n_people = min(_scaled(TEAM_PEOPLE, ctx.scale, n_teams * 2) - len(reserved), len(members) - len(reserved))
    sizes = [n_people // n_teams + (1 if i < n_people % n_teams else 0) for i in range(n_teams)]
    used: set[int] = set(reserved)
    pool = list(members)
    rng.shuffle(pool)
    pool_index = 0
    rosters: list[list[tuple[int, int]]] = []
    for (_oid, path, _name, _kind), size in zip(plan, sizes, strict=True):
        own = [m for m in subtree.get(path, []) if m[1] not in used]
        roster = rng.sample(own, min(len(own), size // 2))
        used.update(pid for _mid, pid in roster)
        while len(roster) < size:
            mid, pid, _p = pool[pool_index]
            pool_index += 1
            if pid not in used:
                used.add(pid)
                roster.append((mid, pid))
        rosters.append(roster)
    joined = _local(start_day - dt.timedelta(days=30), 9)
    now = timezone.now()
    memberships = [(team.pk, pid, TeamMember.Status.ACTIVE, i == 0, joined, now, now)
                   for team, roster in zip(teams, rosters, strict=True) for i, (_mid, pid) in enumerate(roster)]
    _insert(TeamMember, ["team", "person", "status", "is_leader", "joined_at", "created_at", "updated_at"],
            memberships)
    Team.objects.bulk_update([_with_leader(t, r[0][1]) for t, r in zip(teams, rosters, strict=True)], ["leader"],
                             batch_size=BATCH)

    # 518 activities: one per team, the rest to random teams; every team member attends at least one
    n_acts = max(n_teams, _scaled(TEAM_ACTIVITIES, ctx.scale, n_teams) - (1 if reserved else 0))
    owners = list(range(n_teams)) + [rng.randrange(n_teams) for _ in range(n_acts - n_teams)]
    activities = []
    for t in owners:
        team, (oid, _path, name, _kind) = teams[t], plan[t]
        day = start_day + dt.timedelta(days=rng.randrange(span))
        start = _local(day, rng.choice([8, 9, 14]), rng.choice([0, 30]))
        activities.append(Activity(kind=ActivityKind.SERVICE, title=f"{team.name}{rng.choice(SERVICE_TITLES)}",
                                   org_id=oid, team=team, audience=Audience.TEAM, starts_at=start,
                                   ends_at=start + dt.timedelta(hours=rng.choice([2, 3, 4])),
                                   place=ctx.faker.street_name() + rng.choice(["社区服务中心", "村文化礼堂", "广场"]),
                                   created_by=by))
    Activity.objects.bulk_create(activities, batch_size=BATCH)
    by_team: dict[int, list[Activity]] = defaultdict(list)
    for act, t in zip(activities, owners, strict=True):
        by_team[t].append(act)
    review_from = timezone.make_aware(dt.datetime.combine(DEMO_TODAY - dt.timedelta(days=30), dt.time()))
    rows = []
    seen: set[tuple[int, int]] = set()
    for t, acts in by_team.items():
        for k, (mid, pid) in enumerate(rosters[t]):
            mine = {acts[k % len(acts)]} | {a for a in acts if rng.random() < 0.35}
            for act in mine:
                if (act.pk, pid) in seen:
                    continue
                seen.add((act.pk, pid))
                rows.append(_service_row(rng, act, mid, pid, review_from, now))
    _insert(Attendance, ATTENDANCE_COLUMNS, rows)
    _award_hours(ctx, [a.pk for a in activities])
    return len(teams), len(activities), len(rows)


def _award_hours(ctx: DemoContext, activity_ids: list[int]) -> int:
    """Points for the approved volunteer hours of these activities, in date order, by the rules points_award
    applies (see the module docstring). Returns the number of awards."""
    from xianfeng.ledger.models import Account, OwnerType, Unit
    from xianfeng.ledger.services import PostingSpec, ledger_post_many
    from xianfeng.points.models import Award
    from xianfeng.points.services import Rules, award_key, issuing_account, rules_for

    approved = list(Attendance.objects.filter(activity_id__in=activity_ids, hours_status=Attendance.Hours.APPROVED,
                                              member__isnull=False, minutes__gt=0)
                    .values_list("pk", "member_id", "minutes", "check_in_at", "decided_at").order_by("check_in_at", "pk"))
    if not approved:
        return 0
    member_ids = sorted({row[1] for row in approved})
    members = Member.objects.select_related("org", "person").in_bulk(member_ids)
    accounts = {a.owner_id: a for a in Account.objects.filter(owner_type=OwnerType.MEMBER, unit=Unit.POINT,
                                                              purpose="main", owner_id__in=member_ids)}
    Account.objects.bulk_create([Account(name=f"{m.person.name} 积分", owner_type=OwnerType.MEMBER, owner_id=m.pk,
                                         org=m.org, unit=Unit.POINT, floor=0, purpose="main")
                                 for pk, m in members.items() if pk not in accounts], batch_size=BATCH)
    accounts = {a.owner_id: a for a in Account.objects.filter(owner_type=OwnerType.MEMBER, unit=Unit.POINT,
                                                              purpose="main", owner_id__in=member_ids)}
    daily: dict[tuple[int, dt.date], int] = defaultdict(int)
    yearly: dict[tuple[int, int], int] = defaultdict(int)
    for member_id, on, points in Award.objects.filter(member_id__in=member_ids).values_list("member_id", "on",
                                                                                            "points"):
        daily[member_id, on] += points
        yearly[member_id, on.year] += points
    rules_of: dict[int, Rules] = {}
    issuers: dict[int, Account] = {}
    county = Organisation.objects.get(depth=1)
    postings, awards = [], []
    now = timezone.now()
    for pk, member_id, minutes, check_in_at, decided_at in approved:
        member = members[member_id]
        rules = rules_of.get(member.org_id) or rules_of.setdefault(member.org_id, rules_for(member.org))
        on = timezone.localdate(check_in_at)
        wanted = rules.points_for(category=services.POINTS_CATEGORY, minutes=minutes, satisfied=False)
        points = wanted
        if rules.daily_cap:
            points = min(points, rules.daily_cap - daily[member_id, on])
        if rules.yearly_cap:
            points = min(points, rules.yearly_cap - yearly[member_id, on.year])
        if points <= 0:
            continue
        daily[member_id, on] += points
        yearly[member_id, on.year] += points
        issuer_org = rules.org or county
        issuer = issuers.get(issuer_org.pk) or issuers.setdefault(issuer_org.pk, issuing_account(issuer_org))
        key = award_key(services.POINTS_SOURCE, pk)
        postings.append(PostingSpec(entries=[(issuer, -points), (accounts[member_id], points)],
                                    memo=f"积分奖励 {services.POINTS_SOURCE}:{pk} {services.POINTS_CATEGORY}",
                                    kind="points.award", key=key, at=min(decided_at or check_in_at, now)))
        awards.append(Award(member=member, org=member.org, source=services.POINTS_SOURCE, source_id=str(pk),
                            category=services.POINTS_CATEGORY, minutes=minutes, satisfied=False, on=on,
                            points=points, capped=points < wanted))
    by_key = {t.key: t for t in ledger_post_many(postings=postings)}
    for award in awards:
        award.transaction = by_key[award_key(award.source, award.source_id)]
    Award.objects.bulk_create(awards, batch_size=BATCH)
    ctx.log(f"    events: {len(awards)} awards for approved volunteer hours")
    return len(awards)


def _with_leader(team: Team, person_id: int) -> Team:
    team.leader_id = person_id
    return team


def _service_row(rng, act: Activity, mid: int, pid: int, review_from: dt.datetime, now: dt.datetime) -> tuple:
    check_in = act.starts_at + dt.timedelta(minutes=rng.randrange(-15, 20))
    auto = rng.random() < 0.02
    check_out = act.ends_at if auto else act.ends_at + dt.timedelta(minutes=rng.randrange(-40, 15))
    check_out = max(check_out, check_in)
    minutes = services.counted_minutes(act, check_in, check_out)
    approved = act.starts_at < review_from and not auto
    return (act.pk, pid, mid, False, rng.choice(["rotating_qr", "personal_qr"]), check_in, check_out, minutes,
            Attendance.Hours.APPROVED if approved else Attendance.Hours.PENDING, auto,
            "未签退，系统按活动结束时间补签退，请核实" if auto else "",
            act.ends_at + dt.timedelta(days=2) if approved else None, now)


ATTENDANCE_COLUMNS = ["activity", "person", "member", "member_expected", "method", "check_in_at", "check_out_at",
                      "minutes", "hours_status", "auto_closed", "review_note", "decided_at", "created_at"]


def _insert(model, fields: list[str], rows: list[tuple]) -> None:
    """INSERT rows with executemany (what bulk_create does, without building a model instance per row and
    compiling SQL per batch: several times faster for tens of thousands). Values are plain ints, bools and strings
    except the date-times, which the database backend adapts as the ORM would."""
    qn = connection.ops.quote_name
    columns = [model._meta.get_field(name) for name in fields]
    adapt = connection.ops.adapt_datetimefield_value
    is_time = [c.get_internal_type() == "DateTimeField" for c in columns]
    # table and column names come from the model, never from input
    sql = (f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(c.column) for c in columns)}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    with connection.cursor() as cursor:
        for chunk in chunked(rows, 5000):
            cursor.executemany(sql, [tuple(adapt(v) if t and v is not None else v
                                           for t, v in zip(is_time, row, strict=True)) for row in chunk])


def _hebin_story(ctx: DemoContext) -> None:
    """Through the services: the Hebin community's volunteer team, the demo member's and the secretary's approved
    hours (with points), and two coming theme days with sign-ups."""
    hebin = Organisation.objects.get(name="河滨社区")
    secretary, member_user = ctx.users["hebin_secretary"], ctx.users["member_demo"]
    person = member_user.person
    team = services.team_create(org=hebin, name="河滨社区红管家志愿服务队", leader=secretary.person,
                                skills="助老,家电维修,环境整治", actor=secretary)
    invite = services.team_invite(team=team, person=person, actor=secretary)
    services.team_invitation_answer(membership=invite, accept=True, actor=member_user)
    start = (timezone.now() - dt.timedelta(days=3)).replace(hour=1, minute=0, second=0, microsecond=0)
    # past service is recorded by the organiser by hand (self check-in needs the activity to be on now)
    activity = services.activity_create(org=hebin, kind=ActivityKind.SERVICE, team=team, audience=Audience.TEAM,
                                        title="河滨社区助老上门服务", starts_at=start, ends_at=start + dt.timedelta(hours=3),
                                        place="河滨社区", actor=secretary)
    for who, stayed in ((person, dt.timedelta(hours=2, minutes=30)), (secretary.person, dt.timedelta(hours=3))):
        att, _ = services.attendance_check_in(activity=activity, person=who, method="manual", at=start, actor=secretary)
        att = services.attendance_check_out(attendance=att, at=start + stayed, actor=secretary)
        services.hours_approve(attendance=att, actor=secretary)
    for days, title in ((2, "河滨社区主题党日：重温入党誓词"), (9, "河滨社区主题党日：走访困难党员")):
        begin = _local(timezone.localdate() + dt.timedelta(days=days), 9)
        upcoming = services.activity_create(org=hebin, kind=ActivityKind.THEME_DAY, title=title, starts_at=begin,
                                            ends_at=begin + dt.timedelta(hours=2), place="河滨社区党群服务中心",
                                            capacity=30, actor=secretary)
        services.activity_signup(activity=upcoming, person=secretary.person, actor=secretary)
