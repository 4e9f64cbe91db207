"""Sign-in throttling shared by the sign-in page and the API token endpoint.

A username is locked after LOGIN_MAX_FAILURES failures; the lock lasts LOGIN_LOCKOUT_SECONDS and doubles with every
further failure after it (up to LOGIN_LOCKOUT_MAX_SECONDS). An address is counted only for usernames that do not
exist: many made-up names from one address lock that address's failed attempts, never a real user's right password.
Each failure is also an audit row, which stays when an administrator lifts a lock.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import audit_record
from .models import LoginFailure
from .scoping import is_system_admin


def _valid_ip(value: str) -> str | None:
    """The address in `value` (also `1.2.3.4:port` and `[v6]:port`, as some proxies write them), or None."""
    value = value.strip()
    if value.startswith("[") and "]" in value:
        value = value[1:value.index("]")]
    elif value.count(":") == 1:
        value = value.split(":")[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the X-Forwarded-For entry that the
    outermost trusted proxy wrote (read from the right; anything a client put further left is ignored)."""
    remote = _valid_ip(request.META.get("REMOTE_ADDR") or "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = [part for part in (request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",") if part.strip()]
    chain = forwarded + [remote or ""]
    # chain[-1] is the nearest proxy, chain[-hops] the outermost trusted one; the entry before it is the client.
    index = len(chain) - hops - 1
    if index < 0:  # fewer hops than configured: the request did not pass every proxy, take the farthest seen
        index = 0
    return _valid_ip(chain[index]) or remote


def clean_username(value: object) -> str:
    """The username as the throttle stores it: trimmed, lower case, ≤ 150 characters, no NUL or lone surrogate."""
    text = value.strip().lower()[:150] if isinstance(value, str) else ""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _known_usernames():
    return get_user_model()._default_manager.annotate(lower=Lower("username")).values("lower")


def username_exists(username: str) -> bool:
    username = clean_username(username)
    return bool(username) and _known_usernames().filter(lower=username).exists()


def lock_seconds(failures: int) -> int:
    """How long a username stays locked after its `failures`-th failure (0 below the limit)."""
    over = failures - settings.LOGIN_MAX_FAILURES
    if over < 0:
        return 0
    return int(min(settings.LOGIN_LOCKOUT_SECONDS * 2 ** min(over, 32), settings.LOGIN_LOCKOUT_MAX_SECONDS))


def _memory_start() -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=settings.LOGIN_LOCKOUT_MAX_SECONDS)


def username_wait(username: str) -> int:
    """Seconds until `username` may try again (0 = now)."""
    username = clean_username(username)
    if not username:
        return 0
    row = LoginFailure.objects.filter(username=username, at__gte=_memory_start()).aggregate(n=Count("id"),
                                                                                          last=Max("at"))
    if not row["n"]:
        return 0
    until = row["last"] + dt.timedelta(seconds=lock_seconds(row["n"]))
    return max(0, math.ceil((until - timezone.now()).total_seconds()))


def address_wait(ip: str | None) -> int:
    """Seconds until failed attempts from `ip` are answered normally again (0 = now): the address is locked after
    LOGIN_ADDRESS_MAX_FAILURES failures for unknown usernames within LOGIN_LOCKOUT_SECONDS."""
    if not ip:
        return 0
    window = dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    recent = (LoginFailure.objects.filter(ip=ip, at__gte=timezone.now() - window)
              .exclude(username__in=_known_usernames()))
    row = recent.aggregate(n=Count("id"), last=Max("at"))
    if (row["n"] or 0) < settings.LOGIN_ADDRESS_MAX_FAILURES:
        return 0
    return max(0, math.ceil((row["last"] + window - timezone.now()).total_seconds()))


def wait_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return _("Too many failed sign-ins. Try again in %(minutes)d minutes.") % {"minutes": minutes}


def login_failure_record(*, username: str, ip: str | None, where: str = "") -> None:
    """Count one failed sign-in, audit it, and prune failures older than the longest lock."""
    username = clean_username(username)
    if not username:
        return
    LoginFailure.objects.create(username=username, ip=ip)
    audit_record(by=None, action="login_failed", model="orgs.User", object_id=username,
                 summary=f"{where}登录失败 {username}", ip=ip)
    LoginFailure.objects.filter(at__lt=_memory_start()).delete()


def login_success_record(*, username: str) -> None:
    """A right password ends the username's run of failures (their audit rows stay)."""
    LoginFailure.objects.filter(username=clean_username(username)).delete()


@dataclass
class Lock:
    """A username or an address that is locked now, for the administrators' page."""

    kind: str  # "username" or "address"
    value: str
    failures: int
    last: dt.datetime
    wait: int

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.wait / 60))


def current_locks() -> list[Lock]:
    """Every username and address locked right now, longest wait first."""
    locks: list[Lock] = []
    since = _memory_start()
    names = (LoginFailure.objects.filter(at__gte=since).values("username")
             .annotate(n=Count("id"), last=Max("at")).filter(n__gte=settings.LOGIN_MAX_FAILURES))
    for row in names:
        wait = username_wait(row["username"])
        if wait:
            locks.append(Lock("username", row["username"], row["n"], row["last"], wait))
    window_start = timezone.now() - dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    addresses = (LoginFailure.objects.filter(at__gte=window_start, ip__isnull=False)
                 .exclude(username__in=_known_usernames()).values("ip")
                 .annotate(n=Count("id"), last=Max("at")).filter(n__gte=settings.LOGIN_ADDRESS_MAX_FAILURES))
    for row in addresses:
        wait = address_wait(row["ip"])
        if wait:
            locks.append(Lock("address", row["ip"], row["n"], row["last"], wait))
    return sorted(locks, key=lambda lock: (-lock.wait, lock.kind, lock.value))


@transaction.atomic
def login_lock_lift(*, actor, kind: str, value: str, ip: str | None = None) -> int:
    """Lift the lock on a username or an address (system administrators only). Returns how many counted failures
    were cleared; the failures' audit rows stay, and the lifting is audited too. Raises ValidationError."""
    if not is_system_admin(actor):
        raise ValidationError(_("Only a county administrator may lift a sign-in lock."))
    if kind == "username":
        value = clean_username(value)
        rows = LoginFailure.objects.filter(username=value) if value else LoginFailure.objects.none()
    elif kind == "address":
        value = _valid_ip(value or "") or ""
        rows = (LoginFailure.objects.filter(ip=value).exclude(username__in=_known_usernames()) if value
                else LoginFailure.objects.none())
    else:
        raise ValidationError(_("Unknown kind of lock."))
    if not value:
        raise ValidationError(_("Give a username or an address."))
    cleared, _detail = rows.delete()
    if not cleared:
        raise ValidationError(_("Nothing is locked under %(value)s.") % {"value": value})
    audit_record(by=actor, action="delete", model="core.LoginFailure", object_id=value,
                 summary=f"解除登录锁定 {value}（清除 {cleared} 次失败计数）", ip=ip)
    return cleared
