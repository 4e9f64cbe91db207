from django.contrib import admin

from xianfeng.core.admin import ReadOnlyAdmin

from .models import Account, Entry, Transaction


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "owner_type", "owner_id", "unit", "balance", "floor", "org")
    list_filter = ("unit", "owner_type")
    search_fields = ("name",)


class EntryInline(admin.TabularInline):
    model = Entry
    extra = 0
    fields = ("account", "amount")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "kind", "memo", "created_by", "reverses")
    list_filter = ("kind",)
    search_fields = ("memo", "key")
    inlines = [EntryInline]
