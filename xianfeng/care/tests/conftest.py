"""The care module's test county: the personas' world plus responders, a fund tree, a care case and a device."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from xianfeng.care import services
from xianfeng.care.models import CareCase, CareFund, Device, EscalationPolicy
from xianfeng.core.testing import make_person, make_user
from xianfeng.orgs.models import Member, Role

T0 = timezone.make_aware(dt.datetime(2026, 3, 1, 9, 0, 0))


@dataclass
class Care:
    world: object
    volunteer: object
    family: object
    grid: object
    hebin_duty: object
    wuyuan_duty: object
    policy: EscalationPolicy
    case: CareCase
    device: Device
    county_fund: CareFund
    wuyuan_fund: CareFund
    hebin_fund: CareFund


@pytest.fixture
def care(world):
    return make_care(world)


def make_care(world) -> Care:
    """Responders, a default policy, a care case, a device with its chain and a fund tree (also used by bench/)."""
    w = world
    volunteer = make_user("volunteer", None, None, person=make_person("赵志愿", phone="13900000001"))
    family = make_user("family", None, None, person=make_person("李家属", phone="13900000002"))
    grid = make_user("grid_worker", Role.Kind.GRID_WORKER, w.hebin, person=make_person("钱网格", phone="13900000003"))
    hebin_duty = make_user("hebin_duty", Role.Kind.DUTY_OFFICER, w.hebin,
                           person=make_person("孙值班", phone="13900000004"))
    wuyuan_duty = make_user("wuyuan_duty", Role.Kind.DUTY_OFFICER, w.wuyuan,
                            person=make_person("周镇值班", phone="13900000005"))
    w.users.update(volunteer=volunteer, family=family, grid=grid, hebin_duty=hebin_duty, wuyuan_duty=wuyuan_duty)
    policy = services.policy_save(org=w.hebin, name="河滨社区响应链", actor=w.hebin_secretary, ack_timeout_seconds=60,
                                  repeat_seconds=60, channels=["in_app", "sms"])
    member: Member = w.members["hebin_b"]
    case = services.case_open(member=member, org=w.hebin, reason=CareCase.Reason.LIMITED, actor=w.hebin_secretary,
                              carers=[volunteer], visit_every_days=30, next_visit_due=dt.date(2026, 3, 10),
                              today=dt.date(2026, 2, 1))
    device = services.device_register(serial="YJT-0001", holder=member.person, org=w.hebin, address="河滨社区3幢201室",
                                      grid="河滨1网格", case=case, actor=w.hebin_secretary, now=T0)
    services.device_contact_add(device=device, user=volunteer, level=1, relation="volunteer", actor=w.hebin_secretary)
    services.device_contact_add(device=device, user=family, level=1, relation="family", actor=w.hebin_secretary)
    services.device_contact_add(device=device, user=grid, level=2, relation="grid", actor=w.hebin_secretary)
    county_fund = services.fund_create(name="海盐县党员关爱基金", org=w.county, owner=w.county_admin, actor=w.county_admin)
    wuyuan_fund = services.fund_create(name="武原镇党员关爱基金", org=w.wuyuan, owner=w.wuyuan_admin,
                                       parent=county_fund, actor=w.county_admin)
    hebin_fund = services.fund_create(name="河滨社区关爱基金", org=w.hebin, owner=w.hebin_secretary,
                                      parent=wuyuan_fund, actor=w.wuyuan_admin)
    return Care(w, volunteer, family, grid, hebin_duty, wuyuan_duty, policy, case, device, county_fund, wuyuan_fund,
                hebin_fund)


def press(device, event_id="e1", kind="press", *, now=None, ts=None, nonce=None, battery=None, source="http"):
    """Send one signed event through services.ingest as a gateway would."""
    event = {"event_id": event_id, "type": kind}
    if battery is not None:
        event["battery"] = battery
    now = now or T0
    env = services.signed_envelope(device, event, timestamp=ts if ts is not None else int(now.timestamp()),
                                   nonce=nonce)
    return services.ingest(serial=device.serial, body=env["body"].encode(), timestamp=env["ts"], nonce=env["nonce"],
                           signature=env["sig"], source=source, now=now)
