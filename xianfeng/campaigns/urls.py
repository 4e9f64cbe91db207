from django.urls import path

from . import views

app_name = "campaigns"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("<int:pk>/plans/<int:org_id>/", views.plan_edit, name="plan"),
    path("meetings/", views.meeting_list, name="meeting_list"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting_detail"),
    path("follow-ups/", views.follow_up_list, name="follow_up_list"),
    path("follow-ups/<int:pk>/close/", views.follow_up_close, name="follow_up_close"),
    path("contact-map/", views.contact_map, name="contact_map"),
    path("awards/", views.award_list, name="award_list"),
    path("awards/<int:pk>/", views.award_detail, name="award_detail"),
    path("advisors/", views.advisor_list, name="advisor_list"),
    path("ventures/", views.venture_list, name="venture_list"),
    path("ventures/<int:pk>/", views.venture_detail, name="venture_detail"),
    path("drives/<int:pk>/", views.drive_detail, name="drive_detail"),
    path("bulletins/", views.bulletin_list, name="bulletin_list"),
    path("bulletins/<int:pk>/publish/", views.bulletin_publish, name="bulletin_publish"),
]
