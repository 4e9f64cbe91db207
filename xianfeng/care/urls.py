from django.urls import path

from . import views

app_name = "care"

urlpatterns = [
    path("", views.console, name="console"),
    path("console/rows/", views.console_rows, name="console_rows"),
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert_detail"),
    path("alerts/<int:pk>/<str:action>/", views.alert_action, name="alert_action"),
    path("ack/<str:token>/", views.ack, name="ack"),
    path("funds/", views.fund_list, name="fund_list"),
    path("funds/<int:pk>/", views.fund_detail, name="fund_detail"),
    path("funds/<int:pk>/statement.xlsx", views.fund_statement_xlsx, name="fund_statement_xlsx"),
    path("funds/<int:pk>/allocate/", views.fund_allocate, name="fund_allocate"),
    path("disbursements/<int:pk>/<str:action>/", views.disbursement_action, name="disbursement_action"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/new/", views.case_new, name="case_new"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/carers/", views.case_carers, name="case_carers"),
    path("devices/", views.device_list, name="device_list"),
    path("devices/new/", views.device_new, name="device_new"),
    path("devices/<int:pk>/", views.device_detail, name="device_detail"),
    path("devices/<int:pk>/edit/", views.device_edit, name="device_edit"),
    path("devices/<int:pk>/contacts/", views.device_contact, name="device_contact"),
    path("policies/", views.policy_list, name="policy_list"),
    path("policies/new/", views.policy_new, name="policy_new"),
    path("policies/<int:pk>/", views.policy_edit, name="policy_edit"),
    path("figures/", views.figures_page, name="figures"),
    path("ingress/", views.ingress, name="ingress"),
]
