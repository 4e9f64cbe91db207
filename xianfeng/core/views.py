"""Pages that belong to no module: home, sign-in with throttling, health check."""

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import LoginFailure
from .audit import audit_record


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def login_locked(username: str, ip: str | None) -> bool:
    """Too many recent failures for this username or this address."""
    since = timezone.now() - dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    recent = LoginFailure.objects.filter(at__gte=since)
    by_name = recent.filter(username=username.lower()).count()
    by_ip = recent.filter(ip=ip).count() if ip else 0
    return by_name >= settings.LOGIN_MAX_FAILURES or by_ip >= settings.LOGIN_MAX_FAILURES * 4


class ThrottledLoginView(auth_views.LoginView):
    """Django's sign-in, refusing a username or address after repeated failures within the lockout window."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        username = (request.POST.get("username") or "").strip()
        if login_locked(username, client_ip(request)):
            form = self.get_form()
            form.errors.clear()
            messages.error(request, _("Too many failed sign-ins. Try again in 15 minutes."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        username = (self.request.POST.get("username") or "").strip().lower()[:150]
        LoginFailure.objects.create(username=username, ip=client_ip(self.request))
        audit_record(by=None, action="login_failed", model="orgs.User", object_id=username,
                     summary=f"登录失败 {username}", ip=client_ip(self.request))
        old = timezone.now() - dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS * 2)
        LoginFailure.objects.filter(Q(at__lt=old)).delete()
        return super().form_invalid(form)


@login_required
def home(request):
    roles = request.user.roles.select_related("org").order_by("org__path")
    return render(request, "core/home.html", {"roles": roles})


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
