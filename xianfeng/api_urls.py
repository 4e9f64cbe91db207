"""/api/v1/: every app registers its viewsets on the one router."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from xianfeng.orgs import api as orgs_api

router = DefaultRouter()
orgs_api.register(router)

urlpatterns = [
    path("auth/token/", orgs_api.ThrottledObtainAuthToken.as_view(), name="api-token"),
    path("", include(router.urls)),
]
