from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from xianfeng.core.models import AppendOnlyModel


class Channel(models.TextChoices):
    IN_APP = "in_app", "站内信"
    EMAIL = "email", "邮件"
    SMS = "sms", "短信"
    WEBHOOK = "webhook", "Webhook"
    VOICE = "voice", "语音电话"


EXTERNAL_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.WEBHOOK, Channel.VOICE)
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
        HELD = "held", "待汇总（每日摘要）"

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField("渠道", max_length=10, choices=Channel.choices)
    target = models.CharField("地址", max_length=500, blank=True)
    endpoint = models.ForeignKey(WebhookEndpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField("尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试", null=True, blank=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    last_error = models.TextField("最近错误", blank=True)
    provider = models.CharField("服务商", max_length=20, blank=True)
    provider_ref = models.CharField("服务商编号", max_length=100, blank=True, db_index=True,
                                    help_text="服务商受理后给出的编号（阿里云 BizId/CallId，腾讯云 SerialNo/CallId），回执凭它对应")
    receipt = models.CharField("回执", max_length=20, blank=True)
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

        if self.channel in (Channel.SMS, Channel.VOICE):
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
    code = models.CharField("服务商错误码", max_length=100, blank=True)
    duration_ms = models.PositiveIntegerField("耗时（毫秒）", default=0)

    @property
    def code_explained(self) -> str:
        from .providers import explain

        return explain(self.code)

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
    voice = models.BooleanField("语音电话", default=False)
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


class DeliveryReceipt(AppendOnlyModel):
    """What a provider said after it took a message: the SMS status report (delivered or not, with the carrier's
    code) or the voice call's result (answered, not answered, the key pressed). Kept as it came."""

    class Result(models.TextChoices):
        DELIVERED = "delivered", "已送达"
        UNDELIVERED = "undelivered", "未送达"
        ANSWERED = "answered", "已接听"
        NO_ANSWER = "no_answer", "未接听"
        ACKNOWLEDGED = "acknowledged", "按键确认"

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="receipts")
    provider = models.CharField("服务商", max_length=20)
    result = models.CharField("结果", max_length=20, choices=Result.choices)
    code = models.CharField("状态码", max_length=100, blank=True)
    detail = models.CharField("说明", max_length=500, blank=True)
    digits = models.CharField("按键", max_length=20, blank=True)
    at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = "回执"
        verbose_name_plural = "回执"
        ordering = ["at", "id"]


class GroupRobot(models.Model):
    """A DingTalk or WeCom group robot that carries one organisation's notices of some kinds to a team's group chat
    (a community's case dispatch, a town's overdue list, the duty group's alerts). A notice of a matching kind sent
    to anybody holding a role at the organisation or below is posted once to the group."""

    class Platform(models.TextChoices):
        DINGTALK = "dingtalk", "钉钉群机器人"
        WECOM = "wecom", "企业微信群机器人"

    org = models.ForeignKey("orgs.Organisation", on_delete=models.CASCADE, related_name="group_robots",
                            verbose_name="组织")
    name = models.CharField("名称", max_length=100)
    platform = models.CharField("平台", max_length=10, choices=Platform.choices)
    webhook = models.URLField("Webhook 地址", max_length=500)
    secret = models.CharField("加签密钥", max_length=200, blank=True,
                              help_text="钉钉机器人安全设置“加签”的密钥（SEC 开头）；企业微信机器人的密钥在地址的 key 参数里，此处留空")
    kinds = models.JSONField("通知类型", default=list, help_text="例如 [\"grids.dispatched\"]；[\"*\"] 为全部类型")
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_org_fields = ("org",)

    class Meta:
        verbose_name = "群机器人"
        verbose_name_plural = "群机器人"
        ordering = ["org_id", "name"]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} · {self.name}"

    def takes(self, kind: str) -> bool:
        return ANY_KIND in self.kinds or kind in self.kinds


class GroupPost(models.Model):
    """One notice posted (or to be posted) to one group robot: once per robot and notice key, whoever of the
    group's members it was sent to. A robot answering errors parks the post with its reason; the members' inboxes
    hold the notice all the same."""

    class Status(models.TextChoices):
        PENDING = "pending", "待发送"
        SENT = "sent", "已发送"
        PARKED = "parked", "已搁置"

    robot = models.ForeignKey(GroupRobot, on_delete=models.CASCADE, related_name="posts")
    key = models.CharField("幂等键", max_length=200)
    kind = models.CharField("类型", max_length=60)
    subject = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    link = models.CharField("链接", max_length=500, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField("尝试次数", default=0)
    last_error = models.TextField("最近错误", blank=True)
    response = models.CharField("回应", max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)

    class Meta:
        verbose_name = "群消息"
        verbose_name_plural = "群消息"
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["robot", "key"], name="group_post_once_per_robot")]

    def __str__(self) -> str:
        return self.subject


class DeliverySchedule(models.Model):
    """When one user may be reached outside the inbox: quiet hours (nothing but alerts leaves the building then; a
    message waits for the end of them) and the daily digest (e-mail notices are held and sent as one message a day,
    at NOTIFY_DIGEST_AT). Alerts (NOTIFY_URGENT_KINDS) are never held."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_schedule")
    quiet_from = models.TimeField("免打扰开始", null=True, blank=True)
    quiet_until = models.TimeField("免打扰结束", null=True, blank=True)
    daily_digest = models.BooleanField("邮件每日摘要", default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "通知时段"
        verbose_name_plural = "通知时段"

    def __str__(self) -> str:
        return f"{self.user}"

    def quiet_end_after(self, moment: Any) -> Any:
        """If `moment` (aware) falls in the quiet hours, the moment they end; else None."""
        import datetime as dt

        from django.utils import timezone

        if self.quiet_from is None or self.quiet_until is None or self.quiet_from == self.quiet_until:
            return None
        local = timezone.localtime(moment)
        t = local.time()
        if self.quiet_from < self.quiet_until:
            inside = self.quiet_from <= t < self.quiet_until
        else:  # across midnight, e.g. 22:00–07:00
            inside = t >= self.quiet_from or t < self.quiet_until
        if not inside:
            return None
        end = local.replace(hour=self.quiet_until.hour, minute=self.quiet_until.minute, second=0, microsecond=0)
        if end <= local:
            end += dt.timedelta(days=1)
        return end
