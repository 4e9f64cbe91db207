"""The admin shows the organisation tree, people's memberships, users and roles. Every write to them goes through
orgs.services (tree paths rewritten on a move, scopes checked, each change audited), so nothing here adds, changes or
deletes: re-parenting an organisation here would leave its subtree's paths stale and skip the audit."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from xianfeng.core.admin import ReadOnlyAdmin

from .models import ContactPoint, GuidanceGroup, Member, Organisation, Role, User


@admin.register(User)
class XianfengUserAdmin(ReadOnlyAdmin, UserAdmin):
    fieldsets = (*(UserAdmin.fieldsets or ()), ("人员", {"fields": ("person",)}))
    raw_id_fields = ("person",)


@admin.register(Organisation)
class OrganisationAdmin(ReadOnlyAdmin):
    list_display = ("name", "code", "kind", "full_name")
    search_fields = ("name", "code", "initials")
    list_filter = ("kind",)
    raw_id_fields = ("parent",)


@admin.register(Member)
class MemberAdmin(ReadOnlyAdmin):
    list_display = ("person", "org", "category", "status", "join_date")
    list_filter = ("status", "category")
    raw_id_fields = ("person", "org", "managing_org")
    search_fields = ("person__name",)


@admin.register(Role)
class RoleAdmin(ReadOnlyAdmin):
    list_display = ("user", "kind", "org")
    list_filter = ("kind",)
    raw_id_fields = ("user", "org")


@admin.register(ContactPoint)
class ContactPointAdmin(ReadOnlyAdmin):
    list_display = ("leader", "org", "kind", "start")
    raw_id_fields = ("leader", "org")


@admin.register(GuidanceGroup)
class GuidanceGroupAdmin(ReadOnlyAdmin):
    list_display = ("name", "system", "org")
    raw_id_fields = ("org", "leader")
