"""The OpenAPI schema (/api/schema/) and the API agree: documented errors, typed parameters, bodies that match.

Responses are checked against the generated schema with schemathesis' own validator, the one the bounded pass
(scripts/schemathesis.sh) uses against a live server.
"""

from __future__ import annotations

import datetime as dt

import pytest
import requests
import schemathesis
from django.core.cache import cache
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from xianfeng.campaigns import services as campaign_services
from xianfeng.campaigns.tests.factories import make_campaign
from xianfeng.inspections import services as inspection_services
from xianfeng.ledger.models import OwnerType, Unit
from xianfeng.ledger.services import account_open, ledger_post
from xianfeng.notify.services import notify

pytestmark = pytest.mark.django_db

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def openapi(db):
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture
def api(world):
    cache.clear()

    def make(persona: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(world.users[persona])
        return client

    return make


def conforms(openapi: dict, path: str, response, *, method: str = "GET") -> None:
    """Raise if `response` (a Django test response) is not what the schema documents for `method path`."""
    operation = schemathesis.openapi.from_dict(openapi)[path][method]
    request = requests.Request(method, f"http://testserver{path}").prepare()
    wrapped = schemathesis.Response(status_code=response.status_code,
                                    headers={k: [v] for k, v in response.items()}, content=response.content,
                                    request=request, elapsed=0.0, verify=True)
    operation.validate_response(wrapped)


def operations(openapi: dict):
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_every_operation_documents_the_errors_it_can_answer(openapi):
    checked = 0
    for path, method, operation in operations(openapi):
        responses = operation["responses"]
        assert {"401", "403"} <= set(responses), (method, path)
        params = operation.get("parameters", [])
        if any(p["in"] == "path" for p in params) or method != "get":
            assert "404" in responses, (method, path)
        if any(p["in"] == "query" for p in params) or method != "get":
            assert "400" in responses, (method, path)
        if method in {"post", "put", "patch", "delete"}:
            assert "409" in responses, (method, path)
        for code in ("401", "403", "404"):
            if code in responses:
                schema = responses[code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorDetail"}, (method, path, code)
        checked += 1
    assert checked > 100
    assert "429" in openapi["paths"]["/api/v1/auth/token/"]["post"]["responses"]


def test_paging_and_id_parameters_carry_their_bounds(openapi):
    params = {p["name"]: p["schema"] for p in openapi["paths"]["/api/v1/care-alerts/"]["get"]["parameters"]}
    assert params["page_size"] == {"type": "integer", "minimum": 1, "maximum": 500}
    assert params["page"] == {"type": "integer", "minimum": 1}
    assert params["org"]["type"] == "integer" and params["org"]["minimum"] == 1  # a foreign key: an id
    members = {p["name"]: p["schema"] for p in openapi["paths"]["/api/v1/members/"]["get"]["parameters"]}
    assert members["join_year"] == {"type": "integer", "minimum": 1900, "maximum": 2100}
    cockpit = openapi["paths"]["/api/v1/cockpit/{id}/"]["get"]["parameters"]
    assert [p["schema"]["type"] for p in cockpit if p["name"] == "id"] == ["integer"]


def test_a_bogus_or_missing_token_is_401_with_the_scheme():
    for headers in ({"HTTP_AUTHORIZATION": "Token 0123456789abcdef0123456789abcdef01234567"}, {}):
        response = APIClient().get("/api/v1/orgs/", **headers)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert response.json()["detail"]


def test_unrouted_api_urls_answer_json_404_and_pages_stay_html(world, api):
    client = api("county_admin")
    for url in ("/api/v1/cockpit/abc/", "/api/v1/no-such-thing/", "/api/v1/orgs/1/no-such-action/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json" and response.json()["detail"], url
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("query, field", [
    ("page_size=true", "page_size"), ("page_size=0", "page_size"), ("page_size=501", "page_size"),
    ("page=abc", "page"), ("page=", "page"), ("page=0", "page"), ("page=last", "page"),
])
def test_bad_paging_parameters_are_400_with_the_reason(world, api, query, field):
    response = api("county_admin").get(f"/api/v1/orgs/?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_a_page_past_the_end_is_404_however_large_the_number(world, api):
    for page in ("99", "4503599627370495", "3" * 40):
        assert api("county_admin").get(f"/api/v1/orgs/?page={page}").status_code == 404


def test_an_unknown_id_in_a_foreign_key_filter_matches_nothing(world, api):
    account_open(name="县积分池", owner_type=OwnerType.ORGANISATION, owner_id=world.county.pk, org=world.county,
                 unit=Unit.POINT)
    client = api("county_admin")
    assert client.get(f"/api/v1/ledger-accounts/?org={world.county.pk}").json()["count"] == 1
    response = client.get("/api/v1/ledger-accounts/?org=987654321")
    assert response.status_code == 200 and response.json()["count"] == 0
    assert client.get("/api/v1/ledger-accounts/?org=0").status_code == 400


def test_notification_counts_match_the_schema(world, api, openapi):
    notify(to=world.county_admin, kind="test", subject="通知", key="schema-test")
    client = api("county_admin")
    unread = client.get("/api/v1/notifications/unread_count/")
    assert unread.json() == {"unread": 1}
    conforms(openapi, "/api/v1/notifications/unread_count/", unread)
    marked = client.post("/api/v1/notifications/read-all/")
    assert marked.json() == {"marked": 1}
    conforms(openapi, "/api/v1/notifications/read-all/", marked, method="POST")
    assert "requestBody" not in openapi["paths"]["/api/v1/notifications/read-all/"]["post"]


def test_the_progress_matrix_matches_the_schema(world, api, openapi):
    campaign = make_campaign(world)
    response = api("county_admin").get(f"/api/v1/campaigns/{campaign.pk}/matrix/")
    assert response.json()["rows"]
    conforms(openapi, "/api/v1/campaigns/{id}/matrix/", response)
    assert api("county_admin").get(f"/api/v1/campaigns/{campaign.pk}/matrix/?laggards=yes").status_code == 400


def test_a_meeting_with_an_open_follow_up_matches_the_schema(world, api, openapi):
    campaign_services.meeting_record(org=world.county, kind="leading_group", date=timezone.localdate(),
                                     title="领导小组会议", follow_ups=[{"org": world.wuyuan, "text": "制定方案",
                                                                   "due": timezone.localdate() + dt.timedelta(days=7)}],
                                     actor=world.county_admin)
    response = api("county_admin").get("/api/v1/campaign-meetings/")
    assert response.json()["results"][0]["follow_ups"][0]["done_on"] is None
    conforms(openapi, "/api/v1/campaign-meetings/", response)


def test_a_ledger_statement_matches_the_schema(world, api, openapi):
    pool = account_open(name="县积分池", owner_type=OwnerType.ORGANISATION, owner_id=world.county.pk,
                        org=world.county, unit=Unit.POINT)
    mine = account_open(name="积分", owner_type=OwnerType.MEMBER, owner_id=world.members["hebin_a"].pk,
                        org=world.hebin_branch, unit=Unit.POINT, floor=0)
    ledger_post(entries=[(pool, -5), (mine, 5)], memo="积分奖励", kind="points.award", key="t1")
    response = api("county_admin").get(f"/api/v1/ledger-accounts/{mine.pk}/statement/")
    assert response.json()["results"][0]["amount"] == 5
    conforms(openapi, "/api/v1/ledger-accounts/{id}/statement/", response)


def test_inspection_rates_are_a_plain_list_as_the_schema_says(world, api, openapi):
    inspection = inspection_services.inspection_create(
        org=world.county, name="现场点评", group_name="第七组", start=dt.date(2026, 9, 13), end=dt.date(2026, 9, 20),
        leader=world.inspector, reported_by="海盐县委", actor=world.inspector)
    response = api("inspector").get(f"/api/v1/inspections/{inspection.pk}/rates/")
    assert isinstance(response.json(), list)
    conforms(openapi, "/api/v1/inspections/{id}/rates/", response)
    params = openapi["paths"]["/api/v1/inspections/{id}/rates/"]["get"].get("parameters", [])
    assert {p["name"] for p in params} == {"id"}


def test_boolean_filters_take_true_or_false_and_empty_filters_are_documented(world, api, openapi):
    client = api("county_admin")
    assert client.get("/api/v1/contact-points/?open=true").status_code == 200
    assert client.get("/api/v1/contact-points/?open=").status_code == 200  # empty: not filtered
    response = client.get("/api/v1/contact-points/?open=yes")
    assert response.status_code == 400 and list(response.json()) == ["open"]
    params = {p["name"]: p for p in openapi["paths"]["/api/v1/contact-points/"]["get"]["parameters"]}
    assert params["open"]["allowEmptyValue"] is True and params["kind"]["allowEmptyValue"] is True
    assert "allowEmptyValue" not in params["page"]


def test_the_leaderboard_documents_its_answers(world, api, openapi):
    client = api("county_admin")
    assert client.get("/api/v1/points-leaderboard/?org=abc").status_code == 400
    assert client.get("/api/v1/points-leaderboard/?org=0").status_code == 404
    ok = client.get(f"/api/v1/points-leaderboard/?org={world.hebin.pk}")
    conforms(openapi, "/api/v1/points-leaderboard/", ok)
    assert {"200", "400", "404"} <= set(openapi["paths"]["/api/v1/points-leaderboard/"]["get"]["responses"])


def test_action_answers_document_their_bodies(openapi):
    paths = openapi["paths"]
    for action in ("acknowledge", "arrive", "resolve"):
        operation = paths[f"/api/v1/care-alerts/{{id}}/{action}/"]["post"]
        assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Alert"}, action
        assert ("requestBody" in operation) == (action == "resolve"), action
    for path in ("/api/v1/campaigns/", "/api/v1/award-rounds/", "/api/v1/ventures/", "/api/v1/votes/"):
        assert "content" in paths[path]["post"]["responses"]["201"], path


def test_the_demand_board_declares_and_checks_its_filters(world, api, openapi):
    params = {p["name"]: p["schema"] for p in openapi["paths"]["/api/v1/demands/"]["get"]["parameters"]}
    assert {"status", "category", "urgency", "days", "when", "org", "lat", "lng", "km", "sort"} <= set(params)
    assert params["org"]["anyOf"][0] == {"type": "integer", "minimum": 1}
    client = api("county_admin")
    assert client.get("/api/v1/demands/?org=&status=").status_code == 200  # empty: not filtered
    for query in ("org=abc", "org=0", "days=0", "status=nope", "sort=far", "lat=30.5"):
        assert client.get(f"/api/v1/demands/?{query}").status_code == 400, query
