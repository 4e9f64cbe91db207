"""The cockpit's figures equal direct counts of the module tables, and the modules' own figures functions."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from xianfeng.cockpit import metrics
from xianfeng.cockpit.figures import child_columns, cockpit_for, subtree_totals
from xianfeng.cockpit.models import DirtyOrg, Rollup
from xianfeng.core.scoping import subtree_q
from xianfeng.grids.models import Case
from xianfeng.grids.rates import grids_visit_coverage, on_time_counts
from xianfeng.orgs.models import Organisation
from xianfeng.pledges.stats import figures_for

from .live import direct, rolled


def test_figures_equal_direct_counts_after_a_rebuild(world, records):
    metrics.rebuild()
    for org in (world.county, world.wuyuan, world.hebin, world.hebin_branch, world.qinshan, world.health_bureau):
        expected = direct(org)
        got = rolled(org)
        assert {k: got[k] for k in expected} == expected, org.name
    county = direct(world.county)
    assert county["members"] == 3 and county["pledges"] == 3 and county["pledges_fulfilled"] == 1
    assert county["cases"] == 3 and county["lesson_attendances"] == 2 and county["households_visited"] == 1


def test_figures_equal_the_modules_own_figures(world, records):
    metrics.rebuild()
    orgs = [world.county, world.wuyuan, world.qinshan]
    for fig in figures_for(orgs):
        t = subtree_totals(fig.org)
        assert (t["pledges"], t["pledges_published"], t["pledges_fulfilled"], t["pledges_formulaic"], t["members"]) \
            == (fig.pledges, fig.published, fig.fulfilled, fig.formulaic, fig.members)
    coverage = grids_visit_coverage(orgs)
    for org in orgs:
        t = subtree_totals(org)
        assert (t["households_visited"], t["households"]) == coverage.get(org.pk, (0, 0))
    midnight = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
    for org in orgs:  # the grids module's 按期办结率 counted as of the start of today
        due = on_time_counts(Case.objects.filter(subtree_q("org__path", org.path)),
                             now=midnight - dt.timedelta(microseconds=1))
        t = subtree_totals(org)
        assert (t["cases_on_time"], t.on_time_due) == (due.filter(status="closed", closed_on_time=True).count(),
                                                        due.count())


def test_writes_through_services_mark_their_organisations_and_the_job_catches_up(world, records):
    from .conftest import close_case, member_pledge, member_user, pledge_round

    metrics.rebuild()
    assert not DirtyOrg.objects.exists()
    member_pledge(pledge_round(world), world.members["qinshan_a"], member_user(world, "qinshan_a"),
                  world.qinshan_secretary, to="fulfilled")
    close_case(records["cases"][2], world.qinshan_secretary, world.county_admin)
    marked = set(DirtyOrg.objects.values_list("org_id", flat=True))
    assert {world.qinshan_branch.pk, world.qinshan_village.pk} <= marked
    assert rolled(world.qinshan)["pledges_fulfilled"] == direct(world.qinshan)["pledges_fulfilled"] - 1  # stale
    assert metrics.refresh() == len(marked)
    assert not DirtyOrg.objects.exists()
    for org in (world.county, world.qinshan, world.qinshan_village):
        expected = direct(org)
        assert {k: rolled(org)[k] for k in expected} == expected


def test_a_rebuild_leaves_no_row_with_a_zero_and_is_repeatable(world, records):
    first = metrics.rebuild()
    rows = sorted(Rollup.objects.values_list("org_id", "day", "metric", "value"))
    assert first == len(rows) and not Rollup.objects.filter(value=0).exists()
    metrics.rebuild()
    assert sorted(Rollup.objects.values_list("org_id", "day", "metric", "value")) == rows


def test_the_page_figures_carry_their_denominators(world, records):
    metrics.rebuild()
    c = cockpit_for(world.county)
    fulfilled = c.figure("pledges.fulfilled")
    assert (fulfilled.value, fulfilled.denominator) == (1, 2)
    assert c.figure("orgs.organisations").value == Organisation.objects.count()
    assert c.figure("orgs.members").value == 3
    assert [row.org for row in c.children] == list(Organisation.objects.filter(parent=world.county).order_by("path"))
    wuyuan = next(row for row in c.children if row.org == world.wuyuan)
    # members; pledges fulfilled of published (the columns cockpit.js charts by position); members who pledged
    assert wuyuan.cells[0] == (2, None) and wuyuan.cells[1] == (1, 2) and wuyuan.cells[7] == (2, 2)
    assert [key for key, _label, _den in child_columns()][:6:5] == ["orgs.members", "grids.on_time"]
