"""我的待办 on the home page: each count is the count of the list it links to, in a few queries."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from xianfeng.demands.services import demand_create
from xianfeng.grids import services

from .conftest import LAT, LNG

pytestmark = pytest.mark.django_db


def _open_cases(gw, world):
    now = timezone.now()
    for days_ago in (20, 0):  # one long overdue, one fresh
        services.case_open(category=gw.same_day if days_ago == 0 else gw.quick, description="路灯不亮",
                           actor=world.resident, source="portal", org=world.hebin, lat=LAT, lng=LNG,
                           reporter=world.resident, now=now - dt.timedelta(days=days_ago))
    demand_create(org=world.hebin, category="助老", description="陪同复诊", actor=world.hebin_secretary)


def _list_count(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200
    if "count" in response.context:
        return response.context["count"]
    return response.context["page"].paginator.count


@pytest.mark.parametrize("persona", ["hebin_secretary", "grid_worker", "county_admin"])
def test_each_count_is_the_count_of_its_list(gw, world, client_for, persona, django_assert_max_num_queries):
    _open_cases(gw, world)
    client = client_for(persona)
    with django_assert_max_num_queries(30):
        response = client.get(reverse("home"))
    queue = response.context["queue"]
    keys = {item["key"] for item in queue}
    assert {"cases_overdue", "cases_due", "cases_open", "demands_open"} <= keys
    for item in queue:
        assert item["count"] == _list_count(client, item["url"]), item["key"]
    by_key = {item["key"]: item["count"] for item in queue}
    assert by_key["cases_open"] == 2 and by_key["cases_overdue"] >= 1 and by_key["demands_open"] == 1
    html = response.content.decode()
    assert "我的待办" in html and 'data-testid="work-queue"' in html


def test_the_queue_costs_a_few_queries(gw, world, client_for, django_assert_max_num_queries):
    client = client_for("hebin_secretary")
    client.get(reverse("home"))
    _open_cases(gw, world)
    with django_assert_max_num_queries(14):
        client.get(reverse("home"))


def test_an_outsider_counts_nothing_of_hebin(gw, world, client_for):
    _open_cases(gw, world)
    queue = client_for("qinshan_secretary").get(reverse("home")).context["queue"]
    assert {item["key"]: item["count"] for item in queue}["cases_open"] == 0


def test_tiles_are_grouped_under_module_headings(gw, world, client_for):
    html = client_for("hebin_secretary").get(reverse("home")).content.decode()
    shortcuts = html[html.index('data-testid="shortcuts"'):]
    assert len(re.findall(r"<h2 class=\"h6", shortcuts)) >= 3
