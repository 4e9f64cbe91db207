import pytest

from xianfeng.core.scoping import encode_segment, minimal_paths, path_upper_bound
from xianfeng.orgs.models import Member, Organisation


def test_segments_sort_in_numeric_order():
    segs = [encode_segment(i) for i in range(0, 2000, 7)]
    assert segs == sorted(segs)


def test_upper_bound_covers_exactly_the_subtree():
    assert path_upper_bound("0001") == "0002"
    assert path_upper_bound("000Z") == "001"
    assert path_upper_bound("ZZZZ") is None
    assert minimal_paths(["0001", "00010002", "0002"]) == ["0001", "0002"]


@pytest.mark.django_db
def test_town_admin_sees_only_their_town(world):
    names = set(Organisation.objects.restrict(world.wuyuan_admin, "view").values_list("name", flat=True))
    assert names == {"武原镇", "河滨社区", "河滨社区党支部"}


@pytest.mark.django_db
def test_outsider_sees_no_wuyuan_member(world):
    visible = Member.objects.restrict(world.qinshan_secretary, "view")
    assert list(visible.values_list("person__name", flat=True)) == ["王海"]


@pytest.mark.django_db
def test_member_and_resident_roles_see_no_organisation_data(world):
    assert not Member.objects.restrict(world.member, "view").exists()
    assert not Member.objects.restrict(world.resident, "view").exists()


@pytest.mark.django_db
def test_county_admin_sees_everything(world):
    assert Member.objects.restrict(world.county_admin, "view").count() == Member.objects.count()
