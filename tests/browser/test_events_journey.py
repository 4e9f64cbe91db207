"""A member signs up on a phone, checks in by the organiser's rotating QR code, and the organiser sees it."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from xianfeng.events import services
from xianfeng.events.models import Attendance, Registration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_member_signs_up_and_checks_in_by_the_rotating_code(world, live_server, open_page, sign_in):
    start = timezone.now() - dt.timedelta(minutes=10)
    activity = services.activity_create(org=world.hebin, kind="service", title="河滨社区环境整治志愿服务",
                                        starts_at=start, ends_at=start + dt.timedelta(hours=2), place="河滨公园",
                                        capacity=20, actor=world.hebin_secretary)

    organiser = open_page("phone")
    sign_in(organiser, "hebin_secretary")
    organiser.goto(f"{live_server.url}/events/{activity.pk}/")
    organiser.get_by_role("link", name="显示签到码").click()
    organiser.wait_for_selector("[data-testid=checkin-qr] svg")
    assert organiser.inner_text("[data-testid=qr-attended]").strip() == "0"

    member = open_page("phone")
    sign_in(member, "member_demo")
    member.click("button.navbar-toggler")
    menu = member.get_by_role("navigation", name="主菜单")
    menu.get_by_role("button", name="活动与党课", exact=True).click()  # the events module's dropdown
    menu.get_by_role("link", name="活动", exact=True).click()
    member.wait_for_url(re.compile(r"/events/$"))
    member.get_by_role("link", name="河滨社区环境整治志愿服务").click()
    member.get_by_role("button", name="报名").click()
    member.wait_for_selector("text=您已报名")
    assert Registration.objects.get(activity=activity).status == "registered"
    assert member.evaluate("document.documentElement.scrollWidth") <= 360

    # the phone's camera reads the code on the organiser's screen and opens the address it holds
    code_url = organiser.get_attribute("[data-testid=checkin-qr]", "data-url")
    assert code_url.startswith(live_server.url + "/events/checkin/")
    member.goto(code_url)
    member.get_by_role("button", name="立即签到").click()
    member.wait_for_selector("[data-testid=checkin-done]")
    assert "签到成功" in member.inner_text("[data-testid=checkin-done]")
    assert member.evaluate("document.documentElement.scrollWidth") <= 360
    assert Attendance.objects.filter(activity=activity).count() == 1

    # the organiser's page polls and shows the attendee without a reload
    organiser.wait_for_function(
        "() => document.querySelector('[data-testid=qr-attended]').innerText.trim() === '1'", timeout=15_000)
    assert "张建国" in organiser.inner_text("[data-testid=latest-checkins]")
