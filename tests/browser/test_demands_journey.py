"""On a phone: a resident posts a need → a member claims it → records the service → the resident confirms →
the points card shows the points → the member redeems at the shop, which scans the card's QR link."""

import pytest

from xianfeng.ledger.services import ledger_verify
from xianfeng.points.services import balance_of, reward_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 362


def test_need_to_points_to_reward_on_a_phone(world, live_server, open_page, sign_in):
    resident = open_page("phone")
    sign_in(resident, "resident_demo")
    resident.goto(live_server.url + "/demands/new/")
    resident.select_option("#id_category", "维修")
    resident.fill("#id_description", "卫生间灯不亮了")
    resident.fill("#id_address", "河滨路6号302")
    resident.fill("#id_preferred_times", "周六上午")
    resident.click("[data-testid=demand-form] button[type=submit]")
    resident.wait_for_selector("[data-testid=demand-status]")
    assert _fits_phone(resident)

    member = open_page("phone")
    sign_in(member, "member_demo")
    member.goto(live_server.url + "/demands/")
    assert "河滨路6号302" not in member.content()
    member.click("[data-testid=demand-list] a")
    assert "河滨路6号302" not in member.content()
    member.click("[data-testid=claim]")
    member.wait_for_selector("[data-testid=resident-contact]")
    assert "河滨路6号302" in member.inner_text("[data-testid=resident-contact]")
    assert _fits_phone(member)
    member.click("[data-testid=record-service]")
    member.fill("#id_hours", "1")
    member.fill("#id_minutes", "30")
    member.fill("#id_notes", "更换灯泡并检查线路")
    member.click("[data-testid=record-form] button[type=submit]")
    member.wait_for_selector("[data-testid=my-claims]")

    resident.goto(live_server.url + "/demands/mine/")
    resident.click("[data-testid=to-confirm] a")
    resident.check("input[name=rating][value=satisfied]")
    resident.click("[data-testid=confirm]")
    resident.wait_for_selector("[data-testid=record-status]")

    expected = 2 + 3 + 2  # default rules: base 2, 2 per hour × 1.5 h, 满意 bonus 2
    member.goto(live_server.url + "/points/")
    assert member.inner_text("[data-testid=balance]").strip() == str(expected)
    assert member.locator("[data-testid=card-qr] svg").count() == 1
    assert "+7" in member.inner_text("[data-testid=history]")
    assert _fits_phone(member)
    scan_url = member.get_attribute("[data-testid=card-qr]", "data-scan-url")

    towel = reward_create(shop=world.hebin, name="毛巾", price=5, stock=1)
    shop = open_page("phone")
    sign_in(shop, "hebin_secretary")
    shop.goto(scan_url)
    assert shop.inner_text("[data-testid=scan-balance]").strip() == str(expected)
    shop.click(f"[data-testid=redeem-{towel.pk}]")
    shop.wait_for_selector(".alert-success")
    assert shop.inner_text("[data-testid=scan-balance]").strip() == str(expected - 5)
    assert _fits_phone(shop)

    member.goto(live_server.url + "/points/")
    assert member.inner_text("[data-testid=balance]").strip() == str(expected - 5)
    assert balance_of(world.members["hebin_a"]) == expected - 5
    assert ledger_verify().ok
