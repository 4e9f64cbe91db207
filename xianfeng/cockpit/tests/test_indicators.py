"""One definition per indicator: every registered indicator's figure equals the count of its linked list, and the
cockpit page, its API, the rates (funnels, report) and the report's text give the same value for the same
organisation."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.utils import timezone, translation

from xianfeng.cockpit import metrics
from xianfeng.cockpit.figures import cockpit_for
from xianfeng.core.indicators import indicators
from xianfeng.core.rates import org_rates
from xianfeng.inspections.models import Inspection
from xianfeng.inspections.report import draft_achievements
from xianfeng.pledges import services as pledges

# Indicators with no list of their numerator's records yet, each with the reason. A new indicator without a list
# fails test_every_indicator_has_a_list_or_a_stated_reason until it gets one (or a reason here).
WITHOUT_LIST = {
    "orgs.organisations": "the organisation tree is the list",
    "demands.services_confirmed": "no service-record list yet",
    "points.issued": "a sum of points, not a count of records",
    "points.redeemed": "a sum of points, not a count of records",
    "events.lesson_attendances": "no attendance list yet: links to the members' lesson attendance",
    "events.lesson_attendance": "n is members × lessons held for them, not a set of records",
    "events.teams": "the team list has no organisation filter yet",
    "grids.visits": "no visit list yet",
    "care.fund_balance": "a sum of balances",
    "care.aid_paid": "a sum of money",
    "care.aid_payments": "no disbursement list with an organisation filter yet",
    "care.actions": "no care-action list with an organisation filter yet",
    "inspections.inspections": "small table, the inspection list",
    "inspections.findings_accepted": "no finding list across inspections yet",
    "inspections.rectifications_open": "the rectification list has no organisation filter yet",
    "campaigns.award_rounds_published": "the award list has no organisation filter yet",
    "campaigns.plans_submitted": "organisations required to submit, computed over campaigns",
}


def _orgs(world):
    return [world.county, world.wuyuan, world.hebin, world.qinshan, world.qinshan_village]


def list_count(response) -> int:
    """The number of rows the list says it has: a paginated list's total, or the case list's (uncapped) count."""
    ctx = response.context
    if "count_more" in ctx:
        assert not ctx["count_more"]
        return ctx["count"]
    return ctx["page"].paginator.count


def test_every_indicator_has_a_list_or_a_stated_reason():
    for key, item in indicators().items():
        assert (item.list_url is not None) != (key in WITHOUT_LIST), key


def test_every_listed_indicator_equals_the_count_of_its_list(world, records, client_for):
    metrics.rebuild()
    client = client_for("county_admin")
    checked = 0
    for org in _orgs(world):
        c = cockpit_for(org, with_children=False)
        shown = {f.key: f for s in c.sections for f in s.figures}
        for key, item in indicators().items():
            if item.list_url is None:
                continue
            url = item.list_url(org.pk)
            assert url, key
            response = client.get(url)
            assert response.status_code == 200, url
            live = item.numerator.total(org)
            assert list_count(response) == live, (key, org.name, url)
            if key in shown:
                assert shown[key].url == url
                assert shown[key].value == live, (key, org.name)
            checked += 1
    assert checked >= 5 * 8


def test_a_lower_secretary_sees_the_same_count_in_the_list(world, records, client_for):
    """The list is restricted to the viewer's scope: a community secretary's list of their own community gives the
    same count as the county administrator's."""
    metrics.rebuild()
    client = client_for("hebin_secretary")
    for key, item in indicators().items():
        if item.list_url is None:
            continue
        assert list_count(client.get(item.list_url(world.hebin.pk))) == item.numerator.total(world.hebin), key


def test_members_who_pledged_are_members_not_pledges(world, records, client_for):
    """Three members pledged (one twice, one of those a draft), a fourth did not, an organisation pledged too: the
    share is of members, never above 100 %, and the member list's filter gives the same members."""
    from xianfeng.core.testing import make_member

    from .conftest import ITEMS, pledge_round

    make_member("未承诺党员", world.hebin_branch)
    rnd = pledge_round(world)
    org_pledge = pledges.pledge_create(round=rnd, org=world.hebin_branch, member=None,
                                       items=[dict(i, due_date=timezone.localdate() + dt.timedelta(days=30)) for i in ITEMS],
                                       actor=world.hebin_secretary)
    pledges.pledge_submit(pledge=org_pledge, actor=world.hebin_secretary)
    metrics.rebuild()
    fig = cockpit_for(world.county, with_children=False).figure("pledges.members_pledged")
    assert (fig.value, fig.denominator) == (3, 4)
    hebin = cockpit_for(world.hebin, with_children=False).figure("pledges.members_pledged")
    assert (hebin.value, hebin.denominator) == (2, 3)
    client = client_for("county_admin")
    assert list_count(client.get(hebin.url)) == 2
    assert list_count(client.get(f"/orgs/members/?org={world.hebin.pk}&current=1&pledged=0")) == 1


def _page_value(html: str, metric: str) -> str:
    match = re.search(rf'data-testid="fig-{metric}"[^>]*>([^<]+)<', html)
    assert match, metric
    return unescape(match.group(1)).strip()


def test_cockpit_page_api_rates_and_report_agree(world, records, client_for):
    metrics.rebuild()
    client = client_for("county_admin")
    rates = org_rates()
    for org in _orgs(world):
        c = cockpit_for(org, with_children=False)
        html = client.get(f"/cockpit/{org.pk}/").content.decode()
        api = client.get(f"/api/v1/cockpit/{org.pk}/").json()
        api_figures = {f["key"]: f for s in api["sections"] for f in s["figures"]}
        report = draft_achievements(Inspection(org=org, end=timezone.localdate()), [])
        for s in c.sections:
            for fig in s.figures:
                assert api_figures[fig.key]["value"] == fig.value, fig.key
                assert api_figures[fig.key]["denominator"] == fig.denominator, fig.key
                assert _page_value(html, fig.metric) == (f"{fig.value:,.2f}" if isinstance(fig.value, float)
                                                         else f"{fig.value:,}"), fig.key
                if fig.key in rates and fig.denominator:
                    assert rates[fig.key].compute([org]).get(org.pk) == (fig.value, fig.denominator), fig.key
                    if fig.key not in ("pledges.formulaic", "campaigns.plans_submitted"):
                        rate = rates[fig.key]
                        assert (f"{rate.numerator}{fig.value:,}，{rate.denominator}{fig.denominator:,}"
                                in report), (fig.key, report)


@pytest.mark.parametrize("key", ["grids.visit_coverage", "pledges.members_pledged", "care.ack_60s"])
def test_labels_say_their_window_or_population(key):
    item = indicators()[key]
    with translation.override("zh-hans"):
        text = f"{item.label} {item.denominator_label} {item.window}"
    assert any(word in text for word in ("近90天", "全部承诺批次", "全部呼叫", "不含已转出")), text


def test_a_snapshot_rolled_up_before_today_says_the_day_it_was_counted(world, records):
    """Households visited in the last 90 days is counted as of the rollup's day; until the nightly rebuild the tile
    says which day, so it is not mistaken for today's live figure (the rates panel)."""
    from xianfeng.grids import services as grids

    yesterday = timezone.localdate() - dt.timedelta(days=1)
    grids.visit_record(household=records["grid"].households.order_by("number").last(), date=yesterday,
                       notes="走访", actor=world.county_admin)
    metrics.rebuild(today=yesterday)
    label = str(cockpit_for(world.county, with_children=False).figure("grids.visit_coverage").label)
    assert yesterday.isoformat() in label
    metrics.rebuild()
    label = str(cockpit_for(world.county, with_children=False).figure("grids.visit_coverage").label)
    assert yesterday.isoformat() not in label


def test_the_modules_figures_pages_show_the_registered_values(world, records, client_for):
    """The pledges figures page (members who pledged / members) and the grids figures page (on-time closure, visit
    coverage) read the same definitions as the cockpit."""
    from xianfeng.core.testing import make_member

    make_member("未承诺党员", world.hebin_branch)
    metrics.rebuild()
    client = client_for("county_admin")
    page = client.get(f"/pledges/figures/?org={world.wuyuan.pk}").context
    for f in [page["head"], *page["rows"]]:
        fig = cockpit_for(f.org, with_children=False).figure("pledges.members_pledged")
        assert (f.pledged, f.members) == (fig.value, fig.denominator), f.org.name
    found = indicators()
    for key in ("grids.on_time", "grids.visit_coverage"):
        for org in _orgs(world):
            fig = cockpit_for(org, with_children=False).figure(key)
            assert found[key].counts([org]).get(org.pk, (0, 0)) == (fig.value, fig.denominator), (key, org.name)


def test_the_new_lists_answer_404_outside_the_viewers_scope(world, client_for):
    outsider = client_for("qinshan_secretary")
    for url in (f"/demands/list/?org={world.hebin.pk}&figure=done", f"/care/alerts/?within={world.hebin.pk}",
                f"/grids/households/?within={world.hebin.pk}&visited=90"):
        assert outsider.get(url).status_code == 404, url
    assert client_for("member").get("/demands/list/").status_code == 404
