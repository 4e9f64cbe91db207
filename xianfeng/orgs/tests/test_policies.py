"""The organisation policies (orgs/policies.py): each write service refuses an actor out of scope before it changes
anything, and each policy's filter (what lists show) agrees with its one-object answer (what pages and services
check)."""

from __future__ import annotations

import datetime as dt

import pytest

from xianfeng.core.models import AuditEvent
from xianfeng.core.policy import NotFound, policy_for, visible
from xianfeng.core.testing import make_person
from xianfeng.orgs import services
from xianfeng.orgs.models import (
    ContactPoint,
    GuidanceGroup,
    LinkRequest,
    Member,
    Organisation,
    OrgKind,
    Person,
    Resident,
    Role,
    User,
)

pytestmark = pytest.mark.django_db

PERSONAS = ("county_admin", "wuyuan_admin", "hebin_secretary", "qinshan_secretary", "member", "resident",
            "inspector")
ACTIONS = ("view", "change", "admin", "unmask", "export")


def _filter_agrees_with_allows(model, users, actions) -> None:
    policy = policy_for(model)
    rows = list(model._default_manager.order_by("pk"))
    assert rows
    for user in users:
        for action in actions:
            listed = set(visible(model, user, action).values_list("pk", flat=True))
            allowed = {obj.pk for obj in rows if policy.allows(user, action, obj)}
            assert listed == allowed, (model.__name__, user.username, action)


def test_each_policy_lists_exactly_what_it_allows_one_at_a_time(world):
    resident = make_person("居民甲", birth=dt.date(1982, 1, 1))
    services.resident_create(person=resident, org=world.qinshan_village)
    make_person("无组织者", birth=dt.date(1983, 1, 1))  # neither member nor resident: the county's
    services.member_set_managing_org(member=world.members["qinshan_a"], org=world.hebin, on=dt.date(2024, 1, 1))
    services.guidance_group_create(name="卫生系统指导组", system="卫生系统", org=world.county)
    services.contact_point_create(leader=make_person("县长"), org=world.hebin, kind="village",
                                  start=dt.date(2024, 1, 1))
    users = [world.users[p] for p in PERSONAS]
    for model in (Organisation, Member, Person, Resident, Role, GuidanceGroup, ContactPoint):
        _filter_agrees_with_allows(model, users, ACTIONS)


def test_unmask_follows_the_primary_organisation_but_view_both(world):
    member = world.members["qinshan_a"]
    services.member_set_managing_org(member=member, org=world.hebin, on=dt.date(2024, 1, 1))
    member.refresh_from_db()
    secretary = world.users["hebin_secretary"]
    policy = policy_for(Member)
    assert policy.allows(secretary, "view", member)
    assert not policy.allows(secretary, "unmask", member)
    assert policy.allows(world.users["qinshan_secretary"], "unmask", member)


def test_org_writes_need_admin_over_the_organisation(world):
    with pytest.raises(NotFound):
        services.org_update(org=world.qinshan, name="改名", actor=world.users["wuyuan_admin"])
    with pytest.raises(NotFound):  # a secretary may change data, not the tree
        services.org_create(name="新支部", code="330424001001D09", kind=OrgKind.BRANCH, parent=world.hebin,
                            actor=world.users["hebin_secretary"])
    with pytest.raises(NotFound):  # the new parent must be the actor's too
        services.org_move(org=world.hebin, new_parent=world.qinshan, actor=world.users["wuyuan_admin"])
    assert Organisation.objects.get(pk=world.qinshan.pk).name == "秦山镇"
    assert Organisation.objects.get(pk=world.hebin.pk).parent_id == world.wuyuan.pk
    org = services.org_create(name="新支部", code="330424001001D09", kind=OrgKind.BRANCH, parent=world.hebin,
                              actor=world.users["wuyuan_admin"])
    assert org.parent_id == world.hebin.pk


def test_member_writes_need_change_over_member_and_target(world):
    member = world.members["hebin_a"]
    with pytest.raises(NotFound):
        services.member_transfer(member=member, to_org=world.qinshan_branch, on=dt.date(2024, 3, 1),
                                 actor=world.users["hebin_secretary"])
    with pytest.raises(NotFound):
        services.member_transfer(member=world.members["qinshan_a"], to_org=world.hebin_branch,
                                 on=dt.date(2024, 3, 1), actor=world.users["hebin_secretary"])
    with pytest.raises(NotFound):
        services.member_create(person=make_person("新人", birth=dt.date(1990, 1, 1)), org=world.qinshan_branch,
                               join_date=dt.date(2015, 1, 1), actor=world.users["hebin_secretary"])
    assert Member.objects.get(pk=member.pk).org_id == world.hebin_branch.pk


def test_roles_are_granted_and_revoked_only_by_an_administrator_over_the_organisation(world):
    user = User.objects.create_user("new_secretary")
    before = AuditEvent.objects.count()
    with pytest.raises(NotFound):  # a secretary holds change, not admin
        services.role_grant(user=user, kind=Role.Kind.SECRETARY, org=world.hebin, actor=world.users["hebin_secretary"])
    with pytest.raises(NotFound):
        services.role_grant(user=user, kind=Role.Kind.SECRETARY, org=world.qinshan_village,
                            actor=world.users["wuyuan_admin"])
    assert not Role.objects.filter(user=user).exists() and AuditEvent.objects.count() == before
    role = services.role_grant(user=user, kind=Role.Kind.SECRETARY, org=world.hebin, actor=world.users["wuyuan_admin"])
    with pytest.raises(NotFound):
        services.role_revoke(role=role, actor=world.users["qinshan_secretary"])
    services.role_revoke(role=role, actor=world.users["county_admin"])
    assert not Role.objects.filter(user=user).exists()


def test_contact_points_and_visits_need_change_over_the_unit(world):
    with pytest.raises(NotFound):
        services.contact_point_create(leader=make_person("镇长"), org=world.qinshan_village, kind="village",
                                      start=dt.date(2024, 1, 1), actor=world.users["hebin_secretary"])
    cp = services.contact_point_create(leader=make_person("镇长"), org=world.qinshan_village, kind="village",
                                       start=dt.date(2024, 1, 1))
    with pytest.raises(NotFound):
        services.guidance_visit_record(contact_point=cp, date=dt.date(2024, 2, 1), notes="走访",
                                       actor=world.users["hebin_secretary"])
    assert not cp.visits.exists()


def test_link_requests_are_decided_and_withdrawn_only_by_those_the_policy_names(world):
    person = make_person("钱小红", gender="F", birth=dt.date(1985, 2, 3))
    services.resident_create(person=person, org=world.qinshan_village)
    secretary = world.users["hebin_secretary"]
    link = services.link_request_create(actor=secretary, id_number=person.id_number, org=world.hebin_branch,
                                        join_date=dt.date(2010, 1, 1))
    policy = policy_for(LinkRequest)
    assert policy.allows(secretary, "view", link) and policy.allows(secretary, "cancel", link)
    assert not policy.allows(secretary, "decide", link)
    with pytest.raises(NotFound):
        services.link_request_decide(actor=secretary, link=link, accept=True)
    with pytest.raises(NotFound):
        services.link_request_cancel(actor=world.users["qinshan_secretary"], link=link)
    assert LinkRequest.objects.get(pk=link.pk).status == LinkRequest.Status.PENDING
    services.link_request_decide(actor=world.users["qinshan_secretary"], link=link, accept=True, note="同意")
    link.refresh_from_db()
    assert link.status == LinkRequest.Status.ACCEPTED and link.member.org_id == world.hebin_branch.pk
    _filter_agrees_with_allows(LinkRequest, [world.users[p] for p in PERSONAS], ("view", "decide", "cancel"))
