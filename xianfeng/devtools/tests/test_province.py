"""The province builder (`xianfeng demo --scale province`) at a tiny fraction: the tree's paths, ID numbers that
agree with birth date and gender, the counts it reports, and the rules of the rows it writes."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from xianfeng.core.ids import add_years, parse_id_number
from xianfeng.core.scoping import SEGMENT, encode_segment
from xianfeng.devtools.province import MEMBERS, ProvinceBuilder, build_province
from xianfeng.events.models import Attendance
from xianfeng.grids.models import Case, CaseEvent, Grid
from xianfeng.orgs.models import Member, Membership, Organisation, Person, User
from xianfeng.pledges.models import Pledge, PledgeItem

FRACTION = 0.0005  # one county, about 2,000 members


@pytest.fixture
def province(db):
    return build_province(fraction=FRACTION, log=lambda s: None)


def test_counts_match_what_the_builder_reports(province):
    counts = province.counts
    assert counts["members"] == round(MEMBERS * FRACTION) == Member.objects.count() == Person.objects.count()
    assert counts["organisations"] == Organisation.objects.count()
    assert counts["memberships"] == Membership.objects.count() == counts["members"]
    assert counts["grids"] == Grid.objects.count() >= 1
    assert counts["pledges"] == Pledge.objects.count() == counts["members"]
    assert counts["pledge_items"] == PledgeItem.objects.count()
    assert counts["attendances"] == Attendance.objects.count() > 0
    assert counts["cases"] == Case.objects.count() > 0
    assert counts["case_events"] == CaseEvent.objects.count()
    assert [name for name, _s, _w in province.stages][:2] in (["organisations", "members"],
                                                               ["drop keys and indexes", "organisations"])


def test_the_tree_is_a_valid_materialized_path(province):
    orgs = {o.pk: o for o in Organisation.objects.all()}
    children = Counter(o.parent_id for o in orgs.values() if o.parent_id)
    roots = [o for o in orgs.values() if o.parent_id is None]
    assert [r.name for r in roots] == ["浙江省"]
    assert len({o.path for o in orgs.values()}) == len(orgs)
    for o in orgs.values():
        assert len(o.path) == SEGMENT * o.depth
        assert o.next_child == children[o.pk]
        if o.parent_id:
            parent = orgs[o.parent_id]
            assert o.path[:-SEGMENT] == parent.path
            assert o.depth == parent.depth + 1
            assert o.full_name == f"{parent.full_name}/{o.name}"
    # siblings take the first segments in order
    for parent_id, n in children.items():
        segments = sorted(o.path[-SEGMENT:] for o in orgs.values() if o.parent_id == parent_id)
        assert segments == [encode_segment(i) for i in range(n)]
    # the subtree query the app uses finds a county's members
    county = Organisation.objects.get(depth=3)
    assert Member.objects.filter(org__in=Organisation.objects.descendants_of(county)).count() == Member.objects.count()


def test_id_numbers_are_valid_and_agree_with_birth_date_and_gender(province):
    people = list(Person.objects.values_list("id_number", "birth_date", "gender"))
    assert len({number for number, _b, _g in people}) == len(people)
    for number, birth, gender in people:
        info = parse_id_number(number)  # GB 11643 check character, real date
        assert info.birth_date == birth
        assert info.gender == gender


def test_member_dates_and_memberships_follow_the_rules(province):
    for member in Member.objects.select_related("person"):
        assert member.join_date >= add_years(member.person.birth_date, 18)
        assert member.join_date <= dt.date.today()
        if member.category == Member.Category.PROBATIONARY:
            assert member.full_date is None
        else:
            assert member.full_date >= member.join_date
    open_rows = Membership.objects.filter(end__isnull=True, kind="primary")
    assert open_rows.count() == Member.objects.count()
    assert not open_rows.exclude(org_id__in=Member.objects.values("org_id")).exists()
    mismatched = [m for m in open_rows.select_related("member") if m.org_id != m.member.org_id]
    assert mismatched == []


def test_activity_rows_follow_the_rules(province):
    assert not Pledge.objects.filter(fulfilled_on__isnull=False).exclude(status="fulfilled").exists()
    for pledge in Pledge.objects.select_related("member")[:500]:
        assert pledge.org_id == pledge.member.org_id
    # a lesson's attendees are members of the lesson's own branch, once each, checking in before the start
    for a in Attendance.objects.select_related("activity", "member")[:2000]:
        assert a.member.org_id == a.activity.org_id
        assert a.person_id == a.member.person_id
        assert a.activity.starts_at - dt.timedelta(minutes=20) <= a.check_in_at <= a.activity.starts_at
    closed = Case.objects.filter(status="closed")
    assert closed.exists()
    assert not closed.filter(outcome="").exists()
    assert not closed.filter(closed_on_time__isnull=True).exists()
    for case in Case.objects.all()[:500]:
        assert case.grid.org_id == case.org_id
        kinds = list(case.events.order_by("at", "id").values_list("kind", flat=True))
        assert kinds[:2] == ["open", "dispatch"]
        assert (case.status == "closed") == ("close" in kinds)
    for village_id in Grid.objects.values_list("org_id", flat=True).distinct():
        grids = list(Grid.objects.filter(org_id=village_id).order_by("seq"))
        village = Organisation.objects.get(pk=village_id)
        assert [g.is_default for g in grids] == [True] + [False] * (len(grids) - 1)
        assert all(g.code == f"{village.code}{g.seq:03d}" for g in grids)


def test_logins_can_sign_in(province, client):
    assert client.login(username="province_admin", password="demo12345")
    assert User.objects.get(username="province_member").person.member is not None


def test_the_builder_needs_an_empty_database(province):
    with pytest.raises(Exception, match="empty database"):
        ProvinceBuilder(fraction=FRACTION, log=lambda s: None).build()


@pytest.mark.django_db
def test_demo_command_builds_the_province_and_keeps_float_scales():
    call_command("demo", "--scale", "province", "--fraction", str(FRACTION), verbosity=0)
    assert Member.objects.count() == round(MEMBERS * FRACTION)
    with pytest.raises(CommandError, match="empty database"):
        call_command("demo", "--scale", "province", "--fraction", str(FRACTION))
    with pytest.raises(CommandError, match="already has organisations"):
        call_command("demo", "--scale", "0.01")  # a float scale still parses (and refuses a full database)


@pytest.mark.django_db
@pytest.mark.parametrize("args, message", [(["--scale", "county"], "number or 'province'"),
                                           (["--scale", "province", "--fraction", "0"], "fraction"),
                                           (["--scale", "province", "--fraction", "1.5"], "fraction")])
def test_demo_command_refuses_bad_options(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("demo", *args)
    assert not Organisation.objects.exists()


@pytest.mark.django_db
def test_a_required_column_the_builder_does_not_fill_is_a_clear_error():
    from django.utils import timezone

    from xianfeng.devtools.province import BulkError, Table

    with pytest.raises(BulkError, match="orgs.Member.join_date is required"):
        Table(Member, ["id", "person", "org"], now=timezone.now())
    with pytest.raises(BulkError, match="primary key"):
        Table(Member, ["person", "org", "join_date"], now=timezone.now())
    table = Table(Member, ["id", "person", "org", "join_date"], now=timezone.now())
    assert table.columns[:4] == ["id", "person_id", "org_id", "join_date"]
    assert set(table.columns) == {f.column for f in Member._meta.concrete_fields}
