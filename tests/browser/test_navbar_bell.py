"""The notification bell is seen without opening the menu, on a 360-px phone and on a 1366-px laptop."""

import pytest
from django.urls import reverse

from xianfeng.core.testing import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [360, 1366])
def test_the_bell_is_visible_without_opening_the_menu(world, live_server, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="zh-CN")
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(live_server.url + reverse("login"))
        page.fill("#id_username", world.users["hebin_secretary"].username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(live_server.url + reverse("home"))
        bell = page.get_by_test_id("notify-badge")
        assert bell.count() == 1 and bell.is_visible()
        box = bell.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        bell.click()
        page.wait_for_url(live_server.url + reverse("notify:inbox"))
    finally:
        context.close()
