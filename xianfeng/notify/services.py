"""Notifications: one call for every module, `notify(to=user, kind=…, subject=…, body=…, link=…, key=…)`.

The same key twice sends once. The inbox row and one Delivery per chosen channel are written in the caller's
transaction, together with a background job for each channel that leaves the building (e-mail, SMS, webhook): the
notification exists exactly when the change that caused it commits. The worker sends; a failed try is kept as a
DeliveryAttempt and retried with exponential backoff until NOTIFY_MAX_ATTEMPTS, then the delivery is given up.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from xianfeng.core.audit import audit_record
from xianfeng.core.policy import NotAllowed, ensure, require, visible
from xianfeng.core.text import clean_text
from xianfeng.jobs.services import backoff_delay, job_schedule

from . import robots
from .gateways import SENDERS, DeliveryError, check_public_url
from .models import (
    ANY_KIND,
    Channel,
    ChannelPreference,
    Delivery,
    DeliveryAttempt,
    DeliverySchedule,
    Notification,
    WebhookEndpoint,
)
from .policies import may_manage_own

logger = logging.getLogger(__name__)
DELIVER_JOB = "notify.deliver"
_KIND_RE = re.compile(r"^[a-z0-9_.\-]{1,60}$")


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def _clean_kind(kind: Any) -> str:
    kind = str(kind or "").strip()
    if not _KIND_RE.match(kind):
        raise ValidationError({"kind": ["类型须为1到60个小写字母、数字、点、横线或下划线"]})
    return kind


def _clean_link(link: Any) -> str:
    link = clean_text(link, "link", 500, required=False)
    if link and not (link.startswith("/") and not link.startswith("//")):
        try:
            URLValidator(schemes=["http", "https"])(link)
        except ValidationError:
            raise ValidationError({"link": ["链接须为站内路径（/开头）或 http(s) 地址"]}) from None
    return link


def channels_for(user: Any, kind: str, default: Iterable[str] | None = None) -> set[str]:
    """The channels `user` gets `kind` on: the user's choice for this kind; else the caller's default for the kind;
    else the user's choice for every kind ("*"); else settings.NOTIFY_DEFAULT_CHANNELS."""
    prefs = {p.kind: p for p in ChannelPreference.objects.filter(user=user, kind__in=[kind, ANY_KIND])}
    if kind in prefs:
        return prefs[kind].channels()
    if default is not None:
        return set(default) & set(Channel.values)
    if ANY_KIND in prefs:
        return prefs[ANY_KIND].channels()
    return set(_setting("NOTIFY_DEFAULT_CHANNELS", ["in_app", "email"])) & set(Channel.values)


def _targets(user: Any, channel: str) -> list[tuple[str, WebhookEndpoint | None]]:
    if channel == Channel.EMAIL:
        return [(user.email, None)] if user.email else []
    if channel in (Channel.SMS, Channel.VOICE):
        person = getattr(user, "person", None)
        return [(person.phone, None)] if person is not None and person.phone else []
    if channel == Channel.WEBHOOK:
        return [(e.url, e) for e in user.webhook_endpoints.filter(is_active=True).order_by("pk")]
    return []


@dataclass
class _Hold:
    until: dt.datetime | None = None  # quiet hours: the external deliveries wait until then
    digest: bool = False  # e-mail is held for the daily digest


def urgent(kind: str) -> bool:
    """Alerts: never held by quiet hours or the digest."""
    return kind in set(_setting("NOTIFY_URGENT_KINDS", ["care.alert"]))


def _holding(user: Any, kind: str, now: dt.datetime, channels: set[str]) -> _Hold:
    if urgent(kind) or not (channels - {Channel.IN_APP}):
        return _Hold()
    schedule = DeliverySchedule.objects.filter(user=user).first()
    if schedule is None:
        return _Hold()
    return _Hold(until=schedule.quiet_end_after(now), digest=schedule.daily_digest)


@transaction.atomic
def notify(
    *,
    to: Any,
    kind: str,
    subject: str,
    body: str = "",
    link: str = "",
    key: str,
    default_channels: Iterable[str] | None = None,
) -> Notification:
    """Notify one user. `key` (e.g. f"case:{case.pk}:escalated") makes it idempotent: a second call with the same
    key for the same user returns the first notification and sends nothing. `default_channels` is the module's
    default for this kind (e.g. SMS for one-key alerts) when the user has not chosen. Raises ValidationError."""
    User = get_user_model()
    if not isinstance(to, User) or to.pk is None:
        raise ValidationError({"to": ["收件人必须是已保存的用户"]})
    kind = _clean_kind(kind)
    subject = clean_text(subject, "subject", 200)
    body = clean_text(body, "body", 5000, required=False, multiline=True)
    link = _clean_link(link)
    key = clean_text(key, "key", 200)
    existing = Notification.objects.filter(recipient=to, key=key).first()
    if existing is not None:
        return existing
    channels = channels_for(to, kind, default_channels)
    notification = Notification(recipient=to, kind=kind, subject=subject, body=body, link=link, key=key,
                                in_app=Channel.IN_APP in channels)
    try:
        with transaction.atomic():
            notification.save()
    except IntegrityError:
        return Notification.objects.get(recipient=to, key=key)
    now = timezone.now()
    hold = _holding(to, kind, now, channels)
    if notification.in_app:
        delivered = Delivery.objects.create(notification=notification, channel=Channel.IN_APP, target=to.get_username(),
                                            status=Delivery.Status.SENT, attempts=1, sent_at=now)
        DeliveryAttempt.objects.create(delivery=delivered, ok=True, response="inbox")
    for channel in (c for c in Channel.values if c in channels and c != Channel.IN_APP):
        targets = _targets(to, channel)
        if not targets:
            Delivery.objects.create(notification=notification, channel=channel, status=Delivery.Status.SKIPPED,
                                    last_error="没有可用的地址")
            continue
        for target, endpoint in targets:
            if hold.digest and channel == Channel.EMAIL:
                Delivery.objects.create(notification=notification, channel=channel, target=target,
                                        status=Delivery.Status.HELD)
                continue
            due = hold.until or now
            delivery = Delivery.objects.create(notification=notification, channel=channel, target=target,
                                               endpoint=endpoint, next_attempt_at=due)
            job_schedule(name=DELIVER_JOB, args={"delivery_id": delivery.pk}, due_at=due,
                         key=f"{DELIVER_JOB}:{delivery.pk}:1")
    for name, args, due, job_key in robots.posts_for(kind=kind, key=key, subject=subject, body=body, link=link,
                                                     user_ids=[to.pk], now=now):
        job_schedule(name=name, args=args, due_at=due, key=job_key)
    return notification


def notify_many(*, to: Iterable[Any], kind: str, subject: str, body: str = "", link: str = "", key: str,
                default_channels: Iterable[str] | None = None) -> list[Notification]:
    """notify() for each user in `to` (the key is per user, so one key serves the whole list)."""
    with transaction.atomic():
        return [notify(to=user, kind=kind, subject=subject, body=body, link=link, key=key,
                       default_channels=default_channels) for user in to]


def notify_admins(*, kind: str, subject: str, body: str = "", link: str = "", key: str) -> list[Notification]:
    """Notify every active superuser and county administrator of a root organisation."""
    User = get_user_model()
    admins = (User.objects.filter(is_active=True)
              .filter(Q(is_superuser=True) | Q(roles__kind="county_admin", roles__org__depth=1))
              .distinct().order_by("pk"))
    return notify_many(to=list(admins), kind=kind, subject=subject, body=body, link=link, key=key)


def delivery_attempt(*, delivery_id: int) -> str:
    """Try one pending delivery once (the worker's `notify.deliver` job). Records the attempt; on failure schedules
    the next try after an exponential backoff, or gives up after NOTIFY_MAX_ATTEMPTS. Returns the new status.

    Safe to run twice: only the run that moves the attempt counter on sends, and a delivery that is no longer
    pending is left alone.
    """
    delivery = (Delivery.objects.select_related("notification", "notification__recipient",
                                                "notification__recipient__person", "endpoint")
                .filter(pk=delivery_id).first())
    if delivery is None:
        return "missing"
    if delivery.status != Delivery.Status.PENDING:
        return delivery.status
    number = delivery.attempts + 1
    if Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING, attempts=delivery.attempts).update(
            attempts=F("attempts") + 1) != 1:
        return "taken"
    started = time.monotonic()
    ok, answer, error, code, retryable = False, "", "", "", True
    delivery.provider, delivery.provider_ref = "", ""
    try:
        answer = SENDERS[delivery.channel](delivery)
        ok = True
    except DeliveryError as exc:
        error = str(exc) or type(exc).__name__
        code, retryable = str(getattr(exc, "code", "") or ""), bool(getattr(exc, "retryable", True))
    except Exception as exc:  # a broken backend is a failed try like any other, kept and retried
        error = f"{type(exc).__name__}: {exc}"
    duration = int((time.monotonic() - started) * 1000)
    now = timezone.now()
    with transaction.atomic():
        DeliveryAttempt.objects.create(delivery=delivery, ok=ok, error=error[:5000], response=answer[:500],
                                       code=code[:100], duration_ms=duration)
        current = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING)
        if ok:
            current.update(status=Delivery.Status.SENT, sent_at=now, last_error="", next_attempt_at=None,
                           provider=(delivery.provider or "")[:20], provider_ref=(delivery.provider_ref or "")[:100])
            return Delivery.Status.SENT
        if not retryable or number >= int(_setting("NOTIFY_MAX_ATTEMPTS", 6)):
            current.update(status=Delivery.Status.FAILED, last_error=error[:5000], next_attempt_at=None)
            return Delivery.Status.FAILED
        due = now + dt.timedelta(seconds=backoff_delay(number, float(_setting("NOTIFY_RETRY_SECONDS", 60))))
        current.update(last_error=error[:5000], next_attempt_at=due)
        job_schedule(name=DELIVER_JOB, args={"delivery_id": delivery.pk}, due_at=due,
                     key=f"{DELIVER_JOB}:{delivery.pk}:{number + 1}")
    return Delivery.Status.PENDING


@transaction.atomic
def notification_mark_read(*, notification: Notification, actor: Any) -> bool:
    """Mark one of `actor`'s own notifications read (anybody else's is NotFound). Returns False if it already was."""
    require(actor, "change", notification)
    now = timezone.now()
    done = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now) == 1
    if done:
        notification.read_at = now
    return done


@transaction.atomic
def notifications_mark_all_read(*, actor: Any) -> int:
    return visible(Notification.objects.unread(), actor, "change").update(read_at=timezone.now())


def _require_self(actor: Any, user: Any) -> None:
    """Channel choices and webhook endpoints are changed by their user only (anybody else: NotFound)."""
    ensure(may_manage_own(actor, user))


@transaction.atomic
def preference_set(*, user: Any, kind: str, channels: Iterable[str], actor: Any) -> ChannelPreference:
    """Choose the channels `user` gets `kind` on ("*": every kind without its own choice). Audited."""
    _require_self(actor, user)
    kind = ANY_KIND if kind == ANY_KIND else _clean_kind(kind)
    chosen = set(channels)
    unknown = chosen - set(Channel.values)
    if unknown:
        raise ValidationError({"channels": [f"未知的渠道：{', '.join(sorted(unknown))}"]})
    pref, _ = ChannelPreference.objects.get_or_create(user=user, kind=kind)
    before = sorted(pref.channels())
    for channel in Channel.values:
        setattr(pref, channel, channel in chosen)
    pref.save()
    audit_record(by=actor, action="update", obj=pref, before={"channels": before},
                 after={"channels": sorted(chosen)}, summary=f"通知偏好 {user.get_username()} {kind}")
    return pref


@transaction.atomic
def preference_clear(*, user: Any, kind: str, actor: Any) -> bool:
    """Drop `user`'s choice for `kind` (the defaults apply again)."""
    _require_self(actor, user)
    deleted, _ = ChannelPreference.objects.filter(user=user, kind=kind).delete()
    if deleted:
        audit_record(by=actor, action="delete", model="notify.ChannelPreference", object_id=f"{user.pk}:{kind}",
                     summary=f"清除通知偏好 {user.get_username()} {kind}")
    return bool(deleted)


@transaction.atomic
def webhook_endpoint_add(*, user: Any, url: str, actor: Any) -> WebhookEndpoint:
    """Register a URL that will receive `user`'s webhook notifications; a fresh signing secret is generated.
    Raises ValidationError for a URL that is not http(s) or points into the server's own network."""
    _require_self(actor, user)
    url = clean_text(url, "url", 500)
    try:
        URLValidator(schemes=["http", "https"])(url)
        check_public_url(url)
    except (ValidationError, DeliveryError) as exc:
        message = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
        raise ValidationError({"url": [message]}) from None
    if WebhookEndpoint.objects.filter(user=user, url=url).exists():
        raise ValidationError({"url": ["这个地址已经登记过"]})
    endpoint = WebhookEndpoint.objects.create(user=user, url=url, secret=secrets.token_hex(32))
    audit_record(by=actor, action="create", obj=endpoint, after={"url": url}, summary=f"登记 Webhook {url}")
    return endpoint


@transaction.atomic
def webhook_endpoint_remove(*, endpoint: WebhookEndpoint, actor: Any) -> None:
    """Stop sending to the endpoint (kept, inactive, so past deliveries still name it)."""
    require(actor, "change", endpoint)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    audit_record(by=actor, action="update", obj=endpoint, before={"is_active": True}, after={"is_active": False},
                 summary=f"停用 Webhook {endpoint.url}")


def receipts_accept(*, provider: str, token: str, body: bytes) -> int:
    """A provider's status push (the receipts endpoint; no user: the token in the address is the credential).
    Refuses a wrong token (NotAllowed) and a body of the wrong shape (ValidationError). Returns how many reports
    were kept."""
    import json

    from .receipts import parse, record

    expected = str(_setting("NOTIFY_RECEIPT_TOKEN", ""))
    if not expected or not secrets.compare_digest(expected.encode(), token.encode()):
        logger.warning("receipt push for %s refused: wrong token", provider)
        raise NotAllowed("回执地址的令牌不正确")
    try:
        reports = parse(provider, json.loads(body or b"null"))
    except (ValueError, KeyError, TypeError) as exc:
        logger.warning("receipt push for %s refused: %s", provider, exc)
        raise ValidationError(f"回执格式不正确：{exc}") from None
    return record(provider, reports)


def _clock(value: Any, name: str) -> dt.time | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.time):
        return value
    try:
        return dt.datetime.strptime(str(value).strip(), "%H:%M").time()
    except ValueError:
        raise ValidationError({name: ["时间格式为 时:分，如 22:00"]}) from None


@transaction.atomic
def schedule_set(*, user: Any, quiet_from: Any, quiet_until: Any, daily_digest: bool, actor: Any) -> DeliverySchedule:
    """Set `user`'s quiet hours (both or neither) and digest choice. Audited."""
    _require_self(actor, user)
    start, end = _clock(quiet_from, "quiet_from"), _clock(quiet_until, "quiet_until")
    if (start is None) != (end is None):
        raise ValidationError({"quiet_until": ["免打扰须同时填写开始和结束时间"]})
    schedule, _ = DeliverySchedule.objects.get_or_create(user=user)
    before = {"quiet_from": str(schedule.quiet_from or ""), "quiet_until": str(schedule.quiet_until or ""),
              "daily_digest": schedule.daily_digest}
    schedule.quiet_from, schedule.quiet_until, schedule.daily_digest = start, end, bool(daily_digest)
    schedule.save()
    audit_record(by=actor, action="update", obj=schedule, before=before,
                 after={"quiet_from": str(start or ""), "quiet_until": str(end or ""), "daily_digest": bool(daily_digest)},
                 summary=f"通知时段 {user.get_username()}")
    return schedule


def digests_send(*, now: dt.datetime | None = None) -> int:
    """The daily digest (a job; no user): for each user with held e-mail notices, one e-mail listing them; the held
    deliveries are then sent. Returns how many e-mails went out."""
    from django.core.mail import send_mail

    from .gateways import absolute_link

    now = now or timezone.now()
    held = (Delivery.objects.filter(status=Delivery.Status.HELD, channel=Channel.EMAIL)
            .select_related("notification").order_by("target", "created_at", "id"))
    by_target: dict[str, list[Delivery]] = {}
    for d in held:
        by_target.setdefault(d.target, []).append(d)
    sent = 0
    for target, rows in by_target.items():
        lines = [f"· {d.notification.subject}" + (f"  {absolute_link(d.notification.link)}" if d.notification.link
                                                   else "") for d in rows]
        try:
            send_mail(f"先锋每日通知摘要（{len(rows)}条）", "\n".join(lines), None, [target], fail_silently=False)
        except Exception as exc:  # kept for tomorrow's digest
            logger.warning("digest to %s failed: %s", target, exc)
            continue
        with transaction.atomic():
            ids = [d.pk for d in rows]
            Delivery.objects.filter(pk__in=ids, status=Delivery.Status.HELD).update(
                status=Delivery.Status.SENT, sent_at=now, attempts=F("attempts") + 1)
            DeliveryAttempt.objects.bulk_create([DeliveryAttempt(delivery_id=i, ok=True, response="daily digest")
                                                 for i in ids])
        sent += 1
    return sent
