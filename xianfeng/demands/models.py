"""The demand archive (服务需求档案), claims (认领), pairings (结对) and service records (服务记录)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from xianfeng.core.media import PrivateStorage
from xianfeng.core.scoping import ScopedQuerySet


class Category(models.TextChoices):
    """The nine default categories: what an organisation offers until it (or one above it) sets its own list
    (DemandCategory). Kept as choices for callers that need the defaults (the grids visit form)."""

    ELDERLY = "助老", "助老"
    DISABLED = "助残", "助残"
    STUDY = "助学", "助学"
    JOBS = "就业", "就业"
    LEGAL = "法律", "法律"
    MEDICAL = "医疗", "医疗"
    REPAIR = "维修", "维修"
    MENTAL = "心理", "心理"
    OTHER = "其他", "其他"


DEFAULT_CATEGORIES: tuple[str, ...] = tuple(Category.values)


class DemandCategory(models.Model):
    """One category of demands an organisation offers (服务类别). An organisation with no list of its own uses the
    list of the nearest organisation above it that has one (like the points rules), and the nine defaults when none
    has. A demand stores the category's name, so points rules keyed by name keep working; a category is never
    renamed, only switched off (is_active) — demands already filed under it keep it."""

    scope_org_fields = ("org",)

    org = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT, related_name="demand_categories",
                            verbose_name="组织")
    name = models.CharField("类别", max_length=20)
    position = models.PositiveSmallIntegerField("顺序", default=0)
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "服务类别"
        verbose_name_plural = "服务类别"
        ordering = ["org", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="demand_category_unique_per_org"),
            models.CheckConstraint(condition=~Q(name=""), name="demand_category_named"),
        ]

    def __str__(self) -> str:
        return self.name


class DemandQuerySet(ScopedQuerySet):
    def open(self):
        return self.filter(status=Demand.Status.OPEN)

    def claimable(self):
        return self.filter(status=Demand.Status.OPEN, claimed_count__lt=F("capacity"))


class Demand(models.Model):
    """A resident's recorded need (服务需求) in a village or community.

    Until a member has claimed it, the resident's name, phone and exact address are shown to no one but staff.
    `claimed_count` counts active claims; the conditional UPDATE that raises it decides every claim race.
    """

    scope_org_fields = ("org",)

    class Urgency(models.TextChoices):
        LOW = "low", "不急"
        NORMAL = "normal", "一般"
        URGENT = "urgent", "紧急"

    class Status(models.TextChoices):
        OPEN = "open", "待认领"
        CLAIMED = "claimed", "已认领"
        DONE = "done", "已完成"
        CLOSED = "closed", "已关闭"
        EXPIRED = "expired", "已过期"

    class Source(models.TextChoices):
        STAFF = "staff", "社区登记"
        RESIDENT = "resident", "居民提交"
        VISIT = "visit", "走访发现"

    org = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT, related_name="demands",
                            verbose_name="村社区")
    category = models.CharField("类别", max_length=20, help_text="a name from the organisation's DemandCategory list")
    description = models.TextField("需求描述", max_length=2000)
    resident = models.ForeignKey("orgs.Resident", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="demands", verbose_name="居民")
    household = models.CharField("户号", max_length=40, blank=True)
    address = models.CharField("地址", max_length=200, blank=True)
    area = models.CharField("片区", max_length=60, blank=True, help_text="shown publicly instead of the address")
    grid = models.CharField("网格", max_length=60, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    urgency = models.CharField("紧急程度", max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    recurring = models.BooleanField("长期需求", default=False)
    preferred_times = models.CharField("希望服务时间", max_length=100, blank=True)
    capacity = models.PositiveSmallIntegerField("需要人数", default=1)
    claimed_count = models.PositiveSmallIntegerField("已认领人数", default=0, editable=False)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    source = models.CharField("来源", max_length=10, choices=Source.choices, default=Source.STAFF)
    expires_on = models.DateField("截止日期", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField("登记时间", db_index=True)
    first_claimed_at = models.DateTimeField("首次认领时间", null=True, blank=True)
    done_at = models.DateTimeField("完成时间", null=True, blank=True)

    objects = DemandQuerySet.as_manager()

    class Meta:
        verbose_name = "服务需求"
        verbose_name_plural = "服务需求"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1) & Q(capacity__lte=50), name="demand_capacity_range"),
            models.CheckConstraint(condition=Q(claimed_count__lte=F("capacity")), name="demand_not_overclaimed"),
        ]
        indexes = [models.Index(fields=["org", "status", "created_at"]),
                   models.Index(fields=["status", "org", "category"])]

    def __str__(self) -> str:
        return f"{self.category} #{self.pk}"

    @property
    def public_place(self) -> str:
        """What anyone may see of where: the area or grid, never the address."""
        return self.area or self.grid or self.org.name


class ClaimQuerySet(ScopedQuerySet):
    def active(self):
        return self.filter(status__in=Claim.ACTIVE)


class Claim(models.Model):
    """A member's claim on a demand (认领): active until done, withdrawn, or lapsed for not being started."""

    scope_org_fields = ("demand__org",)

    class Status(models.TextChoices):
        CLAIMED = "claimed", "已认领"
        STARTED = "started", "服务中"
        DONE = "done", "已完成"
        LAPSED = "lapsed", "超期退回"
        WITHDRAWN = "withdrawn", "已放弃"

    ACTIVE = (Status.CLAIMED, Status.STARTED)

    demand = models.ForeignKey(Demand, on_delete=models.PROTECT, related_name="claims")
    member = models.ForeignKey("orgs.Member", on_delete=models.PROTECT, related_name="demand_claims")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.CLAIMED)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name="指派人")
    claimed_at = models.DateTimeField("认领时间")
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    ended_at = models.DateTimeField("结束时间", null=True, blank=True)

    objects = ClaimQuerySet.as_manager()

    class Meta:
        verbose_name = "认领"
        verbose_name_plural = "认领"
        ordering = ["-claimed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["demand", "member"], condition=Q(status__in=["claimed", "started"]),
                                    name="claim_one_active_per_member"),
        ]
        indexes = [models.Index(fields=["member", "status"]), models.Index(fields=["status", "claimed_at"])]

    def __str__(self) -> str:
        return f"{self.member_id} → {self.demand_id}"


class Pairing(models.Model):
    """A lasting member ↔ resident (or household) service pair (结对), with start and end."""

    scope_org_fields = ("org",)

    org = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT, related_name="pairings",
                            verbose_name="村社区")
    member = models.ForeignKey("orgs.Member", on_delete=models.PROTECT, related_name="pairings")
    resident = models.ForeignKey("orgs.Resident", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="pairings")
    household = models.CharField("户号", max_length=40, blank=True)
    start = models.DateField("结对日期")
    end = models.DateField("结束日期", null=True, blank=True)
    notes = models.CharField("备注", max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "结对"
        verbose_name_plural = "结对"
        ordering = ["-start", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__isnull=True) | Q(end__gte=F("start")), name="pairing_end_after_start"),
            models.CheckConstraint(condition=Q(resident__isnull=False) | ~Q(household=""), name="pairing_has_party"),
        ]
        indexes = [models.Index(fields=["member", "end"]), models.Index(fields=["org", "household"])]

    def __str__(self) -> str:
        return f"{self.member_id} ↔ {self.resident_id or self.household}"


class RecordPhotoStorage(PrivateStorage):
    """Service-record photos (a resident's home, the resident), served only by the record_photo view to those who may see the record."""

    setting = "DEMANDS_PHOTO_DIR"
    folder = "demands"


def record_photo_storage() -> RecordPhotoStorage:
    return RecordPhotoStorage()


class ServiceRecord(models.Model):
    """One delivered service (服务记录): recorded by the member, confirmed and rated by the resident (or by staff
    on the resident's behalf). Only confirmed services earn points."""

    scope_org_fields = ("org",)

    class Status(models.TextChoices):
        RECORDED = "recorded", "待确认"
        CONFIRMED = "confirmed", "已确认"
        REJECTED = "rejected", "未通过"

    class Rating(models.TextChoices):
        SATISFIED = "satisfied", "满意"
        FAIR = "fair", "基本满意"
        UNSATISFIED = "unsatisfied", "不满意"

    org = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT, related_name="service_records",
                            verbose_name="村社区")
    demand = models.ForeignKey(Demand, null=True, blank=True, on_delete=models.PROTECT, related_name="records")
    pairing = models.ForeignKey(Pairing, null=True, blank=True, on_delete=models.PROTECT, related_name="records")
    member = models.ForeignKey("orgs.Member", on_delete=models.PROTECT, related_name="service_records")
    category = models.CharField("类别", max_length=20)
    served_on = models.DateField("服务日期")
    minutes = models.PositiveIntegerField("时长（分钟）")
    notes = models.TextField("服务内容", max_length=2000)
    photo = models.ImageField("照片", upload_to="services/%Y/%m/", storage=record_photo_storage, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.RECORDED)
    rating = models.CharField("评价", max_length=12, choices=Rating.choices, blank=True)
    comment = models.CharField("评价意见", max_length=300, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name="确认人")
    on_behalf = models.BooleanField("代为确认", default=False)
    confirmed_at = models.DateTimeField("确认时间", null=True, blank=True)
    points = models.PositiveIntegerField("所得积分", default=0)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField("记录时间")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "服务记录"
        verbose_name_plural = "服务记录"
        ordering = ["-served_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gt=0) & Q(minutes__lte=1440), name="record_minutes_range"),
            models.CheckConstraint(condition=Q(demand__isnull=False) | Q(pairing__isnull=False),
                                   name="record_has_demand_or_pairing"),
        ]
        indexes = [models.Index(fields=["org", "status", "served_on"]), models.Index(fields=["member", "served_on"])]

    def __str__(self) -> str:
        return f"{self.member_id} {self.served_on} {self.minutes}′"
