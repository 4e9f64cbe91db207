from django.urls import path

from . import views

app_name = "events"

urlpatterns = [
    path("", views.activity_list, name="activity_list"),
    path("new/", views.activity_create, name="activity_create"),
    path("export.xlsx", views.activity_export, name="activity_export"),
    path("attendance.xlsx", views.attendance_export_all, name="attendance_export_all"),
    path("<int:pk>/", views.activity_detail, name="activity_detail"),
    path("<int:pk>/edit/", views.activity_edit, name="activity_edit"),
    path("<int:pk>/signup/", views.activity_signup, name="activity_signup"),
    path("<int:pk>/signup/cancel/", views.activity_signup_cancel, name="activity_signup_cancel"),
    path("<int:pk>/cancel/", views.activity_cancel, name="activity_cancel"),
    path("<int:pk>/qr/", views.activity_qr, name="activity_qr"),
    path("<int:pk>/qr/code/", views.activity_qr_code, name="activity_qr_code"),
    path("<int:pk>/scan/", views.activity_scan, name="activity_scan"),
    path("<int:pk>/attendance/", views.attendance, name="attendance"),
    path("<int:pk>/attendance.xlsx", views.attendance_export, name="attendance_export"),
    path("checkin/<str:token>/", views.checkin, name="checkin"),
    path("attendance/<int:pk>/check-out/", views.attendance_check_out, name="check_out"),
    path("my/", views.my_activities, name="my"),
    path("my/code/", views.my_code, name="my_code"),
    path("hours/", views.hours_review, name="hours"),
    path("hours/<int:pk>/decide/", views.hours_decide, name="hours_decide"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/new/", views.team_create, name="team_create"),
    path("teams/<int:pk>/", views.team_detail, name="team_detail"),
    path("teams/<int:pk>/edit/", views.team_edit, name="team_edit"),
    path("teams/<int:pk>/stop/", views.team_deactivate, name="team_deactivate"),
    path("teams/<int:pk>/join/", views.team_join, name="team_join"),
    path("teams/<int:pk>/invite/", views.team_invite, name="team_invite"),
    path("teams/members/<int:pk>/decide/", views.team_member_decide, name="team_member_decide"),
    path("figures/", views.figures, name="figures"),
    path("lessons/members/", views.lesson_members, name="lesson_members"),
    path("certificates/", views.certificates, name="certificates"),
    path("certificates/<int:pk>.pdf", views.certificate_pdf_view, name="certificate_pdf"),
    path("verify/", views.verify, name="verify"),
    path("calendars/", views.calendars, name="calendars"),
    path("calendars/<str:token>.ics", views.feed, name="feed"),
]
