from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from xianfeng.core.models import AppendOnlyModel


class Channel(models.TextChoices):
    IN_APP = "in_app", "站内信"
    EMAIL = "email", "邮件"
    SMS = "sms", "短信"
    WEBHOOK = "webhook", "Webhook"


EXTERNAL_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.WEBHOOK)
ANY_KIND = "*"


class NotificationQuerySet(models.QuerySet):
    def inbox(self, user):
        """What `user` sees in the inbox: the user's own notifications that came in-app."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(recipient=user, in_app=True)

    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """One message to one user (the inbox row); how it went out on each channel is in its deliveries."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField("类型", max_length=60)
    subject = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    link = models.CharField("链接", max_length=500, blank=True)
    key = models.CharField("幂等键", max_length=200)
    in_app = models.BooleanField("站内信", default=True)
    created_at = models.DateTimeField("时间", auto_now_add=True)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = "通知"
        verbose_name_plural = "通知"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="notification_key_per_recipient"),
            models.CheckConstraint(condition=~Q(key=""), name="notification_key_not_empty"),
        ]
        indexes = [
            models.Index(fields=["recipient", "in_app", "read_at"], name="notification_inbox"),
            models.Index(fields=["recipient", "-created_at"], name="notification_recent"),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class WebhookEndpoint(models.Model):
    """A URL that receives one user's notifications as JSON POSTs signed with HMAC-SHA256 under `secret`."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField("地址", max_length=500)
    secret = models.CharField("签名密钥", max_length=64, editable=False)
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Webhook 地址"
        verbose_name_plural = "Webhook 地址"
        constraints = [models.UniqueConstraint(fields=["user", "url"], name="webhook_endpoint_unique")]

    def __str__(self) -> str:
        return self.url


class Delivery(models.Model):
    """One notification going out over one channel to one address: its state; every try is a DeliveryAttempt."""

    class Status(models.TextChoices):
        PENDING = "pending", "待发送"
        SENT = "sent", "已发送"
        FAILED = "failed", "发送失败（已放弃）"
        SKIPPED = "skipped", "未发送（无地址）"

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField("渠道", max_length=10, choices=Channel.choices)
    target = models.CharField("地址", max_length=500, blank=True)
    endpoint = models.ForeignKey(WebhookEndpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField("尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试", null=True, blank=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    last_error = models.TextField("最近错误", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "投递"
        verbose_name_plural = "投递"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_status_next")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.target_masked}"

    @property
    def target_masked(self) -> str:
        from xianfeng.core.ids import mask_phone

        if self.channel == Channel.SMS:
            return mask_phone(self.target)
        if self.channel == Channel.EMAIL and "@" in self.target:
            name, _, domain = self.target.partition("@")
            return f"{name[:2]}***@{domain}"
        return self.target


class DeliveryAttempt(AppendOnlyModel):
    """One try at a delivery: when, whether it went through, the error or the gateway's answer, how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_rows")
    at = models.DateTimeField("时间", auto_now_add=True)
    ok = models.BooleanField("成功")
    error = models.TextField("错误", blank=True)
    response = models.CharField("回应", max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField("耗时（毫秒）", default=0)

    class Meta:
        verbose_name = "投递尝试"
        verbose_name_plural = "投递尝试"
        ordering = ["at", "id"]


class ChannelPreference(models.Model):
    """The channels one user wants for one kind of notification; kind "*" covers every kind not named."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_preferences")
    kind = models.CharField("类型", max_length=60)
    in_app = models.BooleanField("站内信", default=True)
    email = models.BooleanField("邮件", default=False)
    sms = models.BooleanField("短信", default=False)
    webhook = models.BooleanField("Webhook", default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "通知偏好"
        verbose_name_plural = "通知偏好"
        ordering = ["kind"]
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notify_preference_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.kind}"

    def channels(self) -> set[str]:
        return {c for c in Channel.values if getattr(self, c)}


class SmsMessage(AppendOnlyModel):
    """A text message the recording SMS gateway kept instead of sending it (tests, the demo): what would have gone."""

    phone = models.CharField("手机号", max_length=20)
    text = models.CharField("内容", max_length=500)
    reference = models.CharField("投递编号", max_length=60, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "短信（记录网关）"
        verbose_name_plural = "短信（记录网关）"
        ordering = ["-created_at", "-id"]
