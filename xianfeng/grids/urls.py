from django.urls import include, path

from . import open311, views

app_name = "grids"

open311_patterns = [
    path("services.json", open311.services_list, name="open311_services"),
    path("services/<str:code>.json", open311.service_definition, name="open311_service"),
    path("requests.json", open311.requests_view, name="open311_requests"),
    path("requests/<str:number>.json", open311.request_detail, name="open311_request"),
]

urlpatterns = [
    path("", views.grid_list, name="grid_list"),
    path("<int:pk>/", views.grid_detail, name="grid_detail"),
    path("teams/", views.team_list, name="team_list"),
    path("households/<int:pk>/visit/", views.visit_new, name="visit_new"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/new/", views.case_new, name="case_new"),
    path("cases/similar/", views.case_similar, name="case_similar"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/<slug:action>/", views.case_act, name="case_act"),
    path("overdue/", views.overdue_board, name="overdue"),
    path("report/", views.report, name="report"),
    path("mine/", views.my_cases, name="my_cases"),
    path("map/", views.map_page, name="map"),
    path("map/data.json", views.map_data, name="map_data"),
    path("figures/", views.figures, name="figures"),
    path("open311/v2/", include(open311_patterns)),
]
