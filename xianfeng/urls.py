"""URL map: the core pages, then every xianfeng app whose AppConfig names a `url_prefix` (its urls.py mounted there)."""

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from xianfeng.core import views as core_views
from xianfeng.core.media import public_media
from xianfeng.grids.urls import open311_patterns

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("accounts/login/", core_views.ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/locks/", core_views.login_locks, name="login_locks"),
    path("accounts/locks/lift/", core_views.login_lock_lift_view, name="login_lock_lift"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("xianfeng.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # the split view serves Swagger UI's set-up script as a file: the Content-Security-Policy forbids inline script
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("open311/v2/", include((open311_patterns, "open311"))),  # Open311 GeoReport v2 at its conventional place
    path("media/<path:path>", public_media, name="public_media"),  # public uploads only (core/media.py)
]

urlpatterns += [
    path(prefix, include(f"{config.name}.urls"))
    for config in apps.get_app_configs()
    if config.name.startswith("xianfeng.") and (prefix := getattr(config, "url_prefix", None))
]

handler404 = "xianfeng.core.api.not_found"  # JSON under /api/
