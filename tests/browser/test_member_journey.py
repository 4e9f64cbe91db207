"""A Hebin community secretary on a phone: finds a member, sees the ID masked, reveals it (audited), exports the list."""

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from django.urls import NoReverseMatch, reverse

from xianfeng.core.models import AuditEvent
from xianfeng.core.testing import make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MASKED_ID = re.compile(r"^\d{6}\*{8}[\dX]{4}$")
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"


def export_url() -> str | None:
    try:
        return reverse("orgs:member_export")
    except NoReverseMatch:
        return None


def find_member_on_phone(page, live_server, name: str) -> None:
    """From the home page, through the collapsed phone menu to the member list, filtered by name."""
    page.click("button.navbar-toggler")
    menu = page.get_by_role("navigation", name="主菜单")
    menu.get_by_role("button", name="组织", exact=True).click()  # the organisation pages' dropdown
    menu.get_by_role("link", name="党员", exact=True).click()
    page.wait_for_url(re.compile(r"/orgs/members/"))
    page.fill("#id_q", name)
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"/orgs/members/\?"))


def test_secretary_finds_a_member_and_sees_the_id_masked(world, live_server, open_page, sign_in):
    member = world.members["hebin_a"]
    page = open_page("phone")
    sign_in(page, "hebin_secretary")
    assert "欢迎" in page.inner_text("h1")

    find_member_on_phone(page, live_server, "张建国")
    rows = page.locator("[data-testid=member-table] tbody tr")
    assert rows.count() == 1
    assert MASKED_ID.match(rows.first.locator("[data-testid=id-masked]").inner_text().strip())
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling

    rows.first.get_by_role("link", name="张建国").click()
    page.wait_for_url(re.compile(rf"/orgs/members/{member.pk}/$"))
    shown = page.inner_text("[data-testid=id-number]").strip()
    assert MASKED_ID.match(shown) and shown == member.person.id_number_masked
    assert member.person.id_number not in page.content()
    assert page.inner_text("[data-testid=phone]").strip() == "138****5678"

    page.click("[data-testid=unmask-button]")  # htmx POST, swapped in place
    page.wait_for_selector("[data-testid=unmasked-note]")
    assert page.inner_text("[data-testid=id-number]").strip() == member.person.id_number
    assert page.locator("nav.navbar").count() == 1
    assert AuditEvent.objects.filter(action="unmask", actor=world.hebin_secretary, object_id=str(member.pk)).count() == 1

    page.go_back()
    page.wait_for_url(re.compile(r"/orgs/members/\?q="))
    assert page.locator("[data-testid=member-table] tbody tr").count() == 1
    if export_url() is None:
        assert page.locator("[data-testid=export-link]").count() == 0


def test_secretary_exports_the_list_with_ids_masked(world, live_server, open_page, sign_in, tmp_path):
    if export_url() is None:
        pytest.skip("orgs:member_export is not in this tree yet (the roster/export work adds it); "
                    "the journey up to the export button is covered by the test above")
    from openpyxl import load_workbook

    page = open_page("phone")
    sign_in(page, "hebin_secretary")
    find_member_on_phone(page, live_server, "张")
    with page.expect_download() as info:
        page.click("[data-testid=export-link]")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    cells = [str(c) for row in load_workbook(target, read_only=True).active.iter_rows(values_only=True)
             for c in row if c is not None]
    member = world.members["hebin_a"]
    assert member.person.id_number_masked in cells
    assert not any(member.person.id_number in c for c in cells)
    assert not any(re.fullmatch(r"\d{17}[\dX]", c) for c in cells)


def test_tree_expands_lazily_with_member_counts(world, live_server, open_page, sign_in):
    page = open_page("phone")
    sign_in(page, "county_admin")
    page.goto(live_server.url + reverse("orgs:tree"))
    root = page.locator(f"[data-org='{world.county.pk}']")
    assert root.locator("[data-testid=member-count]").first.inner_text().strip().startswith("3")
    root.locator("summary").first.click()
    wuyuan = page.locator(f"[data-org='{world.wuyuan.pk}']")
    wuyuan.wait_for()
    assert wuyuan.locator("[data-testid=member-count]").first.inner_text().strip().startswith("2")
    wuyuan.locator("summary").first.click()
    page.locator(f"[data-org='{world.hebin.pk}']").wait_for()

    page.fill("#org-search", "hbsq")
    results = page.locator("[data-testid=org-search-results]")
    results.get_by_role("link", name="河滨社区", exact=True).wait_for()
    assert "海盐县/武原镇/河滨社区 · 330424001001" in results.inner_text()
    assert page.locator("nav.navbar").count() == 1  # htmx swapped in the partial, not a whole page

    page.get_by_role("button", name="English").click()  # the footer's language switch
    page.wait_for_selector("h1:text-is('Organisations')")
    assert page.get_attribute("html", "lang") == "en"


def test_member_list_screenshot(world, live_server, open_page, sign_in):
    """The member list as a county official sees it on a desktop; also the README's screenshot when asked for
    (XIANFENG_DOCS_SCREENSHOT=1)."""
    names = ["陈志强", "王丽华", "刘洋", "杨秀兰", "黄伟", "周敏", "吴国平", "徐静", "孙建华", "马玉梅", "朱海峰", "胡晓燕"]
    for i, name in enumerate(names):
        branch = world.hebin_branch if i % 3 else world.qinshan_branch
        make_member(name, branch, gender="F" if i % 2 else "M", birth=dt.date(1955 + 3 * i, 1 + i % 12, 10 + i),
                    join_date=dt.date(1985 + 2 * i, 7, 1), full_date=dt.date(1986 + 2 * i, 7, 1))
    page = open_page("desktop")
    sign_in(page, "county_admin")
    page.goto(live_server.url + reverse("orgs:member_list"))
    assert page.locator("[data-testid=member-table] tbody tr").count() == 15
    for cell in page.locator("[data-testid=id-masked]").all_inner_texts():
        assert MASKED_ID.match(cell.strip())
    shot = page.screenshot(full_page=False)
    assert len(shot) > 10_000
    if os.environ.get("XIANFENG_DOCS_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        DOCS_SCREENSHOT.write_bytes(shot)
