from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from xianfeng.core.models import AppendOnlyModel
from xianfeng.core.scoping import ScopedQuerySet


class Unit(models.TextChoices):
    POINT = "point", "积分"
    CNY = "cny_fen", "人民币（分）"


class OwnerType(models.TextChoices):
    MEMBER = "member", "党员"
    ORGANISATION = "organisation", "组织"
    FUND = "fund", "基金"
    SHOP = "shop", "爱心超市"
    SYSTEM = "system", "系统"


class AccountQuerySet(ScopedQuerySet):
    def owned_by(self, owner_type: str, owner_id: int):
        return self.filter(owner_type=owner_type, owner_id=owner_id)


class Account(models.Model):
    """One account of the ledger: whose (owner_type + owner_id, scoped by org), in which unit, with an optional floor.

    `balance` caches the sum of the account's entries; it is changed only by ledger_post, under the row lock, and
    `xianfeng ledger_check` recomputes it. The database refuses a balance below the floor.
    """

    scope_org_fields = ("org",)

    name = models.CharField("名称", max_length=200)
    owner_type = models.CharField("所有者类型", max_length=20, choices=OwnerType.choices)
    owner_id = models.BigIntegerField("所有者ID", default=0, help_text="the owner's primary key; 0 for system accounts")
    purpose = models.CharField("用途", max_length=40, default="main",
                               help_text="distinguishes several accounts of one owner in one unit, e.g. main / pending")
    org = models.ForeignKey("orgs.Organisation", null=True, blank=True, on_delete=models.PROTECT,
                            related_name="ledger_accounts", verbose_name="所属组织")
    unit = models.CharField("单位", max_length=10, choices=Unit.choices)
    floor = models.BigIntegerField("下限", null=True, blank=True, help_text="the balance may never go below this")
    balance = models.BigIntegerField("余额", default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        verbose_name = "账户"
        verbose_name_plural = "账户"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["owner_type", "owner_id", "unit", "purpose"], name="ledger_account_owner"),
            models.CheckConstraint(condition=Q(floor__isnull=True) | Q(balance__gte=F("floor")),
                                   name="ledger_account_not_below_floor"),
        ]
        indexes = [models.Index(fields=["org", "unit"])]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_unit_display()}）"

    def format_amount(self, amount: int) -> str:
        """Points as an integer; fen as yuan with two decimals."""
        if self.unit == Unit.CNY:
            sign = "-" if amount < 0 else ""
            yuan, fen = divmod(abs(amount), 100)
            return f"{sign}{yuan:,}.{fen:02d}"
        return f"{amount:,}"


class Transaction(AppendOnlyModel):
    """One posting: entries that sum to zero per unit, with who, when, why, and a unique idempotency key.

    Never changed; a mistake is corrected by a reversing transaction (`reverses`).
    """

    memo = models.CharField("摘要", max_length=300)
    kind = models.CharField("类型", max_length=40, help_text="e.g. points.award, points.redeem, fund.donation")
    key = models.CharField("幂等键", max_length=200, unique=True)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reversed_by", verbose_name="冲正的交易")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name="经办人")
    # The moment the posting records: now, or the day it happened for postings entered afterwards (ledger_post_many's
    # `at`); statements run in this order.
    created_at = models.DateTimeField("时间", default=timezone.now, editable=False, db_index=True)

    class Meta:
        verbose_name = "交易"
        verbose_name_plural = "交易"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(key=""), name="ledger_transaction_key_not_empty"),
            models.CheckConstraint(condition=~Q(reverses=F("id")), name="ledger_transaction_not_self_reversal"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.memo}"


class Entry(AppendOnlyModel):
    """One line of a transaction: a signed integer amount on one account (points, or fen). Never changed."""

    # Both foreign keys are covered by the composite indexes below, so they need no index of their own.
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="entries", db_index=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries", db_index=False)
    amount = models.BigIntegerField("金额")

    class Meta:
        verbose_name = "分录"
        verbose_name_plural = "分录"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_amount_not_zero"),
            models.UniqueConstraint(fields=["transaction", "account"], name="ledger_entry_one_per_account"),
        ]
        indexes = [models.Index(fields=["account", "id"], name="ledger_entry_account_id")]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.amount:+d}"
