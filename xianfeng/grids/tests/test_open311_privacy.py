"""Open311: positions outside the county are refused; the public list shows places only to the street, never the
place of a private category (邻里纠纷); staff whose scope holds a case see it exactly. JSON and XML alike."""

import json
import xml.etree.ElementTree as ET

import pytest

from xianfeng.grids import services
from xianfeng.grids.models import Case
from xianfeng.grids.open311 import public_address

from .conftest import FAR, LAT, LNG

BASE = "/open311/v2/"
BEIJING = (39.9, 116.4)


@pytest.fixture
def api_key(gw, world):
    return services.open311_client_create(name="12345热线", org=world.county).api_key


@pytest.fixture
def dispute(gw):
    return services.category_create(code="401", name="邻里纠纷", group="矛盾调解", place_private=True)


def read(client, fmt: str, **params) -> list[dict]:
    """requests.<fmt> as a list of dicts, whichever the format."""
    response = client.get(BASE + f"requests.{fmt}", params)
    assert response.status_code == 200
    if fmt == "json":
        return response.json()
    rows = []
    for request in ET.fromstring(response.content):
        row = {child.tag: child.text for child in request}
        for key in ("lat", "long"):
            row[key] = float(row[key]) if row.get(key) else None
        row["address"] = row.get("address") or ""
        rows.append(row)
    return rows


def post(client, fmt: str, **data):
    return client.post(BASE + f"requests.{fmt}", data)


def description(response, fmt: str) -> str:
    if fmt == "json":
        return response.json()[0]["description"]
    return ET.fromstring(response.content)[0].findtext("description")


# ---- the county's area ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("lat, lng", [BEIJING, (0.0, 0.0), (31.23, 121.47)])  # Beijing, 0/0, Shanghai's centre
def test_a_position_outside_the_county_is_refused_and_nothing_is_dispatched(gw, client, api_key, fmt, lat, lng):
    response = post(client, fmt, api_key=api_key, service_code="101", lat=lat, long=lng, description="坑")
    assert response.status_code == 400
    assert "不在本县范围内" in description(response, fmt)
    assert not Case.objects.exists()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_position_near_the_county_but_outside_every_grid_is_still_taken(gw, client, api_key, fmt):
    response = post(client, fmt, api_key=api_key, service_code="101", lat=FAR[0], long=FAR[1], description="远处")
    assert response.status_code == 200
    assert Case.objects.get().outside_grids


def test_the_area_comes_from_the_grids_data_and_the_margin_setting(gw, world, client, api_key, settings):
    settings.GRIDS_AREA_MARGIN_M = 1000  # FAR is ~14 km east of the two grids
    assert post(client, "json", api_key=api_key, service_code="101", lat=FAR[0], long=FAR[1],
                description="远处").status_code == 400
    # a new grid out there widens the county's area: the same point is now taken
    services.grid_create(org=world.hebin, name="远处网格", boundary={
        "type": "Polygon", "coordinates": [[[121.10, 30.60], [121.11, 30.60], [121.11, 30.61], [121.10, 30.61],
                                            [121.10, 30.60]]]})
    assert post(client, "json", api_key=api_key, service_code="101", lat=FAR[0] + 0.001, long=FAR[1] + 0.001,
                description="远处").status_code == 200


def test_the_resident_report_page_refuses_it_too(gw, world, client_for):
    from django.urls import reverse

    response = client_for("resident").post(reverse("grids:report"), {
        "category": gw.quick.pk, "description": "井盖缺失", "latitude": BEIJING[0], "longitude": BEIJING[1]})
    assert response.status_code in (200, 400)
    assert "不在本县范围内" in response.content.decode()
    assert not Case.objects.exists()


# ---- the public list ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("address, public", [
    ("河滨路1号附近", "河滨路"),
    ("武原街道河滨社区人民路123号3幢2单元", "武原街道河滨社区人民路"),
    ("秦山镇秦万村五组", "秦山镇秦万村"),
    ("三里桥路", "三里桥路"),
    ("河滨社区十二号楼", "河滨社区"),
    ("人民路#5", "人民路"),
])
def test_public_addresses_stop_at_the_street(address, public):
    assert public_address(address) == public


@pytest.fixture
def two_cases(gw, client, api_key, dispute):
    numbers = {}
    for code, text in (("101", "路面塌陷"), ("401", "楼上漏水与邻居争执")):
        response = post(client, "json", api_key=api_key, service_code=code, lat=LAT + 0.00037, long=LNG + 0.00041,
                        address_string="河滨路18号3幢402室", description=text)
        assert response.status_code == 200
        numbers[code] = response.json()[0]["service_request_id"]
    return numbers


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_public_list_shows_the_street_and_a_rounded_position_never_the_house(gw, client, two_cases, fmt):
    rows = {row["service_request_id"]: row for row in read(client, fmt)}
    road = rows[two_cases["101"]]
    assert road["address"] == "河滨路"
    assert road["lat"] == round(LAT + 0.00037, 3) and road["long"] == round(LNG + 0.00041, 3)
    dispute = rows[two_cases["401"]]
    assert dispute["address"] == "" and dispute["lat"] is None and dispute["long"] is None
    body = client.get(BASE + f"requests.{fmt}").content.decode()
    assert "18号" not in body and "402" not in body and str(LAT + 0.00037) not in body


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_one_request_is_coarsened_the_same_way(gw, client, two_cases, fmt):
    response = client.get(BASE + f"requests/{two_cases['401']}.{fmt}")
    assert "18号" not in response.content.decode()
    if fmt == "json":
        [row] = response.json()
        assert row["lat"] is None and row["address"] == ""
    else:
        request = ET.fromstring(response.content)[0]
        assert not request.findtext("lat") and not request.findtext("address")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_staff_whose_scope_holds_the_case_see_the_exact_place(gw, client_for, two_cases, fmt):
    rows = {row["service_request_id"]: row for row in read(client_for("hebin_secretary"), fmt)}
    for number in two_cases.values():
        assert rows[number]["address"] == "河滨路18号3幢402室"
        assert rows[number]["lat"] == pytest.approx(LAT + 0.00037) and rows[number]["long"] == pytest.approx(
            LNG + 0.00041)
    # an outsider signed in is the public
    rows = {row["service_request_id"]: row for row in read(client_for("qinshan_secretary"), fmt)}
    assert rows[two_cases["101"]]["address"] == "河滨路" and rows[two_cases["401"]]["lat"] is None


def test_the_staff_check_is_one_query_however_many_cases(gw, client_for, two_cases, django_assert_max_num_queries):
    c = client_for("hebin_secretary")
    c.get(BASE + "requests.json")
    with django_assert_max_num_queries(12):
        rows = json.loads(c.get(BASE + "requests.json").content)
    assert len(rows) == 2


def test_the_private_place_flag_is_kept_through_the_category_service(gw, world):
    category = services.category_update(category=gw.quick, actor=world.county_admin, place_private=True)
    assert category.place_private
