"""A small county with records in several modules, made through the modules' own services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from xianfeng.core.testing import make_user
from xianfeng.events import services as events
from xianfeng.grids import services as grids
from xianfeng.grids.models import Case
from xianfeng.orgs.models import Role
from xianfeng.pledges import services as pledges

ITEMS = [{"kind": "service", "text": "年底前为本村5户低保户各送一次米面油", "target_value": "5", "target_unit": "户"}]


def square(lng0: float, lat0: float, size: float = 0.005) -> dict:
    return {"type": "Polygon", "coordinates": [[[lng0, lat0], [lng0 + size, lat0], [lng0 + size, lat0 + size],
                                                [lng0, lat0 + size], [lng0, lat0]]]}


def pledge_round(world):
    today = timezone.localdate()
    return pledges.round_create(name="创先争优公开承诺", year=today.year, org=world.county,
                                start=today - dt.timedelta(days=60), end=today + dt.timedelta(days=200),
                                actor=world.county_admin)


def member_pledge(rnd, member, user, reviewer, *, to: str = "draft"):
    """A member's pledge moved along the cycle by the services up to `to` (draft → … → fulfilled)."""
    due = timezone.localdate() + dt.timedelta(days=30)
    pledge = pledges.pledge_create(round=rnd, member=member, items=[dict(i, due_date=due) for i in ITEMS], actor=user)
    steps = ["submitted", "approved", "published", "claimed", "fulfilled"]
    for step in steps[: steps.index(to) + 1] if to in steps else []:
        if step == "submitted":
            pledges.pledge_submit(pledge=pledge, actor=user)
        elif step == "approved":
            pledges.pledge_approve(pledge=pledge, actor=reviewer)
        elif step == "published":
            pledges.pledge_publish(pledge=pledge, actor=reviewer)
        elif step == "claimed":
            pledges.pledge_claim(pledge=pledge, evidence="已为5户低保户送去米面油", actor=user)
        else:
            pledges.pledge_confirm(pledge=pledge, actor=reviewer)
    return pledge


def member_user(world, key: str):
    """The member's own login (the pledge's owner)."""
    member = world.members[key]
    user = getattr(member.person, "user", None)
    return user or make_user(f"m_{member.pk}", Role.Kind.MEMBER, member.org, person=member.person)


def close_case(case, handler, verifier):
    """Accepted, handled and reported back by `handler`, verified and closed by `verifier` (someone else)."""
    case = grids.case_accept(case=case, actor=handler)
    case = grids.case_start(case=case, actor=handler)
    case = grids.case_report_back(case=case, actor=handler, note="已处理")
    case = grids.case_verify(case=case, actor=verifier, passed=True)
    return grids.case_close(case=case, actor=verifier, outcome=Case.Outcome.RESOLVED)


@pytest.fixture
def records(world):
    """Pledges in two towns, grids with households, visits and cases, a lesson with attendances."""
    admin = world.county_admin
    rnd = pledge_round(world)
    hebin, qinshan = world.hebin_secretary, world.qinshan_secretary
    member_pledge(rnd, world.members["hebin_a"], member_user(world, "hebin_a"), hebin, to="fulfilled")
    member_pledge(rnd, world.members["hebin_b"], member_user(world, "hebin_b"), hebin, to="published")
    member_pledge(rnd, world.members["qinshan_a"], member_user(world, "qinshan_a"), qinshan, to="submitted")
    member_pledge(pledge_round(world), world.members["qinshan_a"], member_user(world, "qinshan_a"), qinshan)  # a draft
    grid = grids.grid_create(org=world.hebin, name="河滨一网格", boundary=square(120.940, 30.520))
    grid_q = grids.grid_create(org=world.qinshan_village, name="杨柳一网格", boundary=square(120.950, 30.520))
    h1 = grids.household_create(grid=grid, number="H001", address="河滨路1号", head_name="陈大伯")
    grids.household_create(grid=grid, number="H002", address="河滨路2号", head_name="林阿姨")
    grids.household_create(grid=grid_q, number="Y001", address="杨柳村1组", head_name="王大妈")
    grids.visit_record(household=h1, date=timezone.localdate(), notes="走访了解近况", actor=admin)
    category = grids.category_create(code="101", name="道路破损", deadline_kind="working_days", deadline_value=3)
    opened = [grids.case_open(category=category, description=f"路面塌陷{i}", actor=None, source="staff",
                              org=org, address="河滨路8号") for i, org in enumerate(
        [world.hebin, world.hebin, world.qinshan_village])]
    close_case(opened[0], world.hebin_secretary, admin)
    now = timezone.now()
    lesson = events.activity_create(org=world.hebin_branch, kind="lesson", title="党课：基层治理", lecturer="张书记",
                                    starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=1), actor=admin)
    for member in (world.members["hebin_a"], world.members["hebin_b"]):
        events.attendance_check_in(activity=lesson, person=member.person, method="manual", actor=admin)
    return {"round": rnd, "grid": grid, "category": category, "lesson": lesson, "cases": opened}
