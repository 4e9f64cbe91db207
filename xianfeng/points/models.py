"""Points rules per organisation, awards (one per source, each a ledger transaction), rewards and redemptions.

Balances live on the ledger (xianfeng.ledger): a member's points account has a floor of 0; an organisation's
issuing account (no floor) is debited for every award; a shop's account is credited for every redemption.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from xianfeng.core.models import AppendOnlyModel
from xianfeng.core.scoping import ScopedQuerySet


class YearEnd(models.TextChoices):
    CARRY = "carry", "结转下年"
    EXPIRE = "expire", "年底清零"


class PointsRule(models.Model):
    """An organisation's points rules; a member's awards follow the nearest rule at or above the member's
    organisation (or the built-in defaults when there is none)."""

    scope_org_fields = ("org",)

    org = models.OneToOneField("orgs.Organisation", on_delete=models.PROTECT, related_name="points_rule",
                               verbose_name="组织")
    base_by_category = models.JSONField("各类服务基础分", default=dict, blank=True,
                                        help_text='{"助老": 5, "维修": 3, …}; a category not listed earns default_base')
    default_base = models.PositiveIntegerField("默认基础分", default=2)
    per_hour = models.PositiveIntegerField("每小时积分", default=2)
    daily_cap = models.PositiveIntegerField("每日上限", default=20, help_text="0 = no cap")
    yearly_cap = models.PositiveIntegerField("每年上限", default=1000, help_text="0 = no cap")
    satisfied_bonus = models.PositiveIntegerField("满意加分", default=2)
    year_end = models.CharField("年底处理", max_length=10, choices=YearEnd.choices, default=YearEnd.CARRY)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "积分规则"
        verbose_name_plural = "积分规则"

    def __str__(self) -> str:
        return f"{self.org} 积分规则"


class AwardQuerySet(ScopedQuerySet):
    def in_year(self, year: int):
        return self.filter(on__year=year)


class Award(AppendOnlyModel):
    """One award of points for one source (a confirmed service, a volunteer activity's hours): a ledger transaction."""

    scope_org_fields = ("org",)

    member = models.ForeignKey("orgs.Member", on_delete=models.PROTECT, related_name="points_awards")
    org = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT, related_name="+",
                            verbose_name="党员所在组织")
    source = models.CharField("来源", max_length=40)
    source_id = models.CharField("来源编号", max_length=60)
    category = models.CharField("类别", max_length=20, blank=True)
    minutes = models.PositiveIntegerField("时长（分钟）", default=0)
    satisfied = models.BooleanField("满意", default=False)
    on = models.DateField("日期", db_index=True)
    points = models.PositiveIntegerField("积分")
    capped = models.BooleanField("受上限限制", default=False)
    transaction = models.OneToOneField("ledger.Transaction", on_delete=models.PROTECT, related_name="points_award")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AwardQuerySet.as_manager()

    class Meta:
        verbose_name = "积分奖励"
        verbose_name_plural = "积分奖励"
        ordering = ["-on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="points_award_one_per_source"),
            models.CheckConstraint(condition=Q(points__gt=0), name="points_award_positive"),
        ]
        indexes = [models.Index(fields=["member", "on"]), models.Index(fields=["org", "on"])]

    def __str__(self) -> str:
        return f"{self.member_id} +{self.points} ({self.source}:{self.source_id})"


class Reward(models.Model):
    """An item of a shop (爱心超市, an organisation) with its price in points and its stock."""

    scope_org_fields = ("shop",)

    shop = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT, related_name="rewards",
                             verbose_name="爱心超市（组织）")
    name = models.CharField("名称", max_length=100)
    price = models.PositiveIntegerField("所需积分")
    stock = models.IntegerField("库存", default=0)
    is_active = models.BooleanField("上架", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "兑换物品"
        verbose_name_plural = "兑换物品"
        ordering = ["shop", "price", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="points_reward_stock_not_negative"),
            models.CheckConstraint(condition=Q(price__gt=0), name="points_reward_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.price}分）"


class Redemption(AppendOnlyModel):
    """One redemption: a member bought `quantity` of a reward with points at the shop (a ledger transaction)."""

    scope_org_fields = ("reward__shop",)

    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    member = models.ForeignKey("orgs.Member", on_delete=models.PROTECT, related_name="redemptions")
    quantity = models.PositiveIntegerField("数量", default=1)
    points = models.PositiveIntegerField("积分")
    key = models.CharField("幂等键", max_length=100, unique=True)
    transaction = models.OneToOneField("ledger.Transaction", on_delete=models.PROTECT, related_name="redemption")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+", verbose_name="经办人")
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "兑换记录"
        verbose_name_plural = "兑换记录"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="points_redemption_quantity_positive"),
            models.CheckConstraint(condition=Q(points__gt=0), name="points_redemption_points_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.reward_id}×{self.quantity}"


class CardSetting(models.Model):
    """A member's choices for the points card: hide the name on leaderboards."""

    member = models.OneToOneField("orgs.Member", on_delete=models.CASCADE, related_name="points_setting")
    hide_name = models.BooleanField("在排行榜隐藏姓名", default=False)

    class Meta:
        verbose_name = "积分卡设置"
        verbose_name_plural = "积分卡设置"

    def __str__(self) -> str:
        return f"{self.member_id} hide={self.hide_name}"


