"""Helpers shared by the pledge tests: a round, a member's pledge moved along the cycle by the real services."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from xianfeng.core.testing import make_user
from xianfeng.orgs.models import Role

from .. import services

ITEMS = [
    {"kind": "service", "text": "年底前为本村5户低保户各送一次米面油", "target_value": "5", "target_unit": "户"},
    {"kind": "post", "text": "每月15日到河滨社区3号楼为独居老人测一次血压"},
]


def make_round(world, **kwargs):
    today = timezone.localdate()
    return services.round_create(name=kwargs.pop("name", "创先争优公开承诺"), year=today.year, org=world.county,
                                 start=today - dt.timedelta(days=60), end=today + dt.timedelta(days=200),
                                 actor=world.county_admin, **kwargs)


def items(due=None, texts=None):
    due = due or timezone.localdate() + dt.timedelta(days=30)
    rows = [dict(item, due_date=due) for item in ITEMS]
    if texts:
        rows = [{"kind": "vanguard", "text": t, "due_date": due} for t in texts]
    return rows


def draft(world, pledge_round=None, **kwargs):
    pledge_round = pledge_round or make_round(world)
    return services.pledge_create(round=pledge_round, member=world.members["hebin_a"], items=kwargs.pop("items", None)
                                  or items(), actor=world.member, **kwargs)


def published(world, pledge_round=None):
    pledge = draft(world, pledge_round)
    services.pledge_submit(pledge=pledge, actor=world.member)
    services.pledge_approve(pledge=pledge, actor=world.hebin_secretary)
    return services.pledge_publish(pledge=pledge, actor=world.hebin_secretary)


def fulfilled(world, pledge_round=None):
    pledge = published(world, pledge_round)
    services.pledge_claim(pledge=pledge, evidence="已为5户低保户送去米面油", actor=world.member)
    return services.pledge_confirm(pledge=pledge, actor=world.hebin_secretary)


_residents = [0]


def resident(world, name=None):
    _residents[0] += 1
    return make_user(name or f"resident_{_residents[0]}", Role.Kind.RESIDENT, world.hebin)
