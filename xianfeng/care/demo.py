"""Demo step (600): the report's member care — a 3.15 M yuan county care fund with sub-funds for the towns, some
villages and communities and two enterprises, a year of allocations and aid; care cases with a year of visits and
春风 actions; 20 one-key call devices for elderly members with limited mobility and a year of their alerts.

Through the services: funds, the founding contribution, policies, devices and their responders. Bulk paths, for
speed, applying the same rules:
- the year's allocations (parent fund → direct child only) go to the ledger as one ledger_post_many batch, which
  checks every fund's zero floor posting by posting;
- care cases are inserted as rows (each member once; the database's one-open-case constraint holds) with one audit
  row for the batch;
- aid: each request is written with its applicant, its reviewer (staff over the case's organisation, not the
  applicant) and its decider (the fund's owner, not the applicant), paid only if the fund's running balance covers
  it (else rejected with the reason), and the payments are posted as one ledger batch keyed per request;
- visits and 春风 actions are inserted as CareAction rows, and each case's next visit is then set exactly as
  action_record sets it (the latest visit + the case's period);
- the year of past alerts is written as the rows the services leave behind — the alert with its chain and policy
  copied, its steps (done, each level at its due time), its events (raised, called, acknowledged, arrived,
  resolved) — without re-sending a year of notifications;
- responders' logins share one password hash (hashing it once per user would take most of the budget).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, cast

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from xianfeng.core.audit import audit_record
from xianfeng.core.demo import DEMO_PASSWORD, DEMO_TODAY, DemoContext, demo_step
from xianfeng.core.scoping import can
from xianfeng.ledger.services import PostingSpec, ledger_post_many
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import Member, Organisation, OrgKind, Role, User

from . import services
from .models import Alert, AlertEvent, AlertStep, CareAction, CareCase, Device, DeviceContact, Disbursement

FUND_TOTAL_FEN = 3_150_000_00  # the report: a 3.15 M yuan county member-care fund
DEVICES = 20
YEAR_START = DEMO_TODAY - dt.timedelta(days=364)
AID_ITEMS = ["春节慰问金", "住院补助", "困难帮扶", "重阳节慰问", "助医补助", "七一走访慰问", "临时救助"]
VISIT_NOTES = ["上门走访，身体状况稳定", "陪同到卫生院复查", "帮助打扫卫生、代购生活用品", "送学习资料上门，讲解文件精神",
               "了解用药情况，联系家庭医生", "春风行动：帮助修理门窗", "春风行动：代缴水电费、理发"]


def _aware(day: dt.date, seconds: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds))


def _user(ctx: DemoContext, username: str, person: Any, password_hash: str, name: str) -> User:
    user = User(username=username, person=person, first_name=name[:150], password=password_hash)
    user.save()
    ctx.users[username] = user
    return user


@demo_step(600)
def build_care(ctx: DemoContext) -> None:
    rng = ctx.rng
    county = ctx.data["county"]
    admin = ctx.users["county_admin"]
    towns = list(Organisation.objects.filter(kind=OrgKind.TOWN, parent=county).order_by("code"))
    wuyuan = next(t for t in towns if t.name == "武原镇")
    hebin = Organisation.objects.get(name="河滨社区")
    password_hash = make_password(DEMO_PASSWORD)

    # --- people: town administrators own town funds; duty officers answer alerts -------------------------------
    town_owner: dict[int, User] = {}
    for i, town in enumerate(towns):
        owner = ctx.users["wuyuan_admin"] if town.pk == wuyuan.pk else _user(
            ctx, f"care_town{i + 1}", None, password_hash, f"{town.name}关爱基金负责人")
        if town.pk != wuyuan.pk:
            org_services.role_grant(user=owner, kind=Role.Kind.ORG_ADMIN, org=town)
        town_owner[town.pk] = owner
    communities = list(Organisation.objects.filter(parent=wuyuan, kind=OrgKind.COMMUNITY).order_by("code"))
    duty: dict[int, User] = {}
    for i, org in enumerate([wuyuan, *communities]):
        username = "hebin_duty" if org.pk == hebin.pk else ("wuyuan_duty" if org.pk == wuyuan.pk else f"duty{i:02d}")
        user = _user(ctx, username, None, password_hash, f"{org.name}值班员")
        org_services.role_grant(user=user, kind=Role.Kind.DUTY_OFFICER, org=org)
        duty[org.pk] = user

    # --- funds: county → towns → some villages/communities and two enterprises ---------------------------------
    county_fund = services.fund_create(name="海盐县党员关爱基金", org=county, owner=admin, actor=admin)
    opening = _opening(county_fund)
    services.fund_contribute(fund=county_fund, amount=FUND_TOTAL_FEN, memo=opening.memo, key="demo:county-fund",
                             actor=admin)
    town_funds = {t.pk: services.fund_create(name=f"{t.name}党员关爱基金", org=t, owner=town_owner[t.pk],
                                             parent=county_fund, actor=admin) for t in towns}
    units = list(communities[:6])  # and the first village of each town
    units += [v for t in towns if (v := Organisation.objects.filter(kind=OrgKind.VILLAGE, path__startswith=t.path)
                                   .order_by("code").first()) is not None]
    units += list(Organisation.objects.filter(kind=OrgKind.ENTERPRISE).order_by("code")[:2])
    secretaries = {r.org_id: r.user for r in Role.objects.filter(kind=Role.Kind.SECRETARY).select_related("user")}
    unit_funds = {}
    for unit in units:
        town_id = next(t.pk for t in towns if unit.path.startswith(t.path))
        owner = secretaries.get(unit.pk) or town_owner[town_id]
        unit_funds[unit.pk] = services.fund_create(name=f"{unit.name}关爱基金", org=unit, owner=owner,
                                                   parent=town_funds[town_id], actor=town_owner[town_id])
    postings = []  # a year of quarterly allocations, county → towns → units, posted as one checked batch
    for quarter in range(4):
        for town in towns:
            target = town_funds[town.pk]
            postings.append(_allocation(county_fund, target, 150_000_00 if town.pk == wuyuan.pk else 60_000_00,
                                        quarter))
        for unit in units:
            target = unit_funds[unit.pk]
            postings.append(_allocation(target.parent, target, rng.choice([8_000_00, 10_000_00, 12_000_00]),
                                        quarter))
    ledger_post_many(postings=postings, actor=admin)

    # --- care cases with a year of visits ------------------------------------------------------------------------
    cutoff = DEMO_TODAY.replace(year=DEMO_TODAY.year - 80)
    elderly = list(Member.objects.filter(person__birth_date__lte=cutoff, org__path__startswith=county.path)
                   .exclude(status=Member.Status.LEFT).select_related("org", "person").order_by("id"))
    limited = [m for m in elderly if m.status == Member.Status.LIMITED]
    n_cases = min(len(elderly), max(5, int(400 * ctx.scale)))
    chosen = limited[: n_cases // 2] + [m for m in elderly if m.status != Member.Status.LIMITED][: n_cases // 2]
    unit_of: dict[str, Organisation] = {}
    for org in Organisation.objects.filter(kind__in=[OrgKind.COMMUNITY, OrgKind.VILLAGE, OrgKind.ENTERPRISE,
                                                     OrgKind.TOWN, OrgKind.DEPARTMENT, OrgKind.HOSPITAL,
                                                     OrgKind.SCHOOL, OrgKind.SOCIAL]).order_by("-depth"):
        unit_of.setdefault(org.path, org)
    cases: list[CareCase] = []
    for member in chosen:  # one open case per member: `chosen` has each member once (the database checks it too)
        unit = next((unit_of[member.org.path[:i]] for i in range(len(member.org.path), 0, -4)
                     if member.org.path[:i] in unit_of), county)
        reason = CareCase.Reason.LIMITED if member.status == Member.Status.LIMITED else rng.choice(
            [CareCase.Reason.AGE_80, CareCase.Reason.AGE_80, CareCase.Reason.SICK, CareCase.Reason.HARDSHIP])
        period = rng.choice([15, 30, 30, 30])
        opened = YEAR_START + dt.timedelta(days=rng.randint(0, 60))
        cases.append(CareCase(member=member, org=unit, reason=reason, visit_every_days=period, opened_on=opened,
                              next_visit_due=opened + dt.timedelta(days=period), created_by=admin))
    CareCase.objects.bulk_create(cases, batch_size=1000)
    audit_record(by=admin, action="import", model="care.CareCase", summary=f"演示数据：建立关爱对象 {len(cases)} 名")
    actions = []
    for case in cases:
        day = case.opened_on
        while True:
            day += dt.timedelta(days=case.visit_every_days + rng.randint(-3, 8 if rng.random() < 0.85 else 40))
            if day > DEMO_TODAY:
                break
            kind = CareAction.Kind.SPRING_BREEZE if rng.random() < 0.15 else CareAction.Kind.VISIT
            actions.append(CareAction(case=case, kind=kind, date=day, notes=rng.choice(VISIT_NOTES),
                                      recorded_by=admin))
    CareAction.objects.bulk_create(actions, batch_size=2000)
    last: dict[int, dt.date] = {}
    for a in actions:
        last[a.case_id] = max(last.get(a.case_id, a.date), a.date)
    for case in cases:
        if case.pk in last:
            case.next_visit_due = last[case.pk] + dt.timedelta(days=case.visit_every_days)
    CareCase.objects.bulk_update(cases, ["next_visit_due"], batch_size=1000)

    # --- a year of aid: requested by the town, reviewed by the unit's secretary, paid by the fund's owner ---------
    # The approval rules (the disbursement policy's review and decide, the zero floor) are checked here row by row; the
    # payments are then posted as one ledger batch that checks every floor again, posting by posting.
    balance = {f.pk: 0 for f in [county_fund, *town_funds.values(), *unit_funds.values()]}
    accounts = {f.account_id: f for f in [county_fund, *town_funds.values(), *unit_funds.values()]}
    for posting in [_opening(county_fund), *postings]:
        for account_id, amount in posting.entries:
            if account_id in accounts:
                balance[accounts[account_id].pk] += amount
    requests = []
    for case in rng.sample(cases, k=min(len(cases), max(3, int(150 * ctx.scale)))):
        town_id = next((t.pk for t in towns if case.org.path.startswith(t.path)), None)
        fund = unit_funds.get(case.org.pk) or (town_funds.get(town_id) if town_id else None) or county_fund
        applicant = admin if fund.owner != admin else (town_owner.get(town_id, admin) if town_id else admin)
        reviewer = next((u for u in (secretaries.get(case.org.pk), town_owner.get(town_id) if town_id else None, admin)
                         if u is not None and u != applicant and can(u, "change", case.org)), None)
        if reviewer is None or fund.owner == applicant:
            continue
        amount = rng.choice([500_00, 800_00, 1_000_00, 2_000_00, 3_000_00])
        asked = _aware(YEAR_START + dt.timedelta(days=rng.randint(70, 350)), 9 * 3600)
        d = Disbursement(fund=fund, case=case, amount=amount, reason=rng.choice(AID_ITEMS), requested_by=applicant,
                         requested_at=asked, reviewed_by=reviewer, reviewed_at=asked + dt.timedelta(days=1),
                         decided_by=fund.owner, decided_at=asked + dt.timedelta(days=2))
        if balance[fund.pk] >= amount:
            balance[fund.pk] -= amount
            d.status = Disbursement.Status.REVIEWED  # paid below, once its posting exists
        else:
            d.status, d.decision_note = Disbursement.Status.REJECTED, "本基金余额不足，转上级基金"
        requests.append(d)
    Disbursement.objects.bulk_create(requests, batch_size=1000)
    aid = services.aid_account()
    to_pay = [d for d in requests if d.status == Disbursement.Status.REVIEWED]
    txns = ledger_post_many(postings=[PostingSpec(
        entries=[(cast(int, d.fund.account_id), -d.amount), (aid.pk, d.amount)], kind="care.disbursement",
        memo=f"{d.fund.name} 拨付 {d.case.member}：{d.reason}"[:300], key=f"care.disbursement:{d.pk}")
        for d in to_pay], actor=admin)
    for d, txn in zip(to_pay, txns, strict=True):
        d.status, d.transaction = Disbursement.Status.PAID, txn
    Disbursement.objects.bulk_update(to_pay, ["status", "transaction"], batch_size=1000)
    paid = len(to_pay)

    # --- devices and a year of alerts ----------------------------------------------------------------------------
    now = timezone.now()
    for org in [wuyuan, *communities]:
        services.policy_save(org=org, name=f"{org.name}一键通响应链", actor=admin, ack_timeout_seconds=60,
                             repeat_seconds=60, channels=["in_app", "sms"])
    # elderly members with limited mobility, those in 武原镇 first (a small demo county may need others too)
    holders = list({m.pk: m for m in [*(m for m in limited if m.org.path.startswith(wuyuan.path)), *limited,
                                      *elderly]}.values())
    device_orgs = [hebin] * 8 + communities[1:7] * 2
    devices: list[Device] = []
    case_of = {c.member_id: c for c in cases}
    for i in range(min(DEVICES, len(holders))):
        member = holders[i]
        org = device_orgs[i % len(device_orgs)]
        device = services.device_register(
            serial=f"YJT-{2026_0001 + i}", holder=member.person, org=org, model="YJT-200 一键通",
            address=f"{org.name}{rng.randint(1, 30)}幢{rng.randint(1, 6)}0{rng.randint(1, 4)}室",
            grid=f"{org.name}第{rng.randint(1, 4)}网格", case=case_of.get(member.pk), heartbeat_minutes=60,
            actor=admin, now=now, installed_on=YEAR_START)
        volunteer = _user(ctx, f"yjt_volunteer{i + 1:02d}", None, password_hash, ctx.faker.name())
        family = _user(ctx, f"yjt_family{i + 1:02d}", None, password_hash, f"{member.person.name}家属")
        grid = _user(ctx, f"yjt_grid{i + 1:02d}", None, password_hash, ctx.faker.name())
        org_services.role_grant(user=grid, kind=Role.Kind.GRID_WORKER, org=org)
        DeviceContact.objects.bulk_create([
            DeviceContact(device=device, user=volunteer, level=1, relation=DeviceContact.Relation.VOLUNTEER),
            DeviceContact(device=device, user=family, level=1, relation=DeviceContact.Relation.FAMILY),
            DeviceContact(device=device, user=grid, level=2, relation=DeviceContact.Relation.GRID)])
        devices.append(device)
    Device.objects.filter(pk__in=[d.pk for d in devices]).update(last_heartbeat_at=now, battery_pct=90)
    if devices:  # one device has stopped beating (its battery ran out): the console counts it
        Device.objects.filter(pk=devices[-1].pk).update(offline_since=now, battery_pct=3)
    n_alerts = _alert_history(ctx, devices)
    ctx.data.setdefault("summary", {}).update({
        "care fund yuan": FUND_TOTAL_FEN // 100, "care funds": 1 + len(town_funds) + len(unit_funds),
        "care cases": len(cases), "care actions": len(actions), "aid payments": paid,
        "call devices": len(devices), "alerts": n_alerts})


def _opening(fund) -> PostingSpec:
    """The county fund's founding contribution (what fund_contribute posts), for the running balances above."""
    return PostingSpec(entries=[(services.income_account().pk, -FUND_TOTAL_FEN), (fund.account_id, FUND_TOTAL_FEN)],
                       memo="县财政及党费划拨设立关爱基金", kind="care.contribution", key="care.contribution:demo:county-fund")


def _allocation(source, target, amount: int, quarter: int) -> PostingSpec:
    """What fund_allocate posts (parent → direct child), keyed by quarter."""
    assert target.parent_id == source.pk
    return PostingSpec(entries=[(source.account_id, -amount), (target.account_id, amount)], kind="care.allocation",
                       memo=f"{source.name} → {target.name}：第{quarter + 1}季度下拨",
                       key=f"care.allocation:demo:q{quarter}:{target.pk}")


def _ack_seconds(rng, real: bool) -> float:
    """Time to acknowledge: mostly well under a minute, a tail beyond (the 60-s share lands near 90 %)."""
    return max(4.0, rng.lognormvariate(math.log(20 if real else 24), 0.65))


def _alert_history(ctx: DemoContext, devices: list[Device]) -> int:
    """A year of alerts per device: monthly test presses, false alarms, a few real calls — bulk rows (see above)."""
    rng = ctx.rng
    plans: list[tuple[Device, Any, str, dt.date]] = []
    for device in devices:
        chain, policy = services.build_chain(device)
        for month in range(12):
            plans.append((device, chain, Alert.Kind.TEST, YEAR_START + dt.timedelta(days=30 * month + rng.randint(0, 5))))
        for _ in range(rng.randint(2, 8)):
            plans.append((device, chain, Alert.Kind.PRESS, YEAR_START + dt.timedelta(days=rng.randint(0, 363))))
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            plans.append((device, chain, "real", YEAR_START + dt.timedelta(days=rng.randint(0, 363))))
    alerts, meta = [], []
    for n, (device, chain, kind, day) in enumerate(plans):
        real = kind == "real"
        raised = _aware(day, rng.randint(6 * 3600, 22 * 3600))
        ack = _ack_seconds(rng, real)
        levels = [lv for lv in chain if lv["users"]]
        called = [lv for i, lv in enumerate(levels) if i * 60 <= ack] or levels[:1]
        responder = rng.choice(called[-1]["users"])
        arrive = ack + rng.uniform(300, 1200) if (real or rng.random() < 0.5) else None
        outcome = (Alert.Outcome.TEST if kind == Alert.Kind.TEST else
                   rng.choice([Alert.Outcome.HELPED, Alert.Outcome.HELPED, Alert.Outcome.HOSPITAL]) if real
                   else Alert.Outcome.FALSE_ALARM)
        resolved = raised + dt.timedelta(seconds=(arrive or ack) + rng.uniform(120, 1800))
        alerts.append(Alert(
            device=device, org_id=device.org_id, kind=Alert.Kind.TEST if kind == Alert.Kind.TEST else Alert.Kind.PRESS,
            status=Alert.Status.RESOLVED, key=f"demo:{device.pk}:{n}", raised_at=raised, chain=chain,
            ack_timeout_seconds=60, repeat_seconds=60, channels=["in_app", "sms"], current_level=called[-1]["level"],
            calls=len(called), acknowledged_at=raised + dt.timedelta(seconds=ack), acknowledged_by_id=responder,
            ack_seconds=round(ack, 1), arrived_at=raised + dt.timedelta(seconds=arrive) if arrive else None,
            arrived_by_id=responder if arrive else None, arrive_seconds=round(arrive, 1) if arrive else None,
            resolved_at=resolved, resolved_by_id=responder, outcome=outcome,
            notes={"hospital": "送县人民医院急诊", "helped": "摔倒后扶起，无大碍"}.get(outcome, "")))
        meta.append((called, ack, arrive, resolved, responder, outcome))
    Alert.objects.bulk_create(alerts, batch_size=1000)
    steps, events = [], []
    for alert, (called, ack, arrive, resolved, responder, _outcome) in zip(alerts, meta, strict=True):
        raised = alert.raised_at
        events.append(AlertEvent(alert=alert, at=raised, kind=AlertEvent.Kind.RAISED, detail=alert.device.address))
        for seq, level in enumerate(called, start=1):
            at = raised + dt.timedelta(seconds=60 * (seq - 1))
            steps.append(AlertStep(alert=alert, seq=seq, level=level["level"], due_at=at, ran_at=at, ran_by="worker",
                                   status=AlertStep.Status.DONE, notified=level["users"]))
            events.append(AlertEvent(alert=alert, at=at, kind=AlertEvent.Kind.CALLED, level=level["level"],
                                     detail=level["label"]))
        steps.append(AlertStep(alert=alert, seq=len(called) + 1, level=called[-1]["level"],
                               due_at=raised + dt.timedelta(seconds=60 * len(called)),
                               status=AlertStep.Status.CANCELLED))
        events.append(AlertEvent(alert=alert, at=cast(dt.datetime, alert.acknowledged_at), kind=AlertEvent.Kind.ACKNOWLEDGED,
                                 by_id=responder, detail=f"响应（{ack:.0f} 秒）"))
        if arrive:
            events.append(AlertEvent(alert=alert, at=cast(dt.datetime, alert.arrived_at), kind=AlertEvent.Kind.ARRIVED, by_id=responder))
        events.append(AlertEvent(alert=alert, at=resolved, kind=AlertEvent.Kind.RESOLVED, by_id=responder,
                                 detail=alert.get_outcome_display()))
    AlertStep.objects.bulk_create(steps, batch_size=2000)
    AlertEvent.objects.bulk_create(events, batch_size=2000)
    return len(alerts)
