"""Sign-in throttling shared by the sign-in page and the API token endpoint."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from .audit import audit_record
from .models import LoginFailure


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def clean_username(value: object) -> str:
    """The username as the throttle stores it: trimmed, lower case, ≤ 150 characters, no NUL or lone surrogate."""
    text = value.strip().lower()[:150] if isinstance(value, str) else ""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def login_locked(username: str, ip: str | None) -> bool:
    """Too many recent failures for this username (LOGIN_MAX_FAILURES) or this address (four times as many)."""
    since = timezone.now() - dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    recent = LoginFailure.objects.filter(at__gte=since)
    by_name = recent.filter(username=clean_username(username)).count()
    by_ip = recent.filter(ip=ip).count() if ip else 0
    return by_name >= settings.LOGIN_MAX_FAILURES or by_ip >= settings.LOGIN_MAX_FAILURES * 4


def login_failure_record(*, username: str, ip: str | None, where: str = "") -> None:
    """Count one failed sign-in, audit it, and prune failures older than twice the lockout window."""
    username = clean_username(username)
    if not username:
        return
    LoginFailure.objects.create(username=username, ip=ip)
    audit_record(by=None, action="login_failed", model="orgs.User", object_id=username,
                 summary=f"{where}登录失败 {username}", ip=ip)
    old = timezone.now() - dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS * 2)
    LoginFailure.objects.filter(at__lt=old).delete()
