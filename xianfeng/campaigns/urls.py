from django.urls import path

from .views import advisors, awards, bulletins, drives, meetings, plans, ventures

app_name = "campaigns"

urlpatterns = [
    path("", plans.index, name="index"),
    path("new/", plans.campaign_create, name="campaign_create"),
    path("<int:pk>/", plans.campaign_detail, name="campaign_detail"),
    path("<int:pk>/edit/", plans.campaign_edit, name="campaign_edit"),
    path("<int:pk>/plans/<int:org_id>/", plans.plan_edit, name="plan"),
    path("<int:pk>/deliverables/<int:deliverable_id>/<int:org_id>/", plans.deliverable_record,
         name="deliverable_record"),
    path("meetings/", meetings.meeting_list, name="meeting_list"),
    path("meetings/new/", meetings.meeting_create, name="meeting_create"),
    path("meetings/<int:pk>/", meetings.meeting_detail, name="meeting_detail"),
    path("meetings/<int:pk>/follow-ups/", meetings.meeting_follow_up_add, name="meeting_follow_up_add"),
    path("follow-ups/", meetings.follow_up_list, name="follow_up_list"),
    path("follow-ups/<int:pk>/close/", meetings.follow_up_close, name="follow_up_close"),
    path("contact-map/", meetings.contact_map, name="contact_map"),
    path("guidance/", meetings.guidance, name="guidance"),
    path("guidance/<int:pk>/follow-ups/", meetings.visit_follow_up_add, name="visit_follow_up_add"),
    path("awards/", awards.award_list, name="award_list"),
    path("awards/new/", awards.award_create, name="award_create"),
    path("awards/<int:pk>/", awards.award_detail, name="award_detail"),
    path("awards/<int:pk>/nominate/", awards.nominate, name="nominate"),
    path("advisors/", advisors.advisor_list, name="advisor_list"),
    path("advisors/batches/new/", advisors.advisor_batch_create, name="advisor_batch_create"),
    path("advisors/new/", advisors.advisor_place, name="advisor_place"),
    path("advisors/<int:pk>/", advisors.advisor_detail, name="advisor_detail"),
    path("ventures/", ventures.venture_list, name="venture_list"),
    path("ventures/new/", ventures.venture_create, name="venture_create"),
    path("ventures/<int:pk>/", ventures.venture_detail, name="venture_detail"),
    path("ventures/<int:pk>/record/", ventures.venture_record, name="venture_record"),
    path("drives/", drives.drive_list, name="drive_list"),
    path("drives/new/", drives.drive_create, name="drive_create"),
    path("drives/<int:pk>/", drives.drive_detail, name="drive_detail"),
    path("drives/<int:pk>/targets/", drives.drive_target_add, name="drive_target_add"),
    path("bulletins/", bulletins.bulletin_list, name="bulletin_list"),
    path("bulletins/<int:pk>/publish/", bulletins.bulletin_publish, name="bulletin_publish"),
]
