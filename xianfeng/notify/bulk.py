"""Notifying many people in a few statements: the rows `notify()` writes, for a whole list of recipients at once.

Where a notice must be recorded in a handful of statements whatever the number of people (a one-key alert paging a
level of its responder chain), one `notify()` per person (about ten statements each) is too slow. `recipients()`
reads the people, their choice of channels for the kind and their addresses in one query; `notify_bulk()` writes the
inbox rows, the deliveries, the in-app attempts with one INSERT each and returns the delivery jobs. The rows are the
same as `notify()`'s — the same channels rule (the user's choice for the kind, else the caller's channels), the
same keys, the same `notify.deliver` jobs — and `tests/test_bulk.py` holds the two side by side.

Dedup is the caller's: `notify()` looks the key up first, `notify_bulk()` does not (the care module holds the alert
step's row lock and moves it from pending to done in the same transaction, so a step is paged once).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import FilteredRelation, Q

from . import robots
from .models import Channel, Delivery, DeliveryAttempt, Notification, WebhookEndpoint
from .services import DELIVER_JOB

NO_ADDRESS = "没有可用的地址"  # notify's wording for a channel without an address


@dataclass
class Recipient:
    """One person to page, with what paging needs to know: channels chosen for the kind, addresses, a name."""

    pk: int
    username: str
    name: str
    email: str
    phone: str
    chosen: set[str] | None  # the user's own choice for the kind, or None (the alert's channels apply)
    webhooks: list[tuple[str, int]] = field(default_factory=list)

    def channels(self, default: list[str]) -> set[str]:
        return set(self.chosen) if self.chosen is not None else set(default) & set(Channel.values)

    def targets(self, channel: str) -> list[tuple[str, int | None]]:
        if channel == Channel.EMAIL:
            return [(self.email, None)] if self.email else []
        if channel in (Channel.SMS, Channel.VOICE):
            return [(self.phone, None)] if self.phone else []
        if channel == Channel.WEBHOOK:
            return list(self.webhooks)
        return []


def recipients(user_ids: list[int], kind: str, default_channels: list[str]) -> list[Recipient]:
    """The active users among `user_ids` with their channel choice for `kind` and their addresses: one query (two
    when one of them gets webhooks)."""
    if not user_ids:
        return []
    User = get_user_model()
    rows = (User.objects.filter(pk__in=user_ids, is_active=True)
            .annotate(pref=FilteredRelation("notify_preferences", condition=Q(notify_preferences__kind=kind)))
            .order_by("pk")
            .values_list("pk", "username", "first_name", "last_name", "email", "person__name", "person__phone",
                         "pref__id", *(f"pref__{c}" for c in Channel.values)))
    people = []
    for pk, username, first, last, email, person_name, phone, pref_id, *flags in rows:
        chosen = {c for c, on in zip(Channel.values, flags, strict=True) if on} if pref_id else None
        full = f"{first} {last}".strip()
        people.append(Recipient(pk=pk, username=username, name=full or person_name or username, email=email or "",
                                phone=phone or "", chosen=chosen))
    webhook_users = [p.pk for p in people if Channel.WEBHOOK in p.channels(default_channels)]
    if webhook_users:
        by_user: dict[int, list[tuple[str, int]]] = {}
        for user_id, url, pk in (WebhookEndpoint.objects.filter(user_id__in=webhook_users, is_active=True)
                                 .order_by("pk").values_list("user_id", "url", "pk")):
            by_user.setdefault(user_id, []).append((url, pk))
        for p in people:
            p.webhooks = by_user.get(p.pk, [])
    return people


def notify_bulk(*, people: list[Recipient], kind: str, subject: str, body: str, links: dict[int, str], key: str,
         default_channels: list[str], now: dt.datetime) -> list[tuple[str, dict[str, Any], dt.datetime, str]]:
    """Write the notifications for `people` (call inside the caller's transaction): three INSERTs. Returns the
    `notify.deliver` jobs to schedule (for jobs_schedule_new, so the caller can add its own to the same INSERT)."""
    if not people:
        return []
    notifications = Notification.objects.bulk_create([
        Notification(recipient_id=p.pk, kind=kind, subject=subject[:200], body=body[:5000], link=links[p.pk][:500],
                     key=key, in_app=Channel.IN_APP in p.channels(default_channels)) for p in people])
    deliveries: list[Delivery] = []
    for p, n in zip(people, notifications, strict=True):
        channels = p.channels(default_channels)
        if n.in_app:
            deliveries.append(Delivery(notification_id=n.pk, channel=Channel.IN_APP, target=p.username,
                                       status=Delivery.Status.SENT, attempts=1, sent_at=now))
        for channel in (c for c in Channel.values if c in channels and c != Channel.IN_APP):
            targets = p.targets(channel)
            if not targets:
                deliveries.append(Delivery(notification_id=n.pk, channel=channel, status=Delivery.Status.SKIPPED,
                                           last_error=NO_ADDRESS))
            for target, endpoint_id in targets:
                deliveries.append(Delivery(notification_id=n.pk, channel=channel, target=target,
                                           endpoint_id=endpoint_id, next_attempt_at=now))
    Delivery.objects.bulk_create(deliveries)
    sent = [d for d in deliveries if d.status == Delivery.Status.SENT]
    if sent:
        DeliveryAttempt.objects.bulk_create([DeliveryAttempt(delivery_id=d.pk, ok=True, response="inbox") for d in sent])
    # the group post carries no link: each person's link here is their own (a one-key alert's acknowledging token)
    jobs = [(DELIVER_JOB, {"delivery_id": d.pk}, now, f"{DELIVER_JOB}:{d.pk}:1")
            for d in deliveries if d.status == Delivery.Status.PENDING]
    return jobs + robots.posts_for(kind=kind, key=key, subject=subject, body=body, link="",
                                   user_ids=[p.pk for p in people], now=now)
