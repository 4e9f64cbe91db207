"""On a phone: a member asks for the nearest open demands with the browser's position (the page's script reads
navigator.geolocation), sees distances and no resident's details."""

import pytest

from xianfeng.demands.services import demand_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HERE = {"latitude": 30.5250, "longitude": 120.9400}


def test_member_sorts_open_demands_by_distance_from_the_phone(world, live_server, open_page, sign_in):
    demand_create(org=world.hebin, category="维修", description="修门锁", area="远处片区", latitude=30.6250,
                  longitude=120.9400, address="海滨东路99弄3号602室", actor=None)
    demand_create(org=world.hebin, category="助老", description="陪同买药", area="近处片区", latitude=30.5290,
                  longitude=120.9400, address="河滨路2号", actor=None)
    member = open_page("phone", geolocation=HERE, permissions=["geolocation"])
    sign_in(member, "member_demo")
    member.goto(live_server.url + "/demands/")
    member.click("[data-testid=use-position]")
    member.wait_for_url("**/demands/?*lat=*")
    rows = member.locator("[data-testid=demand-list] li")
    assert rows.count() == 2
    assert "近处片区" in rows.nth(0).inner_text() and "0.4 km" in rows.nth(0).inner_text()
    assert "远处片区" in rows.nth(1).inner_text() and "11.1 km" in rows.nth(1).inner_text()
    body = member.content()
    assert "海滨东路99弄3号602室" not in body and "30.625" not in body.split("demand-list")[1]
    member.fill("#id_km", "2")
    member.click("[data-testid=demand-filter] button[type=submit]")
    member.wait_for_url("**km=2*")
    assert member.locator("[data-testid=demand-list] li").count() == 1
    assert member.evaluate("document.documentElement.scrollWidth") <= 362
