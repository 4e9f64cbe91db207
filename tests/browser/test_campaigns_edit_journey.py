"""The county administrator sets up a campaign with its deliverables in the browser; a community secretary on a phone
is refused a plan file that is not a document, then submits the plan, and the matrix shows it."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from xianfeng.campaigns.models import Campaign, CampaignPlan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_creates_a_campaign_and_a_secretary_submits_the_plan(world, live_server, open_page, sign_in, tmp_path):
    today = timezone.localdate()
    page = open_page("desktop")
    sign_in(page, "county_admin")
    page.goto(live_server.url + reverse("campaigns:index"))
    page.click("[data-testid=create-links] >> text=新建活动")
    page.select_option("#id_org", str(world.county.pk))
    page.fill("#id_name", "深入开展创先争优活动")
    for name, days in (("start", -10), ("implement_from", 10), ("evaluate_from", 100), ("end", 200)):
        page.fill(f"#id_{name}", (today + dt.timedelta(days=days)).isoformat())
    page.fill("#id_d-0-code", "plan")
    page.fill("#id_d-0-name", "活动方案")
    page.select_option("#id_d-0-org_kinds", ["branch"])
    page.fill("#id_d-0-due", (today + dt.timedelta(days=20)).isoformat())
    page.click("[data-testid=save]")
    campaign = Campaign.objects.get()
    page.wait_for_url(re.compile(rf"/campaigns/{campaign.pk}/$"))
    assert "河滨社区党支部" in page.inner_text("[data-testid=matrix]")

    phone = open_page("phone")
    sign_in(phone, "hebin_secretary")
    phone.goto(live_server.url + reverse("campaigns:plan", args=[campaign.pk, world.hebin_branch.pk]))
    text = tmp_path / "plan.pdf"
    text.write_text("这不是PDF文件")
    phone.set_input_files("#id_file", str(text))
    phone.click("button[value=submit]")
    assert "文件内容不是有效的文档" in phone.inner_text("form[enctype='multipart/form-data']")
    assert not CampaignPlan.objects.exists()
    phone.fill("#id_text", "一、指导思想\n二、目标要求")
    phone.click("button[value=submit]")
    assert phone.inner_text("[data-testid=plan-status]") == "已报送"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    page.reload()
    assert "已报送" in page.inner_text("[data-testid=matrix]")

    page.set_viewport_size({"width": 360, "height": 740})  # the creation pages work on a phone too
    page.goto(live_server.url + reverse("campaigns:award_create"))
    assert page.locator("#id_c-0-name").input_value() == "先进基层党组织"  # the 1+9 categories, ready to edit
    for name in ("campaigns:award_create", "campaigns:meeting_create", "campaigns:drive_create"):
        page.goto(live_server.url + reverse(name))
        assert page.locator("[data-testid=edit-form]").is_visible(), name
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, name
