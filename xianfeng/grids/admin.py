"""The admin: the dispatch catalogue (派单目录) and the holiday list are configured here, through the services (each
change validated and audited); everything else is shown read-only, since its writes go through grids.services."""

from django.contrib import admin

from xianfeng.core.admin import ReadOnlyAdmin

from . import services
from .models import Case, CaseCategory, CaseEvent, Grid, GridTeam, Household, Open311Client, Visit, WorkCalendarDay


@admin.register(CaseCategory)
class CaseCategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "group", "default_unit", "deadline_kind", "deadline_value", "accept_hours",
                    "escalate_hours", "duplicate_radius_m", "is_active")
    list_filter = ("is_active", "deadline_kind", "group")
    search_fields = ("code", "name", "keywords")
    raw_id_fields = ("default_unit",)

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # cases refer to their category; a category is retired with is_active

    def save_model(self, request, obj, form, change):
        data = {k: form.cleaned_data[k] for k in services.CATEGORY_FIELDS if k in form.cleaned_data}
        if change:
            saved = services.category_update(category=obj, actor=request.user, **data)
        else:
            saved = services.category_create(code=form.cleaned_data["code"], actor=request.user, **data)
        obj.pk = saved.pk


@admin.register(WorkCalendarDay)
class WorkCalendarDayAdmin(admin.ModelAdmin):
    list_display = ("date", "is_workday", "name")
    list_filter = ("is_workday",)
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change):
        if change and "date" in form.changed_data:
            services.calendar_day_clear(date=form.initial["date"], actor=request.user)
        saved = services.calendar_day_set(date=obj.date, is_workday=obj.is_workday, name=obj.name, actor=request.user)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.calendar_day_clear(date=obj.date, actor=request.user)

    def delete_queryset(self, request, queryset):
        for day in queryset:
            services.calendar_day_clear(date=day.date, actor=request.user)


@admin.register(Grid)
class GridAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "org", "is_default")
    list_filter = ("is_default",)
    search_fields = ("code", "name")
    list_select_related = ("org",)


@admin.register(Household)
class HouseholdAdmin(ReadOnlyAdmin):
    list_display = ("number", "address", "grid", "elderly_alone", "disabled", "hardship")
    list_filter = ("elderly_alone", "disabled", "hardship")
    search_fields = ("number", "address")
    list_select_related = ("grid",)


@admin.register(GridTeam)
class GridTeamAdmin(ReadOnlyAdmin):
    list_display = ("name", "org")
    search_fields = ("name",)
    list_select_related = ("org",)


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    list_display = ("date", "household", "grid", "visitor_name", "demand_id", "case")
    date_hierarchy = "date"
    list_select_related = ("household", "grid")


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("number", "category", "org", "handling_unit", "status", "due_at", "escalation_level", "outcome",
                    "rating", "created_at")
    list_filter = ("status", "outcome", "rating", "source", "category")
    search_fields = ("number",)
    date_hierarchy = "created_at"
    list_select_related = ("category", "org", "handling_unit")
    exclude = ("reporter_name", "reporter_phone")  # personal data is not for the admin lists


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdmin):
    list_display = ("case", "kind", "from_status", "to_status", "at", "unit", "level")
    list_filter = ("kind",)
    raw_id_fields = ("case",)


@admin.register(Open311Client)
class Open311ClientAdmin(ReadOnlyAdmin):
    list_display = ("name", "org", "is_active", "created_at")
    exclude = ("api_key",)  # a secret: shown once, when the client is created
