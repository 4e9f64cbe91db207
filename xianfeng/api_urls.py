"""/api/v1/: every xianfeng app with an `api.py` registers its viewsets on the one router through `register(router)`."""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from xianfeng.orgs import api as orgs_api

router = DefaultRouter()
for config in apps.get_app_configs():
    if config.name.startswith("xianfeng.") and find_spec(f"{config.name}.api") is not None:
        module = import_module(f"{config.name}.api")
        if hasattr(module, "register"):
            module.register(router)

urlpatterns = [
    path("auth/token/", orgs_api.ThrottledObtainAuthToken.as_view(), name="api-token"),
    path("", include(router.urls)),
]
