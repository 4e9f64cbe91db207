"""The API's error shape (xianfeng.core.api): field errors, one 404 body, no 500 for what the database refuses."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from xianfeng.core.api import (
    Pagination,
    ScopedViewSetMixin,
    StrictInputSerializer,
    encodable,
    exception_handler,
    scoped_get,
)
from xianfeng.orgs import services
from xianfeng.orgs.models import Member, Organisation

RAISES = {
    "field": DjangoValidationError({"name": ["姓名为空"], "__all__": ["整体不对"]}),
    "message": DjangoValidationError("党员已在该组织"),
    "messages": DjangoValidationError(["第一条", "第二条"]),
    "missing": Http404("No Member matches the given query."),
    "forbidden": DjangoPermissionDenied(),
    "integrity": IntegrityError("UNIQUE constraint failed: orgs_organisation.code"),
    "data": DataError("value too long for type character varying(100)"),
}


@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def raising_view(request, kind):
    raise RAISES[kind]


def call(kind: str):
    response = raising_view(APIRequestFactory().get("/"), kind=kind)
    response.render()
    return response.status_code, json.loads(response.content)


def test_django_validation_errors_become_400_with_field_errors():
    assert call("field") == (400, {"name": ["姓名为空"], "non_field_errors": ["整体不对"]})
    assert call("message") == (400, {"non_field_errors": ["党员已在该组织"]})
    assert call("messages") == (400, {"non_field_errors": ["第一条", "第二条"]})


def test_every_404_has_the_same_body_and_names_no_model():
    status, body = call("missing")
    assert status == 404
    assert "Member" not in json.dumps(body)
    assert set(body) == {"detail"}


def test_permission_denied_is_403():
    assert call("forbidden")[0] == 403


def test_what_the_database_refuses_is_not_a_500(caplog):
    status, body = call("integrity")
    assert status == 409 and body["detail"]
    assert "orgs_organisation" not in json.dumps(body)  # no table names leak
    status, body = call("data")
    assert status == 400 and body["non_field_errors"]
    assert "integrity error answered as 409" in caplog.text  # logged: a repeatable one is a missing check


def test_other_exceptions_are_left_to_django():
    assert exception_handler(ValueError("bug"), {}) is None


def test_error_details_are_made_encodable():
    detail = serializers.ErrorDetail('"\ud800" is not a valid choice.', code="invalid_choice")
    clean = encodable({"category\udc00": [detail], "n": 3})
    assert clean == {"category?": ['"?" is not a valid choice.'], "n": 3}
    assert clean["category?"][0].code == "invalid_choice"
    json.dumps(clean, ensure_ascii=False).encode("utf-8")
    assert encodable("fine 文字") == "fine 文字"


@pytest.mark.django_db
def test_an_echoed_lone_surrogate_is_a_400_not_a_500(world):
    client = APIClient()
    client.force_login(world.county_admin)
    body = json.dumps({"category": "\ud800", "on_the_job": "\ud800", "\udc00key": 1})
    response = client.post("/api/v1/members/", body, content_type="application/json")
    assert response.status_code == 400
    errors = response.json()
    assert {"category", "on_the_job", "?key", "name"} <= set(errors)


@pytest.mark.django_db
def test_a_database_race_through_the_api_is_409_and_writes_nothing(world, monkeypatch):
    def racing_create(**kwargs):
        raise IntegrityError("UNIQUE constraint failed: orgs_organisation.code")

    monkeypatch.setattr(services, "org_create", racing_create)
    client = APIClient()
    client.force_login(world.county_admin)
    before = Organisation.objects.count()
    response = client.post("/api/v1/orgs/", {"name": "新村", "code": "X1", "kind": "village",
                                             "parent": world.wuyuan.pk}, format="json")
    assert response.status_code == 409
    assert Organisation.objects.count() == before


class Input(StrictInputSerializer):
    name = serializers.CharField()
    age = serializers.IntegerField(required=False)


def test_strict_input_refuses_unknown_keys_together_with_field_errors():
    s = Input(data={"nmae": "x", "age": "old"})
    assert not s.is_valid()
    assert set(s.errors) == {"nmae", "name", "age"}
    s = Input(data={"name": "x", "colour": "red"})
    assert not s.is_valid() and set(s.errors) == {"colour"}
    s = Input(data={"name": "x", "csrfmiddlewaretoken": "t"})
    assert s.is_valid() and s.validated_data == {"name": "x"}
    s = Input(data=["name"])
    assert not s.is_valid() and "non_field_errors" in s.errors
    s = Input(data={"k" * 500: 1, "name": "x"})
    assert not s.is_valid() and list(s.errors) == ["k" * 100]


@pytest.mark.django_db
def test_scoped_get_answers_404_for_missing_out_of_scope_and_malformed(world):
    hebin_a = world.members["hebin_a"]
    assert scoped_get(Member.objects, world.hebin_secretary, "view", hebin_a.pk) == hebin_a
    for user, action, pk in [
        (world.qinshan_secretary, "view", hebin_a.pk),  # out of scope
        (world.inspector, "change", hebin_a.pk),  # visible, but not changeable
        (world.county_admin, "view", 987654321),  # missing
        (world.county_admin, "view", "abc"),  # malformed
        (world.county_admin, "view", None),
    ]:
        with pytest.raises(Http404):
            scoped_get(Member.objects, user, action, pk)


def test_scoped_viewsets_pick_the_scope_action_per_viewset_action():
    class View(ScopedViewSetMixin):
        scope_actions = {"move": "admin"}

    view = View()
    view.action = "move"
    assert view.get_scope_action() == "admin"
    view.action = "list"
    assert view.get_scope_action() == "view"
    view.action = None  # e.g. an OPTIONS request
    assert view.get_scope_action() == "view"


def test_page_size_can_be_asked_for_up_to_a_cap_and_anything_else_is_refused():
    factory = APIRequestFactory()
    pagination = Pagination()
    assert pagination.get_page_size(Request(factory.get("/?page_size=20"))) == 20
    assert pagination.get_page_size(Request(factory.get("/?page_size=500"))) == 500
    assert pagination.get_page_size(Request(factory.get("/"))) == 50
    for bad in ("100000", "501", "-4", "0", "true", "", " 5", "5_0", "٥"):
        with pytest.raises(exceptions.ValidationError) as refused:
            pagination.get_page_size(Request(factory.get("/", {"page_size": bad})))
        assert refused.value.detail == {"page_size": ["须为 1 到 500 之间的整数"]}


def test_an_integer_column_filter_takes_whole_numbers_only(world):
    """`filterset_fields` on an integer column (ledger accounts' owner_id) used to accept 0.5 and answer 200."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(world.users["county_admin"])
    assert client.get("/api/v1/ledger-accounts/", {"owner_id": "0.5"}).status_code == 400
    assert client.get("/api/v1/ledger-accounts/", {"owner_id": "abc"}).status_code == 400
    assert client.get("/api/v1/ledger-accounts/", {"owner_id": "3"}).status_code == 200
