"""Configurable categories: defaults, a county list inherited down the tree, a community's own list, the pages, the
points rules keyed by category, the data migration for existing rows."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from xianfeng.core.models import AuditEvent
from xianfeng.demands.categories import categories_for, categories_under, category_list
from xianfeng.demands.models import DEFAULT_CATEGORIES, Demand, DemandCategory
from xianfeng.demands.services import (
    DemandConflict,
    _clean_names,
    category_list_inherit,
    category_list_set,
    demand_claim,
    demand_create,
    service_confirm,
    service_record,
)
from xianfeng.points.services import balance_of, points_rule_set


def test_without_any_list_the_nine_defaults_apply(world):
    assert categories_for(world.hebin) == list(DEFAULT_CATEGORIES)
    assert category_list(world.hebin).owner_id is None


def test_a_county_list_is_inherited_and_a_community_list_overrides_it(world):
    category_list_set(org=world.county, names=["助老", "维修", "环境整治"], actor=world.users["county_admin"])
    assert categories_for(world.hebin) == ["助老", "维修", "环境整治"]
    assert categories_for(world.qinshan_village) == ["助老", "维修", "环境整治"]
    category_list_set(org=world.hebin, names="助老\n电动车充电\n", actor=world.hebin_secretary)
    assert categories_for(world.hebin) == ["助老", "电动车充电"]
    assert categories_for(world.hebin_branch) == ["助老", "电动车充电"]  # a branch follows its community
    assert categories_for(world.qinshan_village) == ["助老", "维修", "环境整治"]
    assert categories_under([world.wuyuan.path]) == ["助老", "维修", "环境整治", "电动车充电"]
    assert AuditEvent.objects.filter(model="demands.DemandCategory", object_id=str(world.hebin.pk)).exists()

    category_list_inherit(org=world.hebin, actor=world.hebin_secretary)
    assert categories_for(world.hebin) == ["助老", "维修", "环境整治"]
    with pytest.raises(DemandConflict):
        category_list_inherit(org=world.hebin, actor=None)


def test_demands_take_only_offered_categories_and_old_ones_stay_on_their_demands(world):
    category_list_set(org=world.hebin, names=["助老", "电动车充电"], actor=None)
    demand = demand_create(org=world.hebin, category="电动车充电", description="楼下充电桩坏了", actor=None)
    with pytest.raises(ValidationError) as exc:
        demand_create(org=world.hebin, category="维修", description="x", actor=None)
    assert "category" in exc.value.message_dict
    category_list_set(org=world.hebin, names=["助老"], actor=None)  # switched off, not deleted
    assert DemandCategory.objects.get(org=world.hebin, name="电动车充电").is_active is False
    demand.refresh_from_db()
    assert demand.category == "电动车充电"
    assert category_list(world.hebin).inactive == ("电动车充电",)
    category_list_set(org=world.hebin, names=["电动车充电", "助老"], actor=None)  # back on, in the new order
    assert categories_for(world.hebin) == ["电动车充电", "助老"]


@pytest.mark.parametrize("names,message", [
    ([], "至少"), (["  ", ""], "至少"), (["助老", "助老"], "重复"), (["一" * 21], "20"), ([f"类{i}" for i in range(31)], "30"),
])
def test_bad_lists_are_refused_and_change_nothing(world, names, message):
    category_list_set(org=world.hebin, names=["助老"], actor=None)
    with pytest.raises(ValidationError) as exc:
        category_list_set(org=world.hebin, names=names, actor=None)
    assert message in " ".join(exc.value.message_dict["names"])
    assert categories_for(world.hebin) == ["助老"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=25), max_size=35))
def test_name_cleaning_either_refuses_or_gives_unique_short_names(names):
    try:
        cleaned = _clean_names(names)
    except ValidationError:
        return
    assert cleaned and len(cleaned) <= 30 and len(set(cleaned)) == len(cleaned)
    assert all(0 < len(n) <= 20 and n == n.strip() for n in cleaned)


def test_points_rules_by_category_keep_working_with_a_new_category(world):
    category_list_set(org=world.hebin, names=["助老", "电动车充电"], actor=None)
    points_rule_set(org=world.hebin, base_by_category={"电动车充电": 7}, default_base=1, per_hour=2, daily_cap=0,
                    satisfied_bonus=0)
    member = world.members["hebin_a"]
    demand = demand_create(org=world.hebin, category="电动车充电", description="充电桩", actor=None)
    demand_claim(demand=demand, member=member, actor=None)
    record = service_record(member=member, demand=demand, served_on=timezone.localdate(), minutes=60, notes="修好", actor=None)
    service_confirm(record=record, rating="fair", actor=world.hebin_secretary)
    assert balance_of(member) == 7 + 2


def test_categories_page_sets_and_drops_a_list(world, client_for):
    staff = client_for("hebin_secretary")
    r = staff.get(f"/demands/categories/?org={world.hebin.pk}")
    assert r.status_code == 200 and "助老" in r.content.decode() and "category-source" in r.content.decode()
    r = staff.post("/demands/categories/", {"org": world.hebin.pk, "action": "set", "names": "助老\n助老"})
    assert r.status_code == 400 and "重复" in r.content.decode()
    r = staff.post("/demands/categories/", {"org": world.hebin.pk, "action": "set", "names": "助老\n垃圾分类"})
    assert r.status_code == 302
    assert categories_for(world.hebin) == ["助老", "垃圾分类"]
    form = client_for("resident").get("/demands/new/").content.decode()
    assert "垃圾分类" in form and "维修" not in form  # the resident's form offers the community's list
    r = staff.post("/demands/categories/", {"org": world.hebin.pk, "action": "inherit"})
    assert r.status_code == 302 and categories_for(world.hebin) == list(DEFAULT_CATEGORIES)
    r = staff.post("/demands/categories/", {"org": world.hebin.pk, "action": "inherit"})
    assert r.status_code == 400  # nothing of its own to drop


def test_categories_page_outsiders_and_members_get_404(world, client_for):
    assert client_for("qinshan_secretary").get(f"/demands/categories/?org={world.hebin.pk}").status_code == 404
    assert client_for("qinshan_secretary").post(
        "/demands/categories/", {"org": world.hebin.pk, "action": "set", "names": "x"}).status_code == 404
    assert client_for("member").get("/demands/categories/").status_code == 404
    assert client_for("resident").get("/demands/categories/").status_code == 404
    assert not DemandCategory.objects.exists()


def test_rules_page_has_a_field_per_category_and_keeps_others(world, client_for):
    category_list_set(org=world.hebin, names=["助老", "电动车充电"], actor=None)
    points_rule_set(org=world.hebin, base_by_category={"旧类别": 9})
    staff = client_for("hebin_secretary")
    body = staff.get(f"/points/rules/?org={world.hebin.pk}").content.decode()
    assert "电动车充电" in body and "志愿服务" in body
    r = staff.post(f"/points/rules/?org={world.hebin.pk}", {
        "base_0": "5", "base_1": "", "base_2": "3", "default_base": "1", "per_hour": "2", "daily_cap": "20",
        "yearly_cap": "800", "satisfied_bonus": "2", "year_end": "carry"})
    assert r.status_code == 302
    from xianfeng.points.models import PointsRule
    assert PointsRule.objects.get(org=world.hebin).base_by_category == {"旧类别": 9, "助老": 5, "志愿服务": 3}
    r = staff.post(f"/points/rules/?org={world.hebin.pk}", {"base_0": "-1", "default_base": "1", "per_hour": "2",
                                                           "daily_cap": "20", "yearly_cap": "0",
                                                           "satisfied_bonus": "2", "year_end": "carry"})
    assert r.status_code == 400


def test_the_data_migration_gives_each_root_the_defaults_and_every_category_in_use(world):
    Demand.objects.create(org=world.hebin, category="老旧小区改造", description="x", created_at=timezone.now())
    migration = importlib.import_module("xianfeng.demands.migrations.0002_categories_and_board_index")
    migration.seed_category_lists(django_apps, None)
    names = list(DemandCategory.objects.filter(org=world.county).values_list("name", flat=True))
    assert names == list(DEFAULT_CATEGORIES) + ["老旧小区改造"]
    assert "老旧小区改造" in categories_for(world.hebin)
    migration.seed_category_lists(django_apps, None)  # twice: nothing new
    assert DemandCategory.objects.count() == len(names)


def test_categories_api_answers_for_own_community_and_scope_only(world, client_for):
    category_list_set(org=world.hebin, names=["助老", "电动车充电"], actor=None)
    r = client_for("resident").get("/api/v1/demand-categories/")
    assert r.status_code == 200 and r.json() == {"org": world.hebin.pk, "categories": ["助老", "电动车充电"],
                                                 "list_of": world.hebin.pk}
    r = client_for("wuyuan_admin").get(f"/api/v1/demand-categories/?org={world.wuyuan.pk}")
    assert r.json()["categories"] == list(DEFAULT_CATEGORIES) and r.json()["list_of"] is None
    assert client_for("qinshan_secretary").get(f"/api/v1/demand-categories/?org={world.hebin.pk}"
                                               ).status_code == 404
    assert client_for("member").get(f"/api/v1/demand-categories/?org={world.qinshan_village.pk}"
                                    ).status_code == 404
    assert client_for("inspector").get("/api/v1/demand-categories/?org=999999").status_code == 404
