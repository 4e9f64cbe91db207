"""Who may see and do what with notifications (xianfeng.core.policy).

Notifications, their deliveries, channel choices and webhook endpoints are personal: each user sees and changes only
their own — a superuser included, since reading somebody's inbox is not an administrator's task. What the recording
SMS gateway kept (the SMS outbox) and the organisations' group robots are system administration: a superuser or a
county administrator of a root organisation.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from xianfeng.core.policy import NOTHING, Policy, register
from xianfeng.jobs.access import is_system_admin

from .models import (
    ChannelPreference,
    Delivery,
    DeliverySchedule,
    GroupPost,
    GroupRobot,
    Notification,
    SmsMessage,
    WebhookEndpoint,
)


def _signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


class OwnPolicy(Policy):
    """Rows that belong to one user through `owner_field`: that user may do anything with them, nobody else."""

    owner_field = "user"

    def scope(self, user: Any, action: str) -> Q | None:
        if not _signed_in(user):
            return NOTHING
        return Q(**{f"{self.owner_field}_id": user.pk})

    def owner_id(self, obj: Any) -> Any:
        return getattr(obj, f"{self.owner_field}_id")

    def allows(self, user: Any, action: str, obj: Any) -> bool:
        return _signed_in(user) and self.owner_id(obj) == user.pk


@register(Notification)
class NotificationPolicy(OwnPolicy):
    """The inbox: one's own notifications that came in-app."""

    owner_field = "recipient"
    detail_page = "notify:detail"
    detail_api = "/api/v1/notifications/{pk}/"

    def scope(self, user: Any, action: str) -> Q | None:
        q = super().scope(user, action)
        return NOTHING if q is None or q == NOTHING else (q & Q(in_app=True))

    def allows(self, user: Any, action: str, obj: Any) -> bool:
        return super().allows(user, action, obj) and bool(obj.in_app)


@register(Delivery)
class DeliveryPolicy(OwnPolicy):
    """What was sent to me, on every channel."""

    owner_field = "notification__recipient"
    detail_page = "notify:delivery_detail"
    detail_api = "/api/v1/notification-deliveries/{pk}/"

    def owner_id(self, obj: Any) -> Any:
        return obj.notification.recipient_id


@register(ChannelPreference)
class ChannelPreferencePolicy(OwnPolicy):
    pass


@register(WebhookEndpoint)
class WebhookEndpointPolicy(OwnPolicy):
    pass


@register(DeliverySchedule)
class DeliverySchedulePolicy(OwnPolicy):
    pass


class SystemAdminPolicy(Policy):
    def scope(self, user: Any, action: str) -> Q | None:
        return None if is_system_admin(user) else NOTHING

    def allows(self, user: Any, action: str, obj: Any) -> bool:
        return is_system_admin(user)


@register(SmsMessage)
class SmsMessagePolicy(SystemAdminPolicy):
    """The SMS outbox."""


@register(GroupRobot)
class GroupRobotPolicy(SystemAdminPolicy):
    """Group robots carry the organisations' signing secrets: set up by system administrators."""


@register(GroupPost)
class GroupPostPolicy(SystemAdminPolicy):
    pass


def may_manage_own(actor: Any, user: Any) -> bool:
    """Whether `actor` may change `user`'s channel choices and webhook endpoints: only `user` themself."""
    return _signed_in(actor) and getattr(user, "pk", None) == actor.pk
