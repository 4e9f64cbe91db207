"""The admin shows points rules, awards, the shop and redemptions. Rules, awards, stock and redemptions are written
only by points.services (ledger postings, caps, conditional stock updates, audit rows): nothing here writes."""

from django.contrib import admin

from xianfeng.core.admin import ReadOnlyAdmin

from .models import Award, CardSetting, PointsRule, Redemption, Reward


@admin.register(PointsRule)
class PointsRuleAdmin(ReadOnlyAdmin):
    list_display = ("org", "default_base", "per_hour", "daily_cap", "yearly_cap", "satisfied_bonus", "year_end",
                    "updated_at")
    raw_id_fields = ("org",)
    list_select_related = ("org",)


@admin.register(Award)
class AwardAdmin(ReadOnlyAdmin):
    list_display = ("id", "member", "org", "source", "source_id", "category", "on", "points", "capped")
    list_filter = ("source", "capped")
    search_fields = ("source_id", "member__person__name")
    raw_id_fields = ("member", "org", "transaction")
    date_hierarchy = "on"
    list_select_related = ("member__person", "org")


@admin.register(Reward)
class RewardAdmin(ReadOnlyAdmin):
    list_display = ("name", "shop", "price", "stock", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name",)
    raw_id_fields = ("shop",)
    list_select_related = ("shop",)


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "member", "reward", "quantity", "points", "by")
    raw_id_fields = ("member", "reward", "transaction", "by")
    date_hierarchy = "created_at"
    list_select_related = ("member__person", "reward")


@admin.register(CardSetting)
class CardSettingAdmin(ReadOnlyAdmin):
    list_display = ("member", "hide_name")
    raw_id_fields = ("member",)
