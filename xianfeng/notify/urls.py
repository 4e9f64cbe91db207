from django.urls import path

from . import views

app_name = "notify"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/read/", views.mark_read, name="mark_read"),
    path("read-all/", views.mark_all_read, name="mark_all_read"),
    path("badge/", views.badge, name="badge"),
    path("sent/", views.sent_to_me, name="sent"),
    path("sent/<int:pk>/", views.delivery_detail, name="delivery_detail"),
    path("preferences/", views.preferences, name="preferences"),
    path("sms-outbox/", views.sms_outbox, name="sms_outbox"),
    path("receipts/<slug:provider>/<str:token>/", views.receipts, name="receipts"),
]
