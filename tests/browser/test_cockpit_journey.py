"""The county admin opens the cockpit, drills down to a town, clicks a figure and lands on the records behind it."""

import re

import pytest

from xianfeng.cockpit import metrics
from xianfeng.core.testing import make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_county_admin_drills_down_from_the_county_to_a_towns_members(world, live_server, open_page, sign_in):
    make_member("赵先锋", world.hebin_branch)
    metrics.rebuild()

    page = open_page("desktop")
    sign_in(page, "county_admin")
    if page.is_visible("button.navbar-toggler"):  # the menu folds below 1400 px
        page.click("button.navbar-toggler")
    menu = page.get_by_role("navigation", name="主菜单")
    menu.get_by_role("link", name="驾驶舱").click()
    page.wait_for_url(re.compile(rf"/cockpit/{world.county.pk}/$"))
    assert page.inner_text("[data-testid=fig-members]").strip() == "4"
    page.wait_for_selector("[data-testid=rates-table]")  # the rates panel arrives after the page
    page.wait_for_selector("#cockpit-trend canvas")  # ECharts drew the trend chart

    page.click(f"[data-testid=child-{world.wuyuan.pk}]")
    page.wait_for_url(re.compile(rf"/cockpit/{world.wuyuan.pk}/$"))
    assert "武原镇" in page.inner_text("h1")
    assert page.inner_text("[data-testid=fig-members]").strip() == "3"

    page.click("[data-testid=fig-members]")
    page.wait_for_url(re.compile(rf"/orgs/members/\?org={world.wuyuan.pk}&current=1$"))  # the list whose filter is the figure's
    body = page.inner_text("main")
    assert "张建国" in body and "赵先锋" in body
    assert "王海" not in body  # 秦山镇's member is not behind 武原镇's figure
