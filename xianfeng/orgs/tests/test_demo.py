"""The demo county reproduces the report's figures and is the same every time for a seed."""

import hashlib

import pytest
from django.core.management import call_command

from xianfeng.core.demo import run_demo
from xianfeng.orgs.models import ContactPoint, GuidanceGroup, Member, Organisation, OrgKind, Person, Resident, Role, User

REPORT_TOWNS = {"武原镇", "秦山镇", "西塘桥镇", "沈荡镇", "通元镇", "于城镇", "百步镇", "澉浦镇"}


def fingerprint() -> str:
    rows = Member.objects.order_by("person__id_number").values_list(
        "person__name", "person__id_number", "org__code", "join_date", "status")
    orgs = Organisation.objects.order_by("path").values_list("code", "name", "path")
    return hashlib.sha256(repr((list(rows), list(orgs))).encode()).hexdigest()


@pytest.mark.django_db
def test_full_demo_county_has_the_reports_figures():
    run_demo(seed=2010, log=lambda s: None)
    towns = set(Organisation.objects.filter(kind=OrgKind.TOWN).values_list("name", flat=True))
    assert towns == REPORT_TOWNS
    assert 95 <= Organisation.objects.filter(kind__in=[OrgKind.VILLAGE, OrgKind.COMMUNITY]).count() <= 110
    assert Organisation.objects.filter(name__in=["河滨社区", "东海花苑社区", "秦万村"]).count() == 3
    assert Organisation.objects.filter(kind=OrgKind.DEPARTMENT).count() == 26
    assert Organisation.objects.filter(name__in=["县卫生局", "县委政法委"]).count() == 2
    assert Organisation.objects.party().count() >= 1000
    assert Member.objects.count() >= 20000
    hebin = Organisation.objects.get(name="河滨社区")
    assert Member.objects.in_subtree(hebin).count() >= 200
    assert Resident.objects.count() >= 1000
    by_kind = dict(ContactPoint.objects.values_list("kind").annotate(n=__import__("django").db.models.Count("id")))
    assert by_kind == {"department": 26, "town": 8, "village": 24, "enterprise": 25}
    assert GuidanceGroup.objects.count() == 8
    for group in GuidanceGroup.objects.all():  # each with a leader among its people, and units to guide
        assert group.leader_id and group.people.filter(pk=group.leader_id).exists() and group.people.count() == 5
        assert group.units.exists()
    assert Member.objects.filter(managing_org__isnull=False).count() >= 50  # 一联双管 pilot in 东海花苑
    for username in ["county_admin", "wuyuan_admin", "hebin_secretary", "qinshan_secretary", "member_demo",
                     "resident_demo", "inspector_demo"]:
        user = User.objects.get(username=username)
        assert user.check_password("demo12345")
        assert Role.objects.filter(user=user).exists()
    # every demo ID number is valid and unique (the roster import checked them; the database agrees)
    assert Person.objects.filter(id_number__isnull=False).values("id_number").distinct().count() == Person.objects.count()


@pytest.mark.django_db(transaction=True)
def test_same_seed_gives_the_same_county():
    run_demo(seed=7, scale=0.03, log=lambda s: None)
    first = fingerprint()
    call_command("flush", "--no-input", verbosity=0)
    run_demo(seed=7, scale=0.03, log=lambda s: None)
    assert fingerprint() == first
    call_command("flush", "--no-input", verbosity=0)
    run_demo(seed=8, scale=0.03, log=lambda s: None)
    assert fingerprint() != first


@pytest.mark.django_db
def test_demo_command_refuses_a_non_empty_database_and_if_absent_is_a_no_op(capsys):
    run_demo(seed=1, scale=0.02, log=lambda s: None)
    before = Organisation.objects.count()
    call_command("demo", "--if-absent")
    assert "already present" in capsys.readouterr().out
    assert Organisation.objects.count() == before
    with pytest.raises(Exception, match="empty database"):
        call_command("demo")
