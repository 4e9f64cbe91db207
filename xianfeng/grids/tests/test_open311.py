"""Open311 GeoReport v2 with the spec's own examples: services, definitions, requests (GET filters, POST), errors."""

import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from xianfeng.grids import services
from xianfeng.grids.models import Case

from .conftest import FAR, LAT, LNG

BASE = "/grids/open311/v2/"


@pytest.fixture
def api_key(gw, world):
    return services.open311_client_create(name="12345热线", org=world.county).api_key


def post(client, **data):
    return client.post(BASE + "requests.json", data)


def test_open311_is_mounted_under_the_app_and_at_its_conventional_place(gw, client):
    assert reverse("grids:open311_services", kwargs={"fmt": "json"}) == BASE + "services.json"
    assert reverse("grids:open311_services", kwargs={"fmt": "xml"}) == BASE + "services.xml"
    assert client.get("/open311/v2/services.xml").status_code == 200
    assert client.get(BASE + "services.html").status_code == 404  # only the spec's two formats


def test_services_list_follows_the_spec(gw, client):
    data = client.get(BASE + "services.json").json()
    assert [s["service_code"] for s in data] == ["101", "201", "301"]
    assert set(data[0]) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    assert data[0]["service_name"] == "道路破损" and data[0]["metadata"] is False and data[0]["type"] == "realtime"


def test_service_definition(gw, client):
    assert client.get(BASE + "services/101.json").json() == {"service_code": "101", "attributes": []}
    response = client.get(BASE + "services/999.json")
    assert response.status_code == 404 and response.json()[0]["code"] == 404


def test_post_a_request_and_read_it_back(gw, world, client, api_key):
    # the spec's POST example: api_key, service_code, lat, long, address_string, email, names, phone, description
    response = post(client, api_key=api_key, service_code="101", lat=LAT, long=LNG,
                    address_string="河滨路1号附近", email="smit222@sfgov.edu", first_name="John", last_name="Smith",
                    phone="13805731234", description="A large sinkhole is destroying the street",
                    media_url="http://example.org/hole.jpg")
    assert response.status_code == 200
    [created] = response.json()
    case = Case.objects.get(number=created["service_request_id"])
    assert case.source == "open311" and case.grid == gw.grid_a and case.media_url == "http://example.org/hole.jpg"
    [read] = client.get(BASE + f"requests/{case.number}.json").json()
    assert read["status"] == "open" and read["service_code"] == "101" and read["lat"] == round(LAT, 3)  # public
    assert read["status_notes"] == "已派遣" and read["agency_responsible"] == "河滨社区"
    assert read["expected_datetime"] is not None and "Smith" not in str(read) and "1234" not in str(read)


def test_closed_states_map_to_closed_with_notes(gw, world, client, api_key):
    number = post(client, api_key=api_key, service_code="101", lat=LAT, long=LNG, description="路灯坏").json()[0][
        "service_request_id"]
    case = Case.objects.get(number=number)
    for step in (services.case_accept, services.case_start):
        case = step(case=case, actor=world.grid_worker)
    case = services.case_report_back(case=case, actor=world.grid_worker, note="已换灯泡")
    case = services.case_verify(case=case, actor=world.hebin_secretary, passed=True)
    services.case_close(case=case, actor=world.hebin_secretary, outcome="explained", note="线路改造中，月底恢复")
    [read] = client.get(BASE + f"requests/{number}.json").json()
    assert read["status"] == "closed" and read["status_notes"] == "已结案：已解释（无法解决）。线路改造中，月底恢复"


def test_requests_filters(gw, world, client, api_key):
    a = post(client, api_key=api_key, service_code="101", lat=LAT, long=LNG, description="一").json()[0]
    b = post(client, api_key=api_key, service_code="301", lat=LAT, long=LNG, description="二").json()[0]
    ids = lambda r: [x["service_request_id"] for x in r.json()]  # noqa: E731
    assert ids(client.get(BASE + "requests.json")) == [b["service_request_id"], a["service_request_id"]]
    assert ids(client.get(BASE + "requests.json", {"service_code": "301"})) == [b["service_request_id"]]
    assert ids(client.get(BASE + "requests.json", {"status": "closed"})) == []
    assert len(ids(client.get(BASE + "requests.json", {"status": "open"}))) == 2
    assert ids(client.get(BASE + "requests.json", {"service_request_id": a["service_request_id"],
                                                  "service_code": "301"})) == [a["service_request_id"]]
    assert ids(client.get(BASE + "requests.json", {"start_date": "2000-01-01T00:00:00Z",
                                                  "end_date": "2000-02-01T00:00:00Z"})) == []


@pytest.mark.parametrize("params, message", [
    ({"start_date": "yesterday"}, "start_date"),
    ({"status": "pending"}, "status"),
    ({"start_date": "2020-02-01T00:00:00Z", "end_date": "2020-01-01T00:00:00Z"}, "after"),
])
def test_bad_filters_answer_400_in_the_spec_format(gw, client, params, message):
    response = client.get(BASE + "requests.json", params)
    assert response.status_code == 400
    [err] = response.json()
    assert err["code"] == 400 and message in err["description"]


@pytest.mark.parametrize("data, status, message", [
    ({"service_code": "999", "lat": LAT, "long": LNG, "description": "x"}, 400, "service_code 999 not found"),
    ({"lat": LAT, "long": LNG, "description": "x"}, 400, "service_code is required"),
    ({"service_code": "101", "description": "x"}, 400, "location is required"),
    ({"service_code": "101", "lat": "abc", "long": LNG, "description": "x"}, 400, "经纬度"),
    ({"service_code": "101", "lat": LAT, "long": LNG, "description": ""}, 400, "不能为空"),
    ({"service_code": "101", "address_string": "河滨路", "description": "x"}, 400, "send lat and long"),
])
def test_bad_posts_answer_400_and_write_nothing(gw, client, api_key, data, status, message):
    response = post(client, api_key=api_key, **data)
    assert response.status_code == status
    [err] = response.json()
    assert err["code"] == status and message in err["description"]
    assert not Case.objects.exists()


def test_post_needs_a_valid_api_key(gw, client):
    response = post(client, api_key="nope", service_code="101", lat=LAT, long=LNG, description="x")
    assert response.status_code == 403 and response.json()[0]["code"] == 403
    assert not Case.objects.exists()


def test_a_client_cannot_report_outside_its_area(gw, world, client):
    key = services.open311_client_create(name="秦山App", org=world.qinshan).api_key
    response = post(client, api_key=key, service_code="101", lat=LAT, long=LNG, description="x")
    assert response.status_code == 400 and "outside" in response.json()[0]["description"]


def test_a_point_outside_every_grid_lands_in_the_nearest_community_flagged(gw, world, client, api_key):
    response = post(client, api_key=api_key, service_code="101", lat=FAR[0], long=FAR[1], description="远处")
    assert response.status_code == 200
    case = Case.objects.get()
    assert case.outside_grids and case.org == world.hebin


def test_unknown_request_is_404_in_the_spec_format(gw, client):
    response = client.get(BASE + "requests/nope.json")
    assert response.status_code == 404 and response.json() == [
        {"code": 404, "description": "service_request_id nope not found"}]


# ---- the spec's XML format -----------------------------------------------------------------------------------------

REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"]


def xml(response):
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def test_services_xml_follows_the_spec_example(gw, client):
    # the spec: <services><service><service_code>001</service_code><service_name>…<metadata>true</metadata>…
    root = xml(client.get(BASE + "services.xml"))
    assert root.tag == "services" and [s.tag for s in root] == ["service"] * 3
    first = root[0]
    assert [c.tag for c in first] == ["service_code", "service_name", "description", "metadata", "type", "keywords",
                                      "group"]
    assert first.findtext("service_code") == "101" and first.findtext("service_name") == "道路破损"
    assert first.findtext("metadata") == "false" and first.findtext("type") == "realtime"
    assert first.findtext("group") == "市政"


def test_service_definition_xml(gw, client):
    # the spec: <service_definition><service_code>DMV66</service_code><attributes>…</attributes></service_definition>
    root = xml(client.get(BASE + "services/101.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "101"
    assert root.find("attributes") is not None and list(root.find("attributes")) == []


def test_post_and_read_a_request_in_xml(gw, client, api_key):
    # the spec's POST example, answered as <service_requests><request><service_request_id>…<account_id/>
    response = client.post(BASE + "requests.xml", {
        "api_key": api_key, "service_code": "101", "lat": LAT, "long": LNG, "address_string": "1234 5th street",
        "email": "smit222@sfgov.edu", "device_id": "tt222111", "first_name": "john", "last_name": "smith",
        "description": "A large sinkhole is destroying the street",
        "media_url": "http://city.gov.s3.amazonaws.com/requests/media/638344.jpg"})
    assert response.status_code == 200
    root = xml(response)
    assert root.tag == "service_requests" and root[0].tag == "request"
    number = root[0].findtext("service_request_id")
    assert [c.tag for c in root[0]] == ["service_request_id", "service_notice", "account_id"]
    assert Case.objects.get(number=number).description == "A large sinkhole is destroying the street"
    # GET requests/{id}.xml: one <request> with the spec's fields in the spec's order
    root = xml(client.get(BASE + f"requests/{number}.xml"))
    [request] = list(root)
    assert [c.tag for c in request] == REQUEST_FIELDS
    assert request.findtext("status") == "open" and request.findtext("lat") == str(round(LAT, 3))  # public
    assert request.findtext("media_url") == "http://city.gov.s3.amazonaws.com/requests/media/638344.jpg"
    assert "smith" not in response.content.decode() + ET.tostring(root, encoding="unicode")
    # GET requests.xml with the spec's filter example: start_date, end_date, status
    root = xml(client.get(BASE + "requests.xml", {"start_date": "2000-05-24T00:00:00Z",
                                                 "end_date": "2099-06-24T00:00:00Z", "status": "open"}))
    assert [r.findtext("service_request_id") for r in root] == [number]
    assert list(xml(client.get(BASE + "requests.xml", {"status": "closed"}))) == []


@pytest.mark.parametrize("method, path, data, code, message", [
    ("post", "requests.xml", {"service_code": "999", "lat": LAT, "long": LNG, "description": "x"}, "400",
     "service_code 999 not found"),
    ("post", "requests.xml", {"service_code": "101", "description": "x"}, "400", "location is required"),
    ("post", "requests.xml", {"api_key": "wrong", "service_code": "101"}, "403", "api_key"),
    ("get", "requests.xml", {"status": "pending"}, "400", "status"),
    ("get", "requests/nope.xml", {}, "404", "nope not found"),
    ("get", "services/999.xml", {}, "404", "service_code 999 not found"),
])
def test_errors_in_the_spec_xml_format(gw, client, api_key, method, path, data, code, message):
    if method == "post":
        data = {"api_key": api_key, **data}
    response = getattr(client, method)(BASE + path, data)
    assert response.status_code == int(code)
    root = xml(response)
    assert root.tag == "errors" and [e.tag for e in root] == ["error"]
    assert root[0].findtext("code") == code and message in root[0].findtext("description")
    assert not Case.objects.exists()


# ---- nothing personal in the public output -------------------------------------------------------------------------


def test_public_output_has_no_photo_and_no_reporter_data(gw, world, client, client_for):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buf, "PNG")
    client_for("resident").post(reverse("grids:report"), {
        "category": gw.quick.pk, "description": "井盖缺失", "latitude": LAT, "longitude": LNG,
        "photo": SimpleUploadedFile("my-home.png", buf.getvalue(), content_type="image/png")})
    case = Case.objects.get()
    assert case.photo and case.reporter_name
    visit = services.visit_record(household=gw.household, date=services.timezone.localdate(), notes="走访",
                                  actor=world.grid_worker,
                                  problem={"category": gw.quick, "description": "屋后排水沟堵塞"})
    for fmt in ("json", "xml"):
        body = client.get(BASE + f"requests.{fmt}").content.decode()
        assert "my-home" not in body and case.photo.name not in body and "/photo/" not in body
        assert case.reporter_name not in body and "陈大伯" not in body
    [read] = client.get(BASE + f"requests/{visit.case.number}.json").json()
    assert read["address"] == "" and read["lat"] is None and read["long"] is None  # a household's home stays private
    [read] = client.get(BASE + f"requests/{case.number}.json").json()
    assert read["media_url"] == "" and read["lat"] == round(LAT, 3)
