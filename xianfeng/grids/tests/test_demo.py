"""The grids demo step at a small scale: consistent data the services and lookups agree with."""

import pytest

from xianfeng.core.demo import DemoContext
from xianfeng.grids import geo, services
from xianfeng.grids.demo import build_grids
from xianfeng.grids.models import Case, CaseEvent, Grid, GridTeam, Household, HouseholdMember, Status, TeamMember
from xianfeng.orgs.demo import build_foundation
from xianfeng.orgs.models import Organisation


@pytest.mark.django_db
def test_small_demo_is_consistent():
    ctx = DemoContext(seed=7, scale=0.04, log=lambda s: None)
    build_foundation(ctx)
    build_grids(ctx)
    summary = ctx.data["summary"]
    assert summary["grids"] == Grid.objects.count() >= 30
    assert GridTeam.objects.count() == summary["grid teams"] >= Grid.objects.count()
    assert summary["grid cadres"] == TeamMember.objects.values("person").distinct().count() == round(6951 * 0.04)
    assert HouseholdMember.objects.count() == summary["residents in grid households"] == round(37825 * 0.04)
    county = Organisation.objects.filter(depth=1).first()
    totals = services.grid_totals(county)  # what the figures page shows for the county
    assert (totals["grids"], totals["teams"], totals["cadres"], totals["residents"]) == (
        summary["grids"], summary["grid teams"], summary["grid cadres"], summary["residents in grid households"])
    for grid in Grid.objects.select_related("org"):
        assert grid.code == f"{grid.org.code}{grid.seq:03d}"
        geo.parse_boundary(grid.boundary)
    assert Grid.objects.filter(is_default=True).count() == Grid.objects.values("org").distinct().count()
    for household in Household.objects.order_by("id")[:50]:
        assert services.grid_locate(lat=household.latitude, lng=household.longitude) == (household.grid, False)
    closed = Case.objects.filter(status=Status.CLOSED)
    assert closed.exists() and not closed.filter(outcome="").exists()
    assert CaseEvent.objects.filter(kind="close").values("case").distinct().count() == closed.count()
    for case in Case.objects.order_by("id")[:40]:
        kinds = list(case.events.values_list("to_status", flat=True))
        assert kinds[-1] == case.status or case.status == Status.CLOSED
    assert Case.objects.filter(rating__gt="").exclude(status=Status.CLOSED).count() == 0
