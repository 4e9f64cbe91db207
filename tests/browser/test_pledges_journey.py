"""A member drafts a pledge on a phone → the secretary approves and publishes it → a resident rates it on the public
board, on a phone-sized window."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from xianfeng.pledges.models import Pledge, Rating
from xianfeng.pledges.tests.factories import make_round

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = "年底前为河滨社区3号楼的5户独居老人各送一袋大米"


def test_member_drafts_secretary_approves_resident_rates(world, live_server, open_page, sign_in):
    make_round(world)
    due = (timezone.localdate() + dt.timedelta(days=30)).isoformat()

    page = open_page("phone")
    sign_in(page, "member_demo")
    page.goto(live_server.url + reverse("home"))
    page.click(".navbar-toggler")  # the menu is collapsed on a phone
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="我的承诺").click()
    page.wait_for_url(re.compile(r"/pledges/$"))
    page.click("[data-testid=new-pledge]")
    page.wait_for_url(re.compile(r"/pledges/new/$"))
    page.select_option("#id_items-0-kind", "service")
    page.fill("#id_items-0-text", TEXT)
    page.fill("#id_items-0-target_value", "5")
    page.fill("#id_items-0-target_unit", "户")
    page.fill("#id_items-0-due_date", due)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.click("[data-testid=submit-pledge]")
    page.wait_for_url(re.compile(r"/pledges/\d+/$"))
    assert "待审定" in page.inner_text("[data-testid=status]")
    pledge = Pledge.objects.get()

    desk = open_page("phone")
    sign_in(desk, "hebin_secretary")
    desk.goto(live_server.url + reverse("pledges:list") + "?status=submitted")
    desk.get_by_role("link", name="张建国").click()
    desk.wait_for_url(re.compile(rf"/pledges/{pledge.pk}/$"))
    desk.click("[data-testid=approve]")
    desk.wait_for_selector("[data-testid=publish]")
    desk.click("[data-testid=publish]")
    desk.wait_for_function("() => document.querySelector('[data-testid=status]').innerText.includes('已公示')")

    phone = open_page("phone")
    phone.goto(live_server.url + reverse("pledges:board", args=[world.hebin.pk]))
    assert TEXT in phone.inner_text("[data-testid=board-pledge]")
    assert world.members["hebin_a"].person.id_number not in phone.content()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    sign_in(phone, "resident_demo")
    phone.goto(live_server.url + reverse("pledges:board", args=[world.hebin.pk]))
    phone.get_by_role("link", name="张建国").click()
    phone.wait_for_url(re.compile(rf"/pledges/board/pledge/{pledge.pk}/$"))
    phone.click("label[for=rate-satisfied]")
    phone.click("[data-testid=rate-button]")
    phone.wait_for_selector("[data-testid=my-rating]")
    assert "满意" in phone.inner_text("[data-testid=my-rating]")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert Rating.objects.get(pledge=pledge).value == "satisfied"
