import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from xianfeng.core.ids import make_id_number
from xianfeng.core.models import AppendOnlyError, AuditEvent
from xianfeng.core.scoping import scope_paths
from xianfeng.core.testing import make_member, make_person
from xianfeng.orgs import services
from xianfeng.orgs.models import Member, Membership, Organisation, OrgKind, Role, User

pytestmark = pytest.mark.django_db


def test_children_get_consecutive_paths_under_their_parent(world):
    a = services.org_create(name="新村一", code="330424002099", kind=OrgKind.VILLAGE, parent=world.qinshan)
    b = services.org_create(name="新村二", code="330424002098", kind=OrgKind.VILLAGE, parent=world.qinshan)
    assert a.path.startswith(world.qinshan.path) and b.path.startswith(world.qinshan.path)
    assert len(a.path) == len(world.qinshan.path) + 4
    assert b.path > a.path
    assert a.full_name == "海盐县/秦山镇/新村一"
    assert a.initials == "xcy"


def test_org_code_must_be_unique(world):
    with pytest.raises(ValidationError) as err:
        services.org_create(name="重复", code="330424001", kind=OrgKind.VILLAGE, parent=world.qinshan)
    assert "code" in err.value.message_dict


def test_moving_a_subtree_carries_its_descendants_and_is_audited(world):
    moved = services.org_move(org=world.hebin, new_parent=world.qinshan, actor=world.county_admin)
    assert moved.full_name == "海盐县/秦山镇/河滨社区"
    branch = Organisation.objects.get(pk=world.hebin_branch.pk)
    assert branch.path.startswith(moved.path) and branch.depth == moved.depth + 1
    assert branch.full_name == "海盐县/秦山镇/河滨社区/河滨社区党支部"
    assert Member.objects.in_subtree(world.qinshan).filter(pk=world.members["hebin_a"].pk).exists()
    assert not Member.objects.in_subtree(world.wuyuan).exists()
    event = AuditEvent.objects.filter(action="move").get()
    assert event.actor == world.county_admin and event.before["full_name"] == "海盐县/武原镇/河滨社区"


def test_a_cycle_is_impossible(world):
    with pytest.raises(services.TreeError):
        services.org_move(org=world.wuyuan, new_parent=world.hebin_branch)
    with pytest.raises(services.TreeError):
        services.org_move(org=world.wuyuan, new_parent=world.wuyuan)
    assert Organisation.objects.get(pk=world.wuyuan.pk).parent_id == world.county.pk


def test_renaming_updates_full_names_below(world):
    services.org_update(org=world.hebin, name="河滨新社区", actor=world.wuyuan_admin)
    assert Organisation.objects.get(pk=world.hebin_branch.pk).full_name == "海盐县/武原镇/河滨新社区/河滨社区党支部"
    with pytest.raises(ValidationError):
        services.org_update(org=world.hebin, path="0000")


def test_person_upsert_validates_the_id_number_and_derives_birth_and_gender(world):
    number = make_id_number("330424", dt.date(1990, 2, 3), 5, "F")
    person = services.person_upsert(name=" 陈 静 ", id_number=number.lower(), phone="１３９０５７３１２３４")
    assert person.gender == "F" and person.birth_date == dt.date(1990, 2, 3)
    assert person.phone == "13905731234"
    assert person.name == "陈 静"
    again = services.person_upsert(name="陈静", id_number=number, phone="")
    assert again.pk == person.pk and again.name == "陈静"
    bad = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(ValidationError) as err:
        services.person_upsert(name="错", id_number=bad)
    assert "id_number" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.person_upsert(name="错", id_number=number, gender="男")
    assert "gender" in err.value.message_dict


def test_member_dates_are_checked(world):
    person = make_person("少年", birth=dt.date(2000, 6, 1))
    with pytest.raises(ValidationError) as err:
        services.member_create(person=person, org=world.hebin_branch, join_date=dt.date(2017, 6, 1))
    assert "join_date" in err.value.message_dict
    with pytest.raises(ValidationError):
        services.member_create(person=person, org=world.hebin_branch, join_date=dt.date(2020, 6, 1),
                               full_date=dt.date(2019, 6, 1))
    with pytest.raises(ValidationError):
        services.member_create(person=person, org=world.hebin_branch, join_date=dt.date(2020, 6, 1),
                               full_date=dt.date(2021, 6, 1), category=Member.Category.PROBATIONARY)
    assert not Member.objects.filter(person=person).exists()


def test_transfer_closes_one_membership_and_opens_another(world):
    member = world.members["hebin_a"]
    services.member_transfer(member=member, to_org=world.qinshan_branch, on=dt.date(2024, 3, 1), actor=world.county_admin)
    rows = list(Membership.objects.filter(member=member, kind="primary").order_by("start"))
    assert [(r.org_id, r.end) for r in rows] == [(world.hebin_branch.pk, dt.date(2024, 3, 1)),
                                                 (world.qinshan_branch.pk, None)]
    assert Member.objects.get(pk=member.pk).org == world.qinshan_branch
    with pytest.raises(ValidationError):
        services.member_transfer(member=member, to_org=world.qinshan_branch, on=dt.date(2024, 4, 1))


def test_one_link_two_managers_lets_the_second_organisation_see_the_member(world):
    member = world.members["qinshan_a"]
    assert not Member.objects.restrict(world.hebin_secretary).filter(pk=member.pk).exists()
    services.member_set_managing_org(member=member, org=world.hebin_branch, on=dt.date(2024, 5, 1))
    assert Member.objects.restrict(world.hebin_secretary).filter(pk=member.pk).exists()
    assert Member.objects.restrict(world.qinshan_secretary).filter(pk=member.pk).exists()
    with pytest.raises(ValidationError):
        services.member_set_managing_org(member=member, org=member.org, on=dt.date(2024, 5, 2))
    services.member_set_managing_org(member=member, org=None, on=dt.date(2024, 6, 1))
    assert not Member.objects.restrict(world.hebin_secretary).filter(pk=member.pk).exists()
    assert Membership.objects.filter(member=member, kind="managing", end=dt.date(2024, 6, 1)).count() == 1


def test_the_database_refuses_what_code_forgot(world):
    member = world.members["hebin_a"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(full_date=dt.date(1990, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(member=member, org=world.qinshan_branch, start=dt.date(2020, 1, 1))


def test_role_grant_is_audited_and_widens_scope_at_once(world):
    user = world.qinshan_secretary
    assert world.hebin.path not in (scope_paths(user, "view") or [])
    services.role_grant(user=user, kind=Role.Kind.SECRETARY, org=world.hebin, actor=world.county_admin)
    assert Member.objects.restrict(user).filter(pk=world.members["hebin_a"].pk).exists()
    role = Role.objects.get(user=user, org=world.hebin)
    services.role_revoke(role=role, actor=world.county_admin)
    user = User.objects.get(pk=user.pk)  # the next request loads the user afresh
    assert not Member.objects.restrict(user).filter(pk=world.members["hebin_a"].pk).exists()
    assert AuditEvent.objects.filter(model="orgs.Role").count() >= 2


def test_audit_rows_are_append_only(world):
    event = AuditEvent.objects.first()
    event.summary = "改写"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_guidance_visits_are_checked(world):
    cp = services.contact_point_create(leader=make_person("领导"), org=world.hebin, kind="village",
                                       start=dt.date(2024, 1, 1))
    with pytest.raises(ValidationError):
        services.guidance_visit_record(contact_point=cp, date=dt.date(2023, 12, 1), notes="早于联系点")
    with pytest.raises(ValidationError):
        services.guidance_visit_record(contact_point=cp, date=dt.date.today() + dt.timedelta(days=2), notes="未来")
    visit = services.guidance_visit_record(contact_point=cp, date=dt.date(2024, 2, 1), notes="听取汇报")
    assert visit.pk and cp.visits.count() == 1


def test_make_member_helper_builds_valid_members(world):
    m = make_member("测试", world.qinshan_branch)
    assert m.memberships.get().org == world.qinshan_branch
