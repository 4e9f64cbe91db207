"""The admin cannot bypass the services: every registered model that a services module writes is read-only there.

Which models that is, is read from the code: a model named in any app's services module (`<app>/services*.py`) is
written by services (or read by them to decide a write), so the admin must not add, change or delete it. The one way
out is an admin whose writes call the services themselves (listed below, and checked to override every write it
allows)."""

import ast
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.admin import ModelAdmin
from django.test import RequestFactory

import xianfeng
from xianfeng.orgs.models import User

PACKAGE = Path(xianfeng.__file__).parent


def _names_in_services() -> set[str]:
    names: set[str] = set()
    for path in [*PACKAGE.glob("*/services*.py"), *PACKAGE.glob("*/services/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
    return names


SERVICE_NAMES = _names_in_services()
SERVICE_MODELS = [(model, model_admin) for model, model_admin in admin.site._registry.items()
                  if model.__name__ in SERVICE_NAMES and model.__module__.startswith("xianfeng.")]

# Admins whose save and delete call the services (validated and audited) instead of writing the row themselves.
WRITES_THROUGH_SERVICES = {"grids.CaseCategory", "grids.WorkCalendarDay"}


def _superuser_request():
    request = RequestFactory().get("/admin/")
    request.user = User(username="root", is_superuser=True, is_staff=True, is_active=True)
    return request


def test_the_generated_list_holds_the_models_the_issue_names():
    labels = {model._meta.label for model, _admin in SERVICE_MODELS}
    assert {"orgs.Organisation", "orgs.Member", "orgs.Role", "orgs.ContactPoint", "orgs.GuidanceGroup"} <= labels
    assert len(labels) >= 30


@pytest.mark.parametrize("model, model_admin", SERVICE_MODELS,
                         ids=[model._meta.label for model, _admin in SERVICE_MODELS])
def test_a_model_written_by_services_is_read_only_in_the_admin_even_for_a_superuser(model, model_admin):
    request = _superuser_request()
    allowed = {
        "add": model_admin.has_add_permission(request),
        "change": model_admin.has_change_permission(request),
        "delete": model_admin.has_delete_permission(request),
    }
    if model._meta.label in WRITES_THROUGH_SERVICES:
        own = type(model_admin).__dict__
        if allowed["add"] or allowed["change"]:
            assert "save_model" in own, f"{model._meta.label}: the admin writes without a service"
        if allowed["delete"]:
            assert {"delete_model", "delete_queryset"} <= own.keys(), f"{model._meta.label}: deletes without a service"
        return
    assert allowed == {"add": False, "change": False, "delete": False}  # so its inlines are shown read-only too


def test_the_exceptions_are_real_admins_that_call_services():
    registered = {model._meta.label: model_admin for model, model_admin in admin.site._registry.items()}
    for label in WRITES_THROUGH_SERVICES:
        assert type(registered[label]).save_model is not ModelAdmin.save_model


@pytest.mark.django_db
def test_a_superuser_cannot_re_parent_an_organisation_through_the_admin(world, client):
    root = User.objects.create_superuser("root", "root@example.org", "a-long-pass-123")
    client.force_login(root)
    hebin, qinshan = world.hebin, world.qinshan
    path_before = hebin.path
    url = f"/admin/orgs/organisation/{hebin.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200  # it may be looked at
    assert 'name="parent"' not in page.content.decode() and 'name="name"' not in page.content.decode()
    response = client.post(url, {"name": "改名", "parent": qinshan.pk, "code": hebin.code, "kind": hebin.kind})
    assert response.status_code == 403
    hebin.refresh_from_db()
    assert (hebin.path, hebin.parent_id, hebin.name) == (path_before, world.wuyuan.pk, "河滨社区")
    assert client.get("/admin/orgs/role/add/").status_code == 403
    role = world.hebin_secretary.roles.first()
    assert client.post(f"/admin/orgs/role/{role.pk}/delete/", {"post": "yes"}).status_code == 403
    assert world.hebin_secretary.roles.filter(pk=role.pk).exists()
