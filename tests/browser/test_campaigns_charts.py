"""The venture's figures chart and the contact-point map draw with ECharts on a phone (when the asset is installed)."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from xianfeng.campaigns import services
from xianfeng.core.testing import make_person
from xianfeng.orgs import services as org_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ECHARTS = Path(settings.BASE_DIR) / "static" / "vendor" / "echarts" / "echarts.min.js"


@pytest.fixture(autouse=True)
def _echarts_installed():
    if not ECHARTS.exists():
        pytest.skip("ECharts is not installed (npm package echarts, copied by scripts/copy_assets.sh)")


def test_venture_chart_and_contact_map_draw(world, live_server, open_page, sign_in):
    venture = services.venture_create(org=world.qinshan_village, name="秦万芦荟专业合作社", kind="cooperative",
                                      founded=dt.date(2006, 3, 1), actor=None)
    for day, members, area, households in ((dt.date(2006, 3, 1), 3, 8, 0), (dt.date(2010, 6, 30), 23, 2530, 256)):
        services.venture_figure_record(venture=venture, date=day, members=members, area_mu=area, households=households, actor=None)
    org_services.org_update(org=world.qinshan, latitude=30.434, longitude=120.914)
    org_services.contact_point_create(leader=make_person("县委书记"), org=world.qinshan_village, kind="village",
                                      start=timezone.localdate() - dt.timedelta(days=5))
    org_services.org_update(org=world.county, latitude=30.52, longitude=120.94)
    org_services.contact_point_create(leader=make_person("县长"), org=world.health_bureau, kind="department",
                                      start=timezone.localdate() - dt.timedelta(days=5))
    page = open_page("phone")
    sign_in(page, "county_admin")
    page.goto(live_server.url + reverse("campaigns:venture_detail", args=[venture.pk]))
    page.wait_for_selector("#venture-chart canvas")
    # the chart holds the figures: three series over the two dates
    assert page.evaluate("echarts.getInstanceByDom(document.getElementById('venture-chart'))"
                         ".getOption().xAxis[0].data") == ["2006-03", "2010-06"]
    assert "2530" in page.inner_text("[data-testid=figures]")
    page.goto(live_server.url + reverse("campaigns:contact_map"))
    page.wait_for_selector("#cp-map canvas")
    # one series per kind of contact unit, each its own colour, named in the legend
    series = page.evaluate("echarts.getInstanceByDom(document.getElementById('cp-map')).getOption().series"
                           ".map(s => [s.name, s.data.map(m => [m.name, m.value])])")
    assert dict((name, data) for name, data in series) == {
        "联村（社区）": [["杨柳村", [120.914, 30.434]]], "联部门": [["县卫生局", [120.94, 30.52]]]}, series
    legend = page.evaluate("echarts.getInstanceByDom(document.getElementById('cp-map')).getOption().legend[0].data")
    assert sorted(legend) == sorted(name for name, _ in series)
    assert re.search("杨柳村", page.inner_text("[data-testid=contact-points]"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
