"""Named personas and a small county for tests: the same people in every test.

    county_admin      县级管理员 of 海盐县
    wuyuan_admin      组织管理员 of 武原镇
    hebin_secretary   书记 of 武原镇河滨社区
    qinshan_secretary 书记 of a 秦山镇 village — the outsider for Wuyuan data
    member            a 河滨社区 party member (role: member)
    resident          a 河滨社区 resident (role: resident)
    inspector         督查员 over the county
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from xianfeng.core.ids import make_id_number
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import Member, Organisation, OrgKind, Role, User

PASSWORD = "test-pass-123"


@dataclass
class County:
    county: Organisation
    wuyuan: Organisation
    hebin: Organisation
    hebin_branch: Organisation
    qinshan: Organisation
    qinshan_village: Organisation
    qinshan_branch: Organisation
    health_bureau: Organisation
    users: dict[str, User] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        users = self.__dict__.get("users", {})
        if name in users:
            return users[name]
        raise AttributeError(name)


_seq = [0]


def make_person(name: str, *, gender: str = "M", birth: dt.date = dt.date(1980, 5, 17), phone: str = "13805735678"):
    _seq[0] += 1
    return org_services.person_upsert(
        name=name, id_number=make_id_number("330424", birth, _seq[0], gender), phone=phone, gender=""
    )


def make_member(name: str, org: Organisation, **kwargs: Any) -> Member:
    person = make_person(name, gender=kwargs.pop("gender", "M"), birth=kwargs.pop("birth", dt.date(1980, 5, 17)))
    return org_services.member_create(person=person, org=org, join_date=kwargs.pop("join_date", dt.date(2005, 7, 1)),
                                      full_date=kwargs.pop("full_date", dt.date(2006, 7, 1)), **kwargs)


def make_user(username: str, kind: str | None, org: Organisation | None, person=None) -> User:
    user = org_services.user_create(username=username, password=PASSWORD, person=person)
    if kind and org:
        org_services.role_grant(user=user, kind=kind, org=org)
    return user


def build_county() -> County:
    c = org_services.org_create
    county = c(name="海盐县", code="330424", kind=OrgKind.COUNTY, parent=None)
    wuyuan = c(name="武原镇", code="330424001", kind=OrgKind.TOWN, parent=county)
    hebin = c(name="河滨社区", code="330424001001", kind=OrgKind.COMMUNITY, parent=wuyuan)
    hebin_branch = c(name="河滨社区党支部", code="330424001001D01", kind=OrgKind.BRANCH, parent=hebin)
    qinshan = c(name="秦山镇", code="330424002", kind=OrgKind.TOWN, parent=county)
    qinshan_village = c(name="杨柳村", code="330424002001", kind=OrgKind.VILLAGE, parent=qinshan)
    qinshan_branch = c(name="杨柳村党支部", code="330424002001D01", kind=OrgKind.BRANCH, parent=qinshan_village)
    health = c(name="县卫生局", code="330424B01", kind=OrgKind.DEPARTMENT, parent=county)
    world = County(county, wuyuan, hebin, hebin_branch, qinshan, qinshan_village, qinshan_branch, health)

    world.members["hebin_a"] = make_member("张建国", hebin_branch)
    world.members["hebin_b"] = make_member("李秀英", hebin_branch, gender="F", birth=dt.date(1950, 3, 2),
                                           join_date=dt.date(1975, 6, 1), full_date=dt.date(1976, 6, 1),
                                           status=Member.Status.RETIRED, on_the_job=False)
    world.members["qinshan_a"] = make_member("王海", qinshan_branch)

    world.users["county_admin"] = make_user("county_admin", Role.Kind.COUNTY_ADMIN, county)
    world.users["wuyuan_admin"] = make_user("wuyuan_admin", Role.Kind.ORG_ADMIN, wuyuan)
    world.users["hebin_secretary"] = make_user("hebin_secretary", Role.Kind.SECRETARY, hebin)
    world.users["qinshan_secretary"] = make_user("qinshan_secretary", Role.Kind.SECRETARY, qinshan_village)
    world.users["member"] = make_user("member_demo", Role.Kind.MEMBER, hebin_branch,
                                      person=world.members["hebin_a"].person)
    world.users["resident"] = make_user("resident_demo", Role.Kind.RESIDENT, hebin)
    world.users["inspector"] = make_user("inspector_demo", Role.Kind.INSPECTOR, county)
    return world


def race(n: int, work: Callable[[int], Any], *, timeout: float = 120) -> list[Any]:
    """Run work(0) … work(n-1) in n threads released together by a barrier (for PostgreSQL race tests).

    Returns each call's result in index order; a call that raised gives its exception instead, so the test decides
    which exceptions are expected. Each thread closes its own database connection."""
    from django.db import connection

    barrier = threading.Barrier(n)
    outcomes: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[i] = work(i)
        except BaseException as exc:  # handed back to the caller, which asserts on it
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    if any(t.is_alive() for t in threads):
        raise TimeoutError(f"race: a thread was still running after {timeout} s")
    return outcomes
