from django.urls import include, path, register_converter

from . import open311, views


class Open311Format:
    """The format suffix of an Open311 resource: .xml (the spec's required format) or .json."""

    regex = "json|xml"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(Open311Format, "o311")

app_name = "grids"

open311_patterns = [
    path("services.<o311:fmt>", open311.services_list, name="open311_services"),
    path("services/<str:code>.<o311:fmt>", open311.service_definition, name="open311_service"),
    path("requests.<o311:fmt>", open311.requests_view, name="open311_requests"),
    path("requests/<str:number>.<o311:fmt>", open311.request_detail, name="open311_request"),
]

urlpatterns = [
    path("", views.grid_list, name="grid_list"),
    path("<int:pk>/", views.grid_detail, name="grid_detail"),
    path("boundaries/", views.boundaries_upload, name="boundaries"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/<int:pk>/", views.team_detail, name="team_detail"),
    path("households/", views.household_list, name="household_list"),
    path("households/<int:pk>/visit/", views.visit_new, name="visit_new"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/new/", views.case_new, name="case_new"),
    path("cases/similar/", views.case_similar, name="case_similar"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/photo/", views.case_photo, name="case_photo"),
    path("cases/<int:pk>/<slug:action>/", views.case_act, name="case_act"),
    path("overdue/", views.overdue_board, name="overdue"),
    path("report/", views.report, name="report"),
    path("mine/", views.my_cases, name="my_cases"),
    path("map/", views.map_page, name="map"),
    path("map/data.json", views.map_data, name="map_data"),
    path("figures/", views.figures, name="figures"),
    path("open311/v2/", include(open311_patterns)),
]
