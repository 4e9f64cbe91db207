"""Demo step 300: a year of the point-to-point service — 河滨社区 (武原镇) with its 200+ members claiming and
serving, and lighter activity in other communities and villages.

Bulk path (the step must build in a few seconds): the rows are made in Python and inserted with bulk_create, and the
points go through `ledger_post_many` (the ledger's own batch service, same floor and idempotency rules). The rules
the services enforce are applied here the same way: a claim only while the demand has a free place (claimed_count
≤ capacity), only confirmed services earn points, points by `Rules.points_for` cut by the daily and yearly caps of
the organisation's rule, one award per record keyed f"points:service:{record.pk}", redemptions in date order only
while stock and balance allow. Per-row audit rows are replaced by one audit row naming the batch.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from typing import Any, cast

from django.db.models import Q
from django.utils import timezone

from xianfeng.core.audit import audit_record
from xianfeng.core.demo import DEMO_TODAY, DemoContext, demo_step
from xianfeng.core.scoping import subtree_q
from xianfeng.ledger.models import Account, OwnerType, Unit
from xianfeng.ledger.services import PostingSpec, ledger_post_many
from xianfeng.orgs.models import Member, Organisation, OrgKind, Resident
from xianfeng.points.models import Award, Redemption, Reward
from xianfeng.points.services import issuing_account, points_rule_set, reward_create, rules_for, shop_account

from .models import DEFAULT_CATEGORIES, Claim, Demand, Pairing, ServiceRecord
from .services import category_list_set

TZ = timezone.get_default_timezone()
START = DEMO_TODAY - dt.timedelta(days=365)
CATEGORY_WEIGHTS = {"助老": 30, "维修": 18, "医疗": 10, "助残": 8, "助学": 8, "就业": 6, "法律": 6, "心理": 5, "其他": 9}
NOTES = {
    "助老": ["陪同老人买菜并送回家", "上门陪伴聊天，打扫卫生", "帮老人代缴水电费", "陪同到医院复诊"],
    "维修": ["更换厨房水龙头阀芯", "修理楼道灯", "疏通下水管道", "检修电路插座"],
    "医疗": ["上门量血压、测血糖", "代配慢性病药品", "讲解用药注意事项"],
    "助残": ["推轮椅陪同外出", "帮助办理残疾人补贴", "上门康复陪练"],
    "助学": ["辅导初中数学作业", "帮助申请助学金", "周末陪读"],
    "就业": ["推荐社区公益岗位", "帮助制作求职简历", "介绍技能培训班"],
    "法律": ["解答赡养纠纷问题", "帮助起草租房合同", "讲解工伤认定流程"],
    "心理": ["陪伴倾听，疏导情绪", "联系专业心理咨询师"],
    "其他": ["帮助搬运家具", "协助办理证件", "代收快递"],
}
REWARDS = [("洗衣液", 20, 40), ("食用油 5L", 60, 20), ("大米 10kg", 80, 20), ("毛巾套装", 15, 60),
           ("牙膏牙刷套装", 10, 80), ("理发券", 12, 50), ("电饭煲", 200, 4), ("保温杯", 35, 25)]
SATISFACTION = (("satisfied", 0.86), ("fair", 0.12), ("unsatisfied", 0.02))


def _at(day: dt.date, rng: random.Random, start_hour: int = 8, end_hour: int = 20) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(rng.randint(start_hour, end_hour - 1), rng.randint(0, 59)), tzinfo=TZ)


def _rating(rng: random.Random) -> str:
    r, acc = rng.random(), 0.0
    for value, p in SATISFACTION:
        acc += p
        if r < acc:
            return value
    return "satisfied"


class _Plan:
    """Rows to insert, built per community, then written in a few bulk statements."""

    def __init__(self) -> None:
        self.demands: list[Demand] = []
        self.claims: list[tuple[int, Claim]] = []  # (demand index, claim)
        self.pairings: list[Pairing] = []
        self.records: list[tuple[int | None, int | None, ServiceRecord]] = []  # (demand idx, pairing idx, record)


def _community(ctx: DemoContext, plan: _Plan, unit: Organisation, members: list[Member], residents: list[Resident],
               *, one_off: int, pairings: int, users: dict[str, Any]) -> None:
    rng = ctx.rng
    if not members or not residents:
        return
    # A few very active members and a long tail, as in practice.
    weights = [rng.paretovariate(1.6) for _ in members]
    categories, cat_weights = list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values())
    staff = users.get("secretary")

    # Pairings: a member and a household, a recurring demand claimed by the member, services every 10–28 days.
    for member, resident in zip(rng.sample(members, min(pairings, len(members))),
                                rng.sample(residents, min(pairings, len(residents))), strict=False):
        start = START + dt.timedelta(days=rng.randint(0, 200))
        category = rng.choice(["助老", "助老", "助残", "医疗", "助学"])
        created = _at(start - dt.timedelta(days=rng.randint(1, 10)), rng)
        d_idx = len(plan.demands)
        plan.demands.append(Demand(org=unit, category=category, description=f"{resident.household} 长期{category}服务",
                                   resident=resident, household=resident.household, address=resident.address,
                                   area=f"{unit.name}{rng.choice('东南西北')}片", urgency="normal", recurring=True,
                                   preferred_times=rng.choice(["周末上午", "工作日傍晚", "每周三下午"]), capacity=1,
                                   claimed_count=1, status=Demand.Status.CLAIMED, source="staff",
                                   created_by=staff, created_at=created, first_claimed_at=_at(start, rng)))
        plan.claims.append((d_idx, Claim(member=member, status=Claim.Status.STARTED,
                                         claimed_at=cast(dt.datetime, plan.demands[d_idx].first_claimed_at),
                                         started_at=plan.demands[d_idx].first_claimed_at, assigned_by=staff)))
        p_idx = len(plan.pairings)
        plan.pairings.append(Pairing(org=unit, member=member, resident=resident, household=resident.household,
                                     start=start, notes="结对帮扶", created_by=staff))
        day = start
        while True:
            day += dt.timedelta(days=rng.randint(10, 28))
            if day >= DEMO_TODAY:
                break
            plan.records.append((d_idx, p_idx, _record(rng, unit, member, category, day, staff)))

    # One-off demands through the year: most are claimed within hours, most claimed ones are done within days.
    for _ in range(one_off):
        created_day = START + dt.timedelta(days=rng.randint(0, 364))
        created = _at(created_day, rng, 7, 21)
        category = rng.choices(categories, cat_weights)[0]
        resident = rng.choice(residents)
        capacity = rng.choice([3, 4, 5]) if rng.random() < 0.05 else 1
        recent = (DEMO_TODAY - created_day).days < 5
        d = Demand(org=unit, category=category, description=rng.choice(NOTES[category]).replace("帮助", "需要帮助"),
                   resident=resident, household=resident.household, address=resident.address,
                   area=f"{unit.name}{rng.choice('东南西北')}片", urgency=rng.choices(
                       ["low", "normal", "urgent"], [2, 7, 1])[0], preferred_times=rng.choice(
                       ["", "周末", "工作日上午", "晚饭后"]), capacity=capacity,
                   source=rng.choices(["staff", "resident", "visit"], [5, 3, 2])[0], created_by=staff,
                   created_at=created)
        d_idx = len(plan.demands)
        plan.demands.append(d)
        roll = rng.random()
        if roll < 0.03:
            d.status = Demand.Status.CLOSED
            continue
        if recent and roll < 0.5 or roll < 0.08:
            continue  # still open
        claimers = []
        for member in rng.choices(members, weights, k=capacity * 2):
            if member not in claimers:
                claimers.append(member)
            if len(claimers) == capacity:
                break
        claimed_at = created + dt.timedelta(hours=rng.expovariate(1 / 10))
        d.first_claimed_at = claimed_at
        done = rng.random() < (0.4 if recent else 0.9) and claimed_at.date() < DEMO_TODAY
        d.claimed_count = 0 if done else len(claimers)
        d.status = Demand.Status.DONE if done else (
            Demand.Status.CLAIMED if len(claimers) == capacity else Demand.Status.OPEN)
        served = (claimed_at + dt.timedelta(days=rng.randint(0, 4))).date()
        served = min(served, DEMO_TODAY - dt.timedelta(days=1))
        for member in claimers:
            at = claimed_at + dt.timedelta(minutes=rng.randint(0, 240))
            plan.claims.append((d_idx, Claim(member=member, status=Claim.Status.DONE if done else Claim.Status.CLAIMED,
                                             claimed_at=at, started_at=_at(served, rng) if done else None,
                                             ended_at=_at(served, rng, 20, 22) if done else None)))
            if done:
                plan.records.append((d_idx, None, _record(rng, unit, member, category, served, staff)))
        if done:
            d.done_at = _at(served + dt.timedelta(days=1), rng, 8, 21)


def _record(rng, unit, member, category, day, staff) -> ServiceRecord:
    confirmed = day < DEMO_TODAY - dt.timedelta(days=2) or rng.random() < 0.5
    minutes = rng.choice([30, 45, 60, 60, 90, 120, 150, 180])
    confirmed_at = _at(day + dt.timedelta(days=rng.randint(0, 2)), rng, 9, 21) if confirmed else None
    return ServiceRecord(org=unit, member=member, category=category, served_on=day, minutes=minutes,
                         notes=rng.choice(NOTES[category]),
                         status=ServiceRecord.Status.CONFIRMED if confirmed else ServiceRecord.Status.RECORDED,
                         rating=_rating(rng) if confirmed else "", confirmed_by=staff if confirmed else None,
                         on_behalf=confirmed and rng.random() < 0.35, confirmed_at=confirmed_at,
                         created_at=_at(day, rng, 18, 22))


def _write(plan: _Plan) -> list[ServiceRecord]:
    Demand.objects.bulk_create(plan.demands, batch_size=2000)
    Pairing.objects.bulk_create(plan.pairings, batch_size=2000)
    claims = []
    for d_idx, claim in plan.claims:
        claim.demand = plan.demands[d_idx]
        claims.append(claim)
    Claim.objects.bulk_create(claims, batch_size=2000)
    records = []
    for demand_idx, pairing_idx, record in plan.records:
        record.demand = plan.demands[demand_idx] if demand_idx is not None else None
        record.pairing = plan.pairings[pairing_idx] if pairing_idx is not None else None
        records.append(record)
    ServiceRecord.objects.bulk_create(records, batch_size=2000)
    return records


def _points(ctx: DemoContext, records: list[ServiceRecord], shops: dict[int, tuple[Organisation, list[Reward]]],
            members: dict[int, Member]) -> tuple[int, int, int]:
    """Awards for confirmed records and redemptions, in date order, as the services would make them."""
    rng = ctx.rng
    moments = random.Random(f"{ctx.seed}:points-moments")  # its own stream: the county's figures stay as they were
    accounts = {a.owner_id: a for a in Account.objects.filter(owner_type=OwnerType.MEMBER, unit=Unit.POINT,
                                                              purpose="main", owner_id__in=list(members))}
    missing = [m for pk, m in members.items() if pk not in accounts]
    Account.objects.bulk_create([Account(name=f"{m.person.name} 积分", owner_type=OwnerType.MEMBER, owner_id=m.pk,
                                         org=m.org, unit=Unit.POINT, floor=0, purpose="main") for m in missing],
                                batch_size=2000)
    accounts = {a.owner_id: a for a in Account.objects.filter(owner_type=OwnerType.MEMBER, unit=Unit.POINT,
                                                              purpose="main", owner_id__in=list(members))}
    rules_cache: dict[int, Any] = {}
    issuers: dict[int, Account] = {}
    shop_accounts = {pk: shop_account(org) for pk, (org, _) in shops.items()}
    daily: dict[tuple[int, dt.date], int] = defaultdict(int)
    yearly: dict[tuple[int, int], int] = defaultdict(int)
    balance: dict[int, int] = defaultdict(int)
    stock = {r.pk: r.stock for _, rewards in shops.values() for r in rewards}
    events: list[tuple[dt.date, int, Any]] = [(r.served_on, 0, r) for r in records
                                              if r.status == ServiceRecord.Status.CONFIRMED]
    month = dt.date(START.year, START.month, 1)
    while month < DEMO_TODAY:
        events.append((month, 1, None))  # a shop day at the start of each month
        month = (month + dt.timedelta(days=32)).replace(day=1)
    events.sort(key=lambda e: (e[0], e[1], e[2].pk if e[2] is not None else 0))
    postings: list[PostingSpec] = []
    awards: list[Award] = []
    redemptions: list[tuple[Redemption, dt.date]] = []
    points_of: dict[int, int] = {}
    for day, kind, record in events:
        if kind == 0:
            member = members[record.member_id]
            rules = rules_cache.get(member.org_id)
            if rules is None:
                rules = rules_cache[member.org_id] = rules_for(member.org)
            wanted = rules.points_for(category=record.category, minutes=record.minutes,
                                      satisfied=record.rating == "satisfied")
            points = wanted
            if rules.daily_cap:
                points = min(points, rules.daily_cap - daily[member.pk, day])
            if rules.yearly_cap:
                points = min(points, rules.yearly_cap - yearly[member.pk, day.year])
            if points <= 0:
                continue
            issuer_org = rules.org or ctx.data["county"]
            issuer = issuers.get(issuer_org.pk) or issuers.setdefault(issuer_org.pk, issuing_account(issuer_org))
            daily[member.pk, day] += points
            yearly[member.pk, day.year] += points
            balance[member.pk] += points
            key = f"points:service:{record.pk}"
            postings.append(PostingSpec(entries=[(issuer, -points), (accounts[member.pk], points)],
                                        memo=f"积分奖励 service:{record.pk} {record.category}", kind="points.award",
                                        key=key, at=record.confirmed_at or _at(day, moments, 18, 22)))
            awards.append(Award(member=member, org=member.org, source="service", source_id=str(record.pk),
                                category=record.category, minutes=record.minutes,
                                satisfied=record.rating == "satisfied", on=day, points=points,
                                capped=points < wanted))
            points_of[record.pk] = points
        else:
            for member_id in sorted(balance):
                member = members[member_id]
                shop = next((shops[pk] for pk in shops if member.org.path.startswith(shops[pk][0].path)), None)
                if shop is None or rng.random() > 0.3:
                    continue
                affordable = [r for r in shop[1] if r.price <= balance[member_id] and stock[r.pk] > 0]
                if not affordable:
                    continue
                reward = rng.choice(affordable)
                stock[reward.pk] -= 1
                balance[member_id] -= reward.price
                key = f"demo-{member_id}-{day:%Y%m}"
                postings.append(PostingSpec(entries=[(accounts[member_id], -reward.price),
                                                     (shop_accounts[shop[0].pk], reward.price)],
                                            memo=f"兑换 {reward.name}×1", kind="points.redeem",
                                            key=f"points:redeem:{key}"))
                redemptions.append((Redemption(reward=reward, member=member, quantity=1, points=reward.price,
                                               key=key), day))
    # Each redemption's moment (drawn in the same order as before, so the county stays the same for a seed) dates its
    # posting too: the card's history shows the day a point was earned or spent, not the day the demo was built.
    redeemed_at = {r.key: _at(day, rng, 9, 17) for r, day in redemptions}
    for posting in postings:
        if posting.kind == "points.redeem":
            posting.at = redeemed_at[posting.key.removeprefix("points:redeem:")]
    txns = ledger_post_many(postings=postings)
    by_key = {t.key: t for t in txns}
    for award in awards:
        award.transaction = by_key[f"points:{award.source}:{award.source_id}"]
    Award.objects.bulk_create(awards, batch_size=2000)
    for redemption, _ in redemptions:
        redemption.transaction = by_key[f"points:redeem:{redemption.key}"]
    made = Redemption.objects.bulk_create([r for r, _ in redemptions], batch_size=2000)
    for r in made:
        r.created_at = redeemed_at[r.key]
    Redemption.objects.bulk_update(made, ["created_at"], batch_size=2000)
    for reward_id, left in stock.items():
        Reward.objects.filter(pk=reward_id).update(stock=left)
    by_points: dict[int, list[int]] = defaultdict(list)
    for pk, p in points_of.items():
        by_points[p].append(pk)
    for p, pks in by_points.items():
        ServiceRecord.objects.filter(pk__in=pks).update(points=p)
    return len(awards), sum(a.points for a in awards), len(redemptions)


@demo_step(300)
def build_services(ctx: DemoContext) -> None:
    county = ctx.data.get("county") or Organisation.objects.get(parent__isnull=True)
    ctx.data["county"] = county
    hebin = Organisation.objects.get(name="河滨社区")
    wuyuan = cast(Organisation, hebin.parent)  # 河滨社区 lies in 武原镇
    users = {"secretary": ctx.users.get("hebin_secretary")}
    category_list_set(org=county, names=list(DEFAULT_CATEGORIES), actor=None)  # the county's list; every unit inherits it
    points_rule_set(org=county, base_by_category={"助老": 3, "助残": 3, "医疗": 3, "心理": 3, "助学": 2, "法律": 2,
                                                  "就业": 2, "维修": 2, "其他": 1},
                    default_base=1, per_hour=2, daily_cap=20, yearly_cap=600, satisfied_bonus=2, year_end="carry")
    points_rule_set(org=hebin, base_by_category={"助老": 4, "助残": 4, "医疗": 3, "心理": 3, "助学": 3, "法律": 3,
                                                 "就业": 2, "维修": 2, "其他": 1},
                    default_base=1, per_hour=2, daily_cap=20, yearly_cap=800, satisfied_bonus=2, year_end="carry")
    shops = {hebin.pk: (hebin, [reward_create(shop=hebin, name=n, price=p, stock=s) for n, p, s in REWARDS])}

    # 河滨社区 at full weight; other communities of 武原镇 and a sample of villages elsewhere, lighter.
    others = list(Organisation.objects.filter(kind__in=[OrgKind.COMMUNITY, OrgKind.VILLAGE])
                  .exclude(pk=hebin.pk).order_by("path"))
    in_wuyuan = [o for o in others if o.path.startswith(wuyuan.path)]
    elsewhere = [o for o in others if not o.path.startswith(wuyuan.path)]
    rng = ctx.rng
    chosen = in_wuyuan + rng.sample(elsewhere, min(len(elsewhere), max(1, int(20 * ctx.scale))))
    units = [hebin] + chosen
    for unit in chosen[:6]:
        shops[unit.pk] = (unit, [reward_create(shop=unit, name=n, price=p, stock=s // 2) for n, p, s in REWARDS[:5]])

    q = Q()
    for unit in units:
        q |= subtree_q("org__path", unit.path)
    all_members = list(Member.objects.active().filter(q).select_related("person", "org"))
    all_residents = list(Resident.objects.filter(org__in=units))
    members_by_unit: dict[int, list[Member]] = defaultdict(list)
    paths = sorted(((u.path, u.pk) for u in units), key=lambda t: -len(t[0]))
    for m in all_members:
        for path, pk in paths:
            if m.org.path.startswith(path):
                members_by_unit[pk].append(m)
                break
    residents_by_unit: dict[int, list[Resident]] = defaultdict(list)
    for r in all_residents:
        residents_by_unit[r.org_id].append(r)

    plan = _Plan()
    scale = max(ctx.scale, 0.02)
    _community(ctx, plan, hebin, members_by_unit[hebin.pk], residents_by_unit[hebin.pk],
               one_off=max(20, int(800 * scale)), pairings=max(5, int(50 * scale)), users=users)
    for unit in chosen:
        _community(ctx, plan, unit, members_by_unit[unit.pk], residents_by_unit[unit.pk],
                   one_off=rng.randint(6, 20), pairings=rng.randint(0, 3), users={})
    _demo_logins(ctx, plan, hebin, members_by_unit[hebin.pk], residents_by_unit[hebin.pk])
    records = _write(plan)
    n_awards, issued, n_redeemed = _points(ctx, records, shops, {m.pk: m for m in all_members})
    audit_record(by=None, action="import", model="demands.Demand",
                 summary=f"演示数据：{len(plan.demands)} 条需求，{len(records)} 条服务记录，{n_awards} 次积分奖励")
    hebin_members = len({c.member_id for d_idx, c in plan.claims if plan.demands[d_idx].org_id == hebin.pk})
    ctx.data["services"] = {"demands": len(plan.demands), "records": len(records), "awards": n_awards,
                            "points_issued": issued, "redemptions": n_redeemed,
                            "hebin_members_serving": hebin_members}
    ctx.log(f"    services: {len(plan.demands)} demands, {len(records)} service records, {n_awards} awards "
            f"({issued} points), {n_redeemed} redemptions; 河滨社区: {hebin_members} members serving")


def _demo_logins(ctx: DemoContext, plan: _Plan, hebin: Organisation, members: list[Member],
                 residents: list[Resident]) -> None:
    """What the demo logins meet: open needs on member_demo's board, a need of resident_demo's awaiting his
    confirmation of member_demo's service."""
    member_user, resident_user = ctx.users.get("member_demo"), ctx.users.get("resident_demo")
    rng = ctx.rng
    now = dt.datetime.combine(DEMO_TODAY, dt.time(9, 0), tzinfo=TZ)
    for i, category in enumerate(["助老", "维修", "医疗", "助学"]):
        resident = residents[i % len(residents)] if residents else None
        plan.demands.append(Demand(org=hebin, category=category, description=rng.choice(NOTES[category]),
                                   resident=resident, household=resident.household if resident else "",
                                   address=resident.address if resident else "", area=f"{hebin.name}东片",
                                   preferred_times="本周末", created_at=now - dt.timedelta(hours=3 + i),
                                   created_by=ctx.users.get("hebin_secretary")))
    if member_user is None or resident_user is None or not member_user.person_id:
        return
    member = next((m for m in members if m.person_id == member_user.person_id), None)
    resident = next((r for r in residents if r.person_id == resident_user.person_id), None)
    if member is None:
        return
    d_idx = len(plan.demands)
    claimed = now - dt.timedelta(days=2)
    plan.demands.append(Demand(org=hebin, category="助老", description="想请人陪同去社区卫生服务中心体检",
                               resident=resident, household=resident.household if resident else "",
                               address=resident.address if resident else "", area=f"{hebin.name}北片",
                               source="resident", created_by=resident_user, created_at=claimed - dt.timedelta(hours=5),
                               first_claimed_at=claimed, claimed_count=1, status=Demand.Status.CLAIMED))
    plan.claims.append((d_idx, Claim(member=member, status=Claim.Status.STARTED, claimed_at=claimed,
                                     started_at=claimed + dt.timedelta(days=1))))
    plan.records.append((d_idx, None, ServiceRecord(org=hebin, member=member, category="助老",
                                                    served_on=DEMO_TODAY - dt.timedelta(days=1), minutes=120,
                                                    notes="陪同体检，取回报告", created_at=now)))
