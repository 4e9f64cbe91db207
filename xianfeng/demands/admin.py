"""The admin shows the demand archive; every write goes through demands.services (claims are decided by conditional
UPDATEs, confirmations award points, each write is audited), so nothing here can add, change or delete."""

from django.contrib import admin

from xianfeng.core.admin import ReadOnlyAdmin

from .models import Claim, Demand, DemandCategory, Pairing, ServiceRecord


class ClaimInline(admin.TabularInline):
    model = Claim
    extra = 0
    fields = ("member", "status", "claimed_at", "started_at", "ended_at", "assigned_by")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Demand)
class DemandAdmin(ReadOnlyAdmin):
    list_display = ("id", "org", "category", "urgency", "status", "capacity", "claimed_count", "source", "created_at")
    list_filter = ("status", "urgency", "source", "category")
    search_fields = ("description", "household", "area")
    raw_id_fields = ("org", "resident", "created_by")
    date_hierarchy = "created_at"
    list_select_related = ("org",)
    inlines = [ClaimInline]


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    list_display = ("id", "demand", "member", "status", "claimed_at", "started_at", "ended_at")
    list_filter = ("status",)
    raw_id_fields = ("demand", "member", "assigned_by")
    list_select_related = ("member__person",)


@admin.register(Pairing)
class PairingAdmin(ReadOnlyAdmin):
    list_display = ("id", "org", "member", "household", "start", "end")
    raw_id_fields = ("org", "member", "resident", "created_by")
    search_fields = ("household", "member__person__name")
    list_select_related = ("org", "member__person")


@admin.register(ServiceRecord)
class ServiceRecordAdmin(ReadOnlyAdmin):
    list_display = ("id", "org", "member", "category", "served_on", "minutes", "status", "rating", "on_behalf",
                    "points")
    list_filter = ("status", "rating", "on_behalf", "category")
    raw_id_fields = ("org", "demand", "pairing", "member", "confirmed_by", "recorded_by")
    date_hierarchy = "served_on"
    list_select_related = ("org", "member__person")


@admin.register(DemandCategory)
class DemandCategoryAdmin(ReadOnlyAdmin):
    list_display = ("org", "name", "position", "is_active")
    list_filter = ("is_active",)
    raw_id_fields = ("org",)
    list_select_related = ("org",)
