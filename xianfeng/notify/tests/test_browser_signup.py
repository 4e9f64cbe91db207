"""In a browser: a resident signs up with the code the provider delivered — read from the fake SMS server's inbox."""

import os

import pytest
from django.urls import reverse

from .conftest import use_aliyun, use_tencent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def chromium():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing: run `make system-deps` (Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.mark.parametrize("use", [use_aliyun, use_tencent])
def test_resident_signs_up_with_the_code_from_the_providers_inbox(chromium, live_server, providers, settings, use):
    from xianfeng.core.testing import build_county

    county = build_county()
    use(settings)
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(live_server.url + reverse("pledges:resident_signup"))
        page.fill("#id_phone", "13700001111")
        page.click("[data-testid=send-code]")
        page.wait_for_load_state()
        [message] = providers.inbox("13700001111")
        code = message.params["code"] if isinstance(message.params, dict) else message.params[0]
        page.fill("#id_phone", "13700001111")
        page.fill("#id_code", code)
        page.fill("#id_name", "钱居民")
        page.select_option("#id_org", str(county.hebin.pk))
        page.fill("#id_password", "a-good-pass-9")
        page.click("[data-testid=register]")
        page.wait_for_load_state()
        from django.contrib.auth import get_user_model

        assert get_user_model().objects.filter(username="13700001111").exists()
    finally:
        context.close()
