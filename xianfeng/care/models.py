"""Member care: care funds on the ledger, care cases and actions, one-key call devices and their alerts.

An alert's progress is rows: AlertStep (one call of one level of the responder chain, due at a time) and AlertEvent
(one transition, with who and when). Ingress is logged row by row in DeviceEvent, rejected requests included.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from xianfeng.core.models import AppendOnlyModel
from xianfeng.core.scoping import ScopedQuerySet


class CareFund(models.Model):
    """A member-care fund (关爱基金) of one organisation; its money is one ledger account in fen that never goes below 0."""

    scope_org_fields = ("org",)

    name = models.CharField("名称", max_length=100)
    org = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT, related_name="care_funds",
                            verbose_name="所属组织")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               verbose_name="上级基金")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="care_funds_owned",
                              verbose_name="基金负责人")
    # Set by fund_create in the same transaction (the account's owner id is the fund's own id, so it comes second).
    account = models.OneToOneField("ledger.Account", null=True, on_delete=models.PROTECT, related_name="care_fund",
                                   verbose_name="账户")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "关爱基金"
        verbose_name_plural = "关爱基金"
        ordering = ["org__path", "id"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="care_fund_name_per_org"),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="care_fund_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name


class CareCaseQuerySet(ScopedQuerySet):
    def open(self):
        return self.filter(status=CareCase.Status.OPEN)

    def overdue(self, today):
        """Open cases whose next visit was due before `today`."""
        return self.open().filter(next_visit_due__lt=today)


class CareCase(models.Model):
    """A member in need of care (关爱对象): why, who cares for them, and when the next visit is due."""

    scope_org_fields = ("org",)

    class Reason(models.TextChoices):
        AGE_80 = "age_80", "80岁以上"
        SICK = "sick", "患病"
        HARDSHIP = "hardship", "生活困难"
        LIMITED = "limited_mobility", "行动不便"

    class Status(models.TextChoices):
        OPEN = "open", "关爱中"
        CLOSED = "closed", "已结束"

    member = models.ForeignKey("orgs.Member", on_delete=models.PROTECT, related_name="care_cases",
                               verbose_name="党员")
    org = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT, related_name="care_cases",
                            verbose_name="责任组织")
    reason = models.CharField("关爱原因", max_length=20, choices=Reason.choices)
    notes = models.TextField("情况说明", blank=True)
    carers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="care_cases",
                                    verbose_name="结对关爱人")
    visit_every_days = models.PositiveSmallIntegerField("走访周期（天）", default=30)
    next_visit_due = models.DateField("下次走访")
    overdue_notified_for = models.DateField("已提醒的逾期日期", null=True, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_on = models.DateField("建档日期")
    closed_on = models.DateField("结束日期", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    objects = CareCaseQuerySet.as_manager()

    class Meta:
        verbose_name = "关爱对象"
        verbose_name_plural = "关爱对象"
        ordering = ["next_visit_due", "id"]
        constraints = [
            models.UniqueConstraint(fields=["member"], condition=Q(status="open"), name="care_case_one_open_per_member"),
            models.CheckConstraint(condition=Q(visit_every_days__gte=1) & Q(visit_every_days__lte=366),
                                   name="care_case_visit_period_range"),
        ]
        indexes = [models.Index(fields=["status", "next_visit_due"], name="care_case_due")]

    def __str__(self) -> str:
        return f"{self.member} · {self.get_reason_display()}"


class CareAction(AppendOnlyModel):
    """One thing done for a care case: a visit, aid, a 春风 action. Never changed."""

    scope_org_fields = ("case__org",)

    class Kind(models.TextChoices):
        VISIT = "visit", "走访慰问"
        AID = "aid", "帮扶救助"
        SPRING_BREEZE = "spring_breeze", "春风行动"
        OTHER = "other", "其他"

    case = models.ForeignKey(CareCase, on_delete=models.PROTECT, related_name="actions")
    kind = models.CharField("类型", max_length=20, choices=Kind.choices)
    date = models.DateField("日期")
    notes = models.TextField("内容", blank=True)
    disbursement = models.OneToOneField("Disbursement", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="action", verbose_name="资金拨付")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "关爱行动"
        verbose_name_plural = "关爱行动"
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["case", "date"], name="care_action_case_date")]


class Disbursement(models.Model):
    """A payment from a care fund to a care case: applicant → secretary's review → fund owner's approval → posted."""

    scope_org_fields = ("case__org", "fund__org")

    class Status(models.TextChoices):
        REQUESTED = "requested", "待审核"
        REVIEWED = "reviewed", "待审批"
        PAID = "paid", "已拨付"
        REJECTED = "rejected", "已驳回"

    fund = models.ForeignKey(CareFund, on_delete=models.PROTECT, related_name="disbursements", verbose_name="基金")
    case = models.ForeignKey(CareCase, on_delete=models.PROTECT, related_name="disbursements", verbose_name="关爱对象")
    amount = models.BigIntegerField("金额（分）")
    reason = models.CharField("用途", max_length=300)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name="申请人")
    requested_at = models.DateTimeField("申请时间")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name="审核人")
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name="审批人")
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.CharField("意见", max_length=300, blank=True)
    transaction = models.OneToOneField("ledger.Transaction", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="care_disbursement")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "资金拨付"
        verbose_name_plural = "资金拨付"
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="care_disbursement_amount_positive"),
            models.CheckConstraint(condition=~Q(status="paid") | Q(transaction__isnull=False),
                                   name="care_disbursement_paid_has_transaction"),
        ]

    def __str__(self) -> str:
        return f"{self.fund} → {self.case}: {self.amount / 100:.2f}"


class EscalationPolicy(models.Model):
    """How long each level of a responder chain has to acknowledge, how often the last level is called again, and
    on which channels. One default per community; a device may name its own."""

    scope_org_fields = ("org",)

    org = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT, related_name="escalation_policies",
                            verbose_name="组织")
    name = models.CharField("名称", max_length=100)
    is_default = models.BooleanField("本组织默认", default=False)
    ack_timeout_seconds = models.PositiveIntegerField("每级等待确认（秒）", default=60)
    repeat_seconds = models.PositiveIntegerField("末级重复呼叫间隔（秒）", default=60)
    channels = models.JSONField("通知渠道", default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "响应链"
        verbose_name_plural = "响应链"
        constraints = [
            models.UniqueConstraint(fields=["org"], condition=Q(is_default=True), name="care_policy_one_default"),
            models.CheckConstraint(condition=Q(ack_timeout_seconds__gte=1) & Q(repeat_seconds__gte=1),
                                   name="care_policy_positive_waits"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def channel_labels(self) -> str:
        """The channels by name (站内信, 短信), as the pages show them."""
        from xianfeng.notify.models import Channel

        labels = dict(Channel.choices)
        return "、".join(str(labels.get(c, c)) for c in self.channels)


class DeviceQuerySet(ScopedQuerySet):
    def offline(self):
        return self.filter(is_active=True, offline_since__isnull=False)


class Device(models.Model):
    """A one-key call device (一键通) at a member's home: who holds it, where, its secret, its heartbeat."""

    scope_org_fields = ("org",)

    serial = models.CharField("设备序列号", max_length=40, unique=True)
    model = models.CharField("型号", max_length=60, blank=True)
    holder = models.ForeignKey("orgs.Person", on_delete=models.PROTECT, related_name="care_devices",
                               verbose_name="使用人")
    case = models.ForeignKey(CareCase, null=True, blank=True, on_delete=models.SET_NULL, related_name="devices",
                             verbose_name="关爱对象")
    org = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT, related_name="care_devices",
                            verbose_name="所在村社区")
    address = models.CharField("地址", max_length=200)
    grid = models.CharField("网格", max_length=60, blank=True)
    policy = models.ForeignKey(EscalationPolicy, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="devices", verbose_name="专用响应链")
    secret = models.CharField("签名密钥", max_length=64, editable=False)
    heartbeat_minutes = models.PositiveIntegerField("心跳间隔（分钟）", default=30)
    last_heartbeat_at = models.DateTimeField("最近心跳", null=True, blank=True)
    offline_after = models.DateTimeField("超时时刻", null=True, blank=True,
                                         help_text="no heartbeat by then: the device is offline")
    offline_since = models.DateTimeField("离线时间", null=True, blank=True)
    battery_pct = models.PositiveSmallIntegerField("电量（%）", null=True, blank=True)
    is_active = models.BooleanField("启用", default=True)
    installed_on = models.DateField("安装日期", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DeviceQuerySet.as_manager()

    class Meta:
        verbose_name = "一键通设备"
        verbose_name_plural = "一键通设备"
        ordering = ["serial"]
        constraints = [
            models.CheckConstraint(condition=Q(heartbeat_minutes__gte=1), name="care_device_heartbeat_positive"),
            models.CheckConstraint(condition=Q(battery_pct__isnull=True) | Q(battery_pct__lte=100),
                                   name="care_device_battery_range"),
        ]
        indexes = [
            # The offline sweep's one query: active devices past their deadline that are not yet offline.
            models.Index(fields=["offline_after"], condition=Q(is_active=True, offline_since__isnull=True),
                         name="care_device_watch"),
        ]

    def __str__(self) -> str:
        return self.serial

    @property
    def is_offline(self) -> bool:
        return self.offline_since is not None


class DeviceContact(models.Model):
    """A person called for this device's alerts at level 1 (paired volunteer, family) or level 2 (grid team)."""

    class Relation(models.TextChoices):
        VOLUNTEER = "volunteer", "结对志愿者"
        FAMILY = "family", "家属"
        GRID = "grid", "网格团队"

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="contacts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_device_contacts")
    level = models.PositiveSmallIntegerField("响应级别")
    relation = models.CharField("关系", max_length=20, choices=Relation.choices)

    class Meta:
        verbose_name = "设备联系人"
        verbose_name_plural = "设备联系人"
        ordering = ["level", "id"]
        constraints = [
            models.UniqueConstraint(fields=["device", "user", "level"], name="care_contact_unique"),
            models.CheckConstraint(condition=Q(level__in=[1, 2]), name="care_contact_level_1_or_2"),
        ]

    def __str__(self) -> str:
        return f"{self.device} L{self.level} {self.user}"


class DeviceNonce(models.Model):
    """A nonce a device has used in a signed request; a second request with it is a replay. Pruned after the
    accepted clock skew has passed (an older request is refused for its timestamp anyway)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "nonce"], name="care_nonce_once")]

    def __str__(self) -> str:
        return self.nonce


class DeviceEvent(AppendOnlyModel):
    """One message from a device or its gateway, as received: accepted, a duplicate, or rejected with the reason."""

    class Source(models.TextChoices):
        HTTP = "http", "HTTPS"
        MQTT = "mqtt", "MQTT"

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "已接收"
        DUPLICATE = "duplicate", "重复（已处理过）"
        BAD_SIGNATURE = "bad_signature", "签名错误"
        STALE = "stale", "时间戳过期"
        REPLAY = "replay", "重放"
        UNKNOWN_DEVICE = "unknown_device", "未知设备"
        INACTIVE = "inactive", "设备已停用"
        MALFORMED = "malformed", "格式错误"

    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    serial = models.CharField("设备序列号", max_length=40, blank=True)
    source = models.CharField("来源", max_length=10, choices=Source.choices)
    event_id = models.CharField("事件编号", max_length=100, blank=True)
    kind = models.CharField("类型", max_length=20, blank=True)
    outcome = models.CharField("结果", max_length=20, choices=Outcome.choices)
    detail = models.CharField("说明", max_length=300, blank=True)
    payload = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField("接收时间", db_index=True)

    class Meta:
        verbose_name = "设备消息"
        verbose_name_plural = "设备消息"
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["device", "event_id"], condition=Q(outcome="accepted"),
                                    name="care_event_once_per_device"),
        ]


class Alert(models.Model):
    """One call for help: a press (or a test press) on a device, or a device gone offline; escalated until a
    responder acknowledges, then arrival and resolution. The policy in force is copied onto it when raised."""

    scope_org_fields = ("org",)

    class Kind(models.TextChoices):
        PRESS = "press", "呼叫"
        TEST = "test", "测试呼叫"
        OFFLINE = "offline", "设备离线"

    class Status(models.TextChoices):
        OPEN = "open", "待响应"
        ACKNOWLEDGED = "acknowledged", "已响应"
        ON_SITE = "on_site", "已到场"
        RESOLVED = "resolved", "已处置"

    class Outcome(models.TextChoices):
        FALSE_ALARM = "false_alarm", "误报"
        TEST = "test", "测试"
        HELPED = "helped", "已帮助"
        HOSPITAL = "hospital", "送医"
        BACK_ONLINE = "back_online", "设备恢复在线"
        DEVICE_FIXED = "device_fixed", "设备已修复"
        OTHER = "other", "其他"

    OPEN_STATES = (Status.OPEN, Status.ACKNOWLEDGED, Status.ON_SITE)

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="alerts", verbose_name="设备")
    org = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT, related_name="care_alerts")
    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    status = models.CharField("状态", max_length=15, choices=Status.choices, default=Status.OPEN)
    key = models.CharField("幂等键", max_length=160, unique=True)
    event = models.OneToOneField(DeviceEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="alert")
    raised_at = models.DateTimeField("发起时间", db_index=True)
    chain = models.JSONField("响应链（发起时）", default=list, help_text='[{"level": 1, "label": "…", "users": [ids]}, …]')
    ack_timeout_seconds = models.PositiveIntegerField("每级等待确认（秒）")
    repeat_seconds = models.PositiveIntegerField("末级重复间隔（秒）")
    channels = models.JSONField("通知渠道", default=list)
    current_level = models.PositiveSmallIntegerField("当前级别", default=0)
    calls = models.PositiveIntegerField("已呼叫轮次", default=0)
    acknowledged_at = models.DateTimeField("响应时间", null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+", verbose_name="响应人")
    ack_seconds = models.FloatField("响应用时（秒）", null=True, blank=True)
    arrived_at = models.DateTimeField("到场时间", null=True, blank=True)
    arrived_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    arrive_seconds = models.FloatField("到场用时（秒）", null=True, blank=True)
    resolved_at = models.DateTimeField("处置时间", null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    outcome = models.CharField("处置结果", max_length=20, choices=Outcome.choices, blank=True)
    notes = models.TextField("处置说明", blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "呼叫警报"
        verbose_name_plural = "呼叫警报"
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status="open") | Q(acknowledged_at__isnull=False)
                                   | Q(status="resolved", outcome="back_online"),
                                   name="care_alert_acknowledged_has_time"),
            models.CheckConstraint(condition=~Q(status="resolved") | ~Q(outcome=""),
                                   name="care_alert_resolved_has_outcome"),
        ]
        indexes = [models.Index(fields=["status", "raised_at"], name="care_alert_status")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.device} {self.raised_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATES

    def chain_users(self) -> set[int]:
        return {u for level in self.chain for u in level.get("users", [])}


class AlertStep(models.Model):
    """One call of one level of an alert's chain, due at `due_at`. Run once (the row is locked and moved on from
    pending); the run notifies the level's responders and creates the next step. Cancelled by acknowledgement."""

    class Status(models.TextChoices):
        PENDING = "pending", "待呼叫"
        DONE = "done", "已呼叫"
        CANCELLED = "cancelled", "已取消（已响应）"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="steps")
    seq = models.PositiveIntegerField("轮次")
    level = models.PositiveSmallIntegerField("级别")
    due_at = models.DateTimeField("计划时间")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    ran_at = models.DateTimeField("呼叫时间", null=True, blank=True)
    ran_by = models.CharField("执行者", max_length=100, blank=True)
    notified = models.JSONField("通知的人", default=list)

    class Meta:
        verbose_name = "呼叫步骤"
        verbose_name_plural = "呼叫步骤"
        ordering = ["alert", "seq"]
        constraints = [models.UniqueConstraint(fields=["alert", "seq"], name="care_step_seq")]
        indexes = [models.Index(fields=["due_at"], condition=Q(status="pending"), name="care_step_pending_due")]

    def __str__(self) -> str:
        return f"{self.alert_id}#{self.seq} L{self.level}"

    @property
    def lag_seconds(self) -> float | None:
        return None if self.ran_at is None else (self.ran_at - self.due_at).total_seconds()


class AlertEvent(AppendOnlyModel):
    """One thing that happened to an alert: raised, a level called, acknowledged, arrived, resolved. Never changed."""

    class Kind(models.TextChoices):
        RAISED = "raised", "发起"
        CALLED = "called", "呼叫"
        SKIPPED = "skipped", "跳过（无人）"
        ACKNOWLEDGED = "acknowledged", "响应"
        ARRIVED = "arrived", "到场"
        RESOLVED = "resolved", "处置"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField("时间")
    kind = models.CharField("事件", max_length=15, choices=Kind.choices)
    level = models.PositiveSmallIntegerField("级别", null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                           related_name="+")
    detail = models.CharField("说明", max_length=500, blank=True)

    class Meta:
        verbose_name = "警报记录"
        verbose_name_plural = "警报记录"
        ordering = ["at", "id"]
