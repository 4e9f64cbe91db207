from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import ContactPoint, GuidanceGroup, Member, Organisation, Role, User


@admin.register(User)
class XianfengUserAdmin(UserAdmin):
    fieldsets = (*(UserAdmin.fieldsets or ()), ("人员", {"fields": ("person",)}))
    raw_id_fields = ("person",)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "kind", "full_name")
    search_fields = ("name", "code", "initials")
    list_filter = ("kind",)
    readonly_fields = ("path", "depth", "full_name", "initials")
    raw_id_fields = ("parent",)

    def has_add_permission(self, request):
        return False  # created through org_create (tree paths, audit)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ("person", "org", "category", "status", "join_date")
    list_filter = ("status", "category")
    raw_id_fields = ("person", "org", "managing_org")
    search_fields = ("person__name",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "org")
    list_filter = ("kind",)
    raw_id_fields = ("user", "org")


admin.site.register(ContactPoint)
admin.site.register(GuidanceGroup)
