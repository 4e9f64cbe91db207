from django.urls import path

from . import views, views_edit

app_name = "campaigns"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views_edit.campaign_create, name="campaign_create"),
    path("<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("<int:pk>/edit/", views_edit.campaign_edit, name="campaign_edit"),
    path("<int:pk>/plans/<int:org_id>/", views.plan_edit, name="plan"),
    path("<int:pk>/deliverables/<int:deliverable_id>/<int:org_id>/", views_edit.deliverable_record,
         name="deliverable_record"),
    path("meetings/", views.meeting_list, name="meeting_list"),
    path("meetings/new/", views_edit.meeting_create, name="meeting_create"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting_detail"),
    path("meetings/<int:pk>/follow-ups/", views_edit.meeting_follow_up_add, name="meeting_follow_up_add"),
    path("follow-ups/", views.follow_up_list, name="follow_up_list"),
    path("follow-ups/<int:pk>/close/", views.follow_up_close, name="follow_up_close"),
    path("contact-map/", views.contact_map, name="contact_map"),
    path("guidance/", views_edit.guidance, name="guidance"),
    path("guidance/<int:pk>/follow-ups/", views_edit.visit_follow_up_add, name="visit_follow_up_add"),
    path("awards/", views.award_list, name="award_list"),
    path("awards/new/", views_edit.award_create, name="award_create"),
    path("awards/<int:pk>/", views.award_detail, name="award_detail"),
    path("awards/<int:pk>/nominate/", views_edit.nominate, name="nominate"),
    path("advisors/", views.advisor_list, name="advisor_list"),
    path("advisors/batches/new/", views_edit.advisor_batch_create, name="advisor_batch_create"),
    path("advisors/new/", views_edit.advisor_place, name="advisor_place"),
    path("advisors/<int:pk>/", views_edit.advisor_detail, name="advisor_detail"),
    path("ventures/", views.venture_list, name="venture_list"),
    path("ventures/new/", views_edit.venture_create, name="venture_create"),
    path("ventures/<int:pk>/", views.venture_detail, name="venture_detail"),
    path("ventures/<int:pk>/record/", views_edit.venture_record, name="venture_record"),
    path("drives/", views_edit.drive_list, name="drive_list"),
    path("drives/new/", views_edit.drive_create, name="drive_create"),
    path("drives/<int:pk>/", views.drive_detail, name="drive_detail"),
    path("drives/<int:pk>/targets/", views_edit.drive_target_add, name="drive_target_add"),
    path("bulletins/", views.bulletin_list, name="bulletin_list"),
    path("bulletins/<int:pk>/publish/", views.bulletin_publish, name="bulletin_publish"),
]
