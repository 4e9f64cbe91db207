"""A resident reports a problem with a point on the map from a phone → the grid worker handles it → the community
secretary verifies and closes it → the resident rates it. Every step on a 360-px window, through the real pages."""

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from PIL import Image

from xianfeng.core.testing import make_user
from xianfeng.grids import services
from xianfeng.grids.models import Case
from xianfeng.orgs.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LEAFLET = Path(settings.BASE_DIR) / "static" / "vendor" / "leaflet" / "leaflet.js"


def square(lng0, lat0, size=0.01):
    return {"type": "Polygon", "coordinates": [[[lng0, lat0], [lng0 + size, lat0], [lng0 + size, lat0 + size],
                                                [lng0, lat0 + size], [lng0, lat0]]]}


def no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_a_reported_problem_is_handled_verified_closed_and_rated(world, live_server, open_page, sign_in, tmp_path,
                                                                settings):
    if not LEAFLET.exists():
        pytest.skip("Leaflet is not in static/vendor: `npm install` (package leaflet) and scripts/copy_assets.sh")
    settings.GRIDS_PHOTO_DIR = tmp_path
    settings.GRIDS_MAP_TILE_URL = ""  # no tile server: the maps must still work
    grid = services.grid_create(org=world.hebin, name="河滨一网格", boundary=square(120.94, 30.52))
    services.category_create(code="101", name="道路破损", deadline_value=3)
    make_user("hebin_grid", Role.Kind.GRID_WORKER, world.hebin)
    photo = tmp_path / "hole.png"
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "gray").save(buf, "PNG")
    photo.write_bytes(buf.getvalue())

    # 1. the resident reports, tapping the place on the map
    page = open_page("phone")
    sign_in(page, "resident_demo")
    page.goto(live_server.url + reverse("grids:report"))
    page.select_option("#id_category", label="道路破损")
    page.fill("#id_description", "小区东门路面塌陷，电瓶车容易摔倒")
    page.wait_for_selector("#xf-pick-map.leaflet-container")
    box = page.locator("#xf-pick-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert re.match(r"^30\.5\d+, 120\.9\d+$", page.inner_text("[data-testid=picked]"))
    page.set_input_files("#id_photo", str(photo))
    no_sideways_scroll(page)
    page.get_by_role("button", name="提交").click()
    page.wait_for_url(re.compile(r"/grids/cases/\d+/$"))
    case = Case.objects.get()
    assert case.grid == grid and not case.outside_grids and case.photo
    assert page.inner_text("[data-testid=case-status]") == "已派遣"
    no_sideways_scroll(page)

    # 2. the grid worker accepts, handles and reports back
    worker = open_page("phone")
    sign_in(worker, "hebin_grid")
    worker.goto(live_server.url + reverse("grids:case_list"))
    worker.locator("[data-testid=case-row]", has_text=case.number).click()
    worker.get_by_role("button", name="签收").click()
    worker.get_by_role("button", name="开始处置").click()
    worker.fill("#report-note", "已用沥青回填压实")
    worker.get_by_role("button", name="反馈").click()
    worker.wait_for_selector("text=已反馈")
    assert worker.locator("[data-testid=case-actions]").count() == 0  # verifying is for someone else
    no_sideways_scroll(worker)

    # 3. the community secretary verifies and closes it
    secretary = open_page("phone")
    sign_in(secretary, "hebin_secretary")
    secretary.goto(live_server.url + reverse("grids:case_detail", args=[case.pk]))
    secretary.fill("#verify-note", "现场查看，已修复")
    secretary.get_by_role("button", name="核查通过").click()
    secretary.wait_for_selector("text=已核查")
    # the photo is served to the secretary through the permission-checked view
    assert secretary.evaluate("document.querySelector('[data-testid=case-photo]').naturalWidth") == 40
    secretary.select_option("#close-outcome", "resolved")
    secretary.get_by_role("button", name="结案").click()
    assert secretary.inner_text("[data-testid=case-status]") == "已结案"
    no_sideways_scroll(secretary)

    # the map works with no tile server: the grid's polygon on a blank background
    secretary.goto(live_server.url + reverse("grids:map"))
    secretary.wait_for_selector("#xf-grid-map[data-features]")
    assert secretary.get_attribute("#xf-grid-map", "data-features") == "1"
    assert secretary.locator(".leaflet-overlay-pane path").count() == 1
    assert secretary.locator(".leaflet-tile").count() == 0
    no_sideways_scroll(secretary)

    # 4. the resident rates it
    page.goto(live_server.url + reverse("grids:my_cases"))
    page.locator("[data-testid=case-row]", has_text=case.number).click()
    page.check("#rate-satisfied")
    page.get_by_role("button", name="评价").click()
    assert "满意" in page.inner_text("[data-testid=rating]")
    case.refresh_from_db()
    assert case.rating == "satisfied" and case.closed_on_time
    assert list(case.events.values_list("kind", flat=True)) == [
        "open", "dispatch", "accept", "start", "report", "verify", "close", "rate"]
