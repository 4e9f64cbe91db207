"""The catalogue and the holiday list are configured in the admin, through the audited services; the rest is
read-only there."""

import datetime as dt

from django.urls import reverse

from xianfeng.core.models import AuditEvent
from xianfeng.grids.models import Case, CaseCategory, WorkCalendarDay


def test_a_category_is_added_and_changed_through_the_services(gw, world, admin_client):
    response = admin_client.post(reverse("admin:grids_casecategory_add"), {
        "code": "0701", "name": "井盖缺失", "group": "城市管理", "description": "", "keywords": "井盖",
        "deadline_kind": "working_days", "deadline_value": 2, "accept_hours": 2, "escalate_hours": 12,
        "duplicate_radius_m": 100, "is_active": "on"})
    assert response.status_code == 302
    category = CaseCategory.objects.get(code="0701")
    assert AuditEvent.objects.filter(summary="派单目录 井盖缺失").exists()
    response = admin_client.post(reverse("admin:grids_casecategory_change", args=[category.pk]), {
        "name": "井盖缺失或破损", "group": "城市管理", "description": "", "keywords": "井盖",
        "deadline_kind": "same_day", "deadline_value": 1, "accept_hours": 2, "escalate_hours": 12,
        "duplicate_radius_m": 100, "is_active": "on"})
    assert response.status_code == 302
    category.refresh_from_db()
    assert category.deadline_kind == "same_day" and category.code == "0701"
    event = AuditEvent.objects.get(summary="修改派单目录 井盖缺失或破损")
    assert event.before["deadline_kind"] == "working_days" and event.after["deadline_kind"] == "same_day"


def test_a_bad_category_changes_nothing(gw, world, admin_client):
    response = admin_client.post(reverse("admin:grids_casecategory_change", args=[gw.quick.pk]), {
        "name": "", "deadline_kind": "working_days", "deadline_value": 0, "accept_hours": 2, "escalate_hours": 12,
        "duplicate_radius_m": 100})
    assert response.status_code == 200  # the form again, with its errors
    gw.quick.refresh_from_db()
    assert gw.quick.name == "道路破损"


def test_holidays_are_set_and_cleared_with_an_audit_row_each(gw, world, admin_client):
    day = dt.date(2026, 12, 31)
    response = admin_client.post(reverse("admin:grids_workcalendarday_add"), {
        "date": day.isoformat(), "name": "元旦前调休", "is_workday": ""})
    assert response.status_code == 302 and WorkCalendarDay.objects.get(date=day).is_workday is False
    entry = WorkCalendarDay.objects.get(date=day)
    response = admin_client.post(reverse("admin:grids_workcalendarday_delete", args=[entry.pk]), {"post": "yes"})
    assert response.status_code == 302 and not WorkCalendarDay.objects.filter(date=day).exists()
    assert AuditEvent.objects.filter(summary=f"取消节假日调整 {day}").exists()


def test_cases_are_read_only_in_the_admin(gw, world, admin_client):
    assert admin_client.get(reverse("admin:grids_case_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:grids_case_add")).status_code == 403
    assert not Case.objects.exists()
