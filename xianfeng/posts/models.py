"""责任区先锋服务岗: responsibility posts a community defines, claimed by its members (dual-managed members included),
and the services a post holder records for residents, confirmed by them and rewarded on the points card."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from xianfeng.core.scoping import ScopedQuerySet
from xianfeng.demands.models import ServiceRecord


class Post(models.Model):
    """A responsibility-area post of a village or community: its area, its duties and how many members may hold it."""

    scope_org_fields = ("org",)

    org = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT, related_name="duty_posts",
                            verbose_name="村社区")
    name = models.CharField("岗位名称", max_length=60)
    area = models.CharField("责任区", max_length=200)
    duties = models.TextField("岗位职责", max_length=1000)
    capacity = models.PositiveSmallIntegerField("定员")
    # Holders now; only ever changed by a conditional UPDATE, and the database refuses more than `capacity`.
    holders_count = models.PositiveSmallIntegerField("在岗人数", default=0)
    is_open = models.BooleanField("开放认领", default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField("设立时间")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "先锋服务岗"
        verbose_name_plural = "先锋服务岗"
        ordering = ["org_id", "name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(holders_count__lte=F("capacity")), name="posts_holders_within_capacity"),
            models.CheckConstraint(condition=Q(capacity__gte=1) & Q(capacity__lte=50), name="posts_capacity_range"),
            models.UniqueConstraint(fields=["org", "name"], name="posts_unique_name_per_org"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def places_left(self) -> int:
        return max(0, self.capacity - self.holders_count)


class Holding(models.Model):
    """A member holding a post from `started_on` until `ended_on` (a row per period; leaving closes it)."""

    scope_org_fields = ("post__org",)

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="holdings", verbose_name="岗位")
    member = models.ForeignKey("orgs.Member", on_delete=models.PROTECT, related_name="post_holdings",
                               verbose_name="党员")
    started_on = models.DateField("上岗日期")
    ended_on = models.DateField("离岗日期", null=True, blank=True)
    end_reason = models.CharField("离岗原因", max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "岗位认领"
        verbose_name_plural = "岗位认领"
        constraints = [
            models.UniqueConstraint(fields=["post", "member"], condition=Q(ended_on__isnull=True),
                                    name="posts_one_active_holding"),
        ]

    def __str__(self) -> str:
        return f"{self.post} · {self.member}"

    @property
    def active(self) -> bool:
        return self.ended_on is None


class PostService(models.Model):
    """A service the holder did in the post's area: confirmed and rated by the resident served (or by staff on the
    resident's behalf, marked so); only confirmed services earn points."""

    scope_org_fields = ("holding__post__org",)

    # the same steps and ratings as a demand's service record (one vocabulary for residents' confirmations)
    Status = ServiceRecord.Status
    Rating = ServiceRecord.Rating

    holding = models.ForeignKey(Holding, on_delete=models.PROTECT, related_name="services", verbose_name="岗位认领")
    resident = models.ForeignKey("orgs.Resident", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="post_services", verbose_name="服务对象")
    pledge = models.ForeignKey("pledges.Pledge", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="post_services", verbose_name="践行的承诺")
    served_on = models.DateField("服务日期")
    minutes = models.PositiveIntegerField("时长（分钟）")
    notes = models.TextField("服务内容", max_length=2000)
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
        verbose_name = "岗位服务记录"
        verbose_name_plural = "岗位服务记录"
        ordering = ["-served_on", "-id"]
        indexes = [models.Index(fields=["holding", "-served_on"], name="posts_service_by_holding")]

    def __str__(self) -> str:
        return f"{self.holding} · {self.served_on}"
