"""Suggestions, figures, the registered rates, the demo step at small scale."""

import datetime as dt

from django.utils import timezone

from xianfeng.core.rates import org_rates
from xianfeng.demands.figures import figures_for
from xianfeng.demands.models import Demand
from xianfeng.demands.services import demand_claim, demand_create, pairing_create, service_confirm, service_record
from xianfeng.demands.suggest import suggest


def _served(world, member, category="助老", household=""):
    d = demand_create(org=world.hebin, category=category, description="x", household=household, actor=None)
    demand_claim(demand=d, member=member, actor=None)
    r = service_record(member=member, demand=d, served_on=timezone.localdate(), minutes=60, notes="x", actor=None)
    service_confirm(record=r, rating="satisfied", actor=world.hebin_secretary)
    return d


def test_suggestions_rank_the_paired_member_first_and_say_why(world):
    a, b = world.members["hebin_a"], world.members["hebin_b"]
    pairing_create(org=world.hebin, member=b, household="9-101", start=dt.date(2026, 1, 1), actor=None)
    demand = demand_create(org=world.hebin, category="助老", description="买药", household="9-101", actor=None)
    ranked = suggest(demand)
    assert [s.member for s in ranked] == [b, a]
    assert "与该户结对" in ranked[0].reasons
    assert world.members["qinshan_a"] not in [s.member for s in ranked]


def test_load_and_recent_services_push_a_member_down(world):
    a, b = world.members["hebin_a"], world.members["hebin_b"]
    for _ in range(2):
        _served(world, a)
    demand_claim(demand=demand_create(org=world.hebin, category="维修", description="y", actor=None), member=a, actor=None)
    ranked = suggest(demand_create(org=world.hebin, category="维修", description="z", actor=None))
    assert ranked[0].member == b
    assert any("手上还有 1 项认领" in r for r in ranked[1].reasons)
    assert any("近30天已服务 2 次" in r for r in ranked[1].reasons)


def test_figures_and_rates_count_the_subtree(world):
    a = world.members["hebin_a"]
    _served(world, a)
    demand_claim(demand=demand_create(org=world.hebin, category="维修", description="y", actor=None), member=a, actor=None)
    demand_create(org=world.hebin, category="法律", description="z", actor=None)
    total, children = figures_for(world.wuyuan)
    assert (total.open, total.claimed, total.done, total.ever_claimed) == (1, 1, 1, 2)
    assert total.services == 1 and total.serving_members == 1 and total.points_issued == 2 + 2 + 2
    assert [c.org for c in children] == [world.hebin] and children[0].done == 1
    rates = org_rates()
    assert rates["demands.completed"].compute([world.county, world.hebin, world.qinshan]) == {
        world.county.pk: (1, 2), world.hebin.pk: (1, 2)}
    assert rates["demands.claimed"].compute([world.hebin])[world.hebin.pk] == (2, 3)


def test_demo_step_builds_hebin_history(db):
    from xianfeng.core.demo import DemoContext, steps
    from xianfeng.ledger.services import ledger_verify
    from xianfeng.orgs.models import Organisation
    from xianfeng.points.models import Award

    ctx = DemoContext(seed=3, scale=0.03, log=lambda s: None)
    for _order, name, fn in steps():  # the foundation and this step only: other modules' steps are theirs to test
        if name.startswith(("xianfeng.orgs.", "xianfeng.demands.")):
            fn(ctx)
    hebin = Organisation.objects.get(name="河滨社区")
    assert Demand.objects.filter(org=hebin).count() >= 20
    from xianfeng.demands.categories import category_list
    assert category_list(hebin).owner_id == Organisation.objects.get(parent__isnull=True).pk
    assert Award.objects.filter(org__path__startswith=hebin.path).exists()
    assert ctx.data["services"]["awards"] > 0
    assert ledger_verify().ok


def test_demo_places_demands_at_their_households_once_the_register_exists(world):
    from xianfeng.core.demo import DemoContext
    from xianfeng.grids.demo import place_demands
    from xianfeng.grids.services import grid_create, household_create

    grid = grid_create(org=world.hebin, name="一网格")
    household_create(grid=grid, number="8-808", address="河滨路8号", latitude=30.52, longitude=120.93)
    at_home = Demand.objects.create(org=world.hebin, category="助老", description="x", household="8-808",
                                    created_at=timezone.now())
    unknown = Demand.objects.create(org=world.hebin, category="助老", description="y", household="9-999",
                                    created_at=timezone.now())
    elsewhere = Demand.objects.create(org=world.qinshan_village, category="助老", description="z",
                                      household="8-808", created_at=timezone.now())
    place_demands(DemoContext(seed=1, log=lambda s: None))
    at_home.refresh_from_db()
    unknown.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (at_home.latitude, at_home.longitude) == (30.52, 120.93)
    assert unknown.latitude is None and elsewhere.latitude is None  # same number, another community: not placed
