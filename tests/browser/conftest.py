"""Playwright (sync API) driving Debian's chromium against pytest-django's live_server.

Never `playwright install`: the browser is /usr/bin/chromium from Debian (`make system-deps`).
A failing test leaves a screenshot of every page it opened in test-artifacts/.
"""

import os
from pathlib import Path

import pytest
from django.urls import reverse

from xianfeng.core.testing import PASSWORD

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls there unless told it is safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-quic", "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 800}}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing: run `make system-deps` (Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, request):
    """open_page("phone" or "desktop") → a page in a fresh context whose browser asks for Chinese, like the county's."""
    pages = []

    def make(viewport: str = "phone", **options):
        context = browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-CN", accept_downloads=True, **options)
        page = context.new_page()
        page.set_default_timeout(15_000)
        pages.append(page)
        return page

    yield make
    report = getattr(request.node, "rep_call", None)
    for i, page in enumerate(pages):
        if report is None or report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{i}.png"), full_page=True)
        page.context.close()


@pytest.fixture
def sign_in(live_server):
    """sign_in(page, username) through the real sign-in form; returns once the home page is shown."""

    def do(page, username: str, password: str = PASSWORD) -> None:
        page.goto(live_server.url + reverse("login"))
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(live_server.url + reverse("home"))

    return do
