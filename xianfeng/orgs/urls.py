from django.urls import path

from . import views

app_name = "orgs"

urlpatterns = [
    path("", views.tree, name="tree"),
    path("<int:pk>/", views.org_detail, name="org_detail"),
    path("members/", views.member_list, name="member_list"),
    path("members/<int:pk>/", views.member_detail, name="member_detail"),
    path("contact-points/", views.contact_point_list, name="contact_point_list"),
    path("<int:pk>/children/", views.children, name="children"),
    path("members/<int:pk>/unmask/", views.member_unmask, name="member_unmask"),
    path("contact-points/<int:pk>/", views.contact_point_detail, name="contact_point_detail"),
    path("guidance-groups/", views.guidance_group_list, name="guidance_group_list"),
    path("guidance-groups/<int:pk>/", views.guidance_group_detail, name="guidance_group_detail"),
]

# Roster import and member export (views_roster).
from . import views_roster  # noqa: E402

urlpatterns += [
    path("roster/import/", views_roster.roster_import, name="roster_import"),
    path("roster/import/<uuid:token>/", views_roster.roster_preview, name="roster_preview"),
    path("roster/import/<uuid:token>/errors.xlsx", views_roster.roster_errors, name="roster_errors"),
    path("roster/template.xlsx", views_roster.roster_template, name="roster_template"),
    path("members/export.xlsx", views_roster.member_export, name="member_export"),
]

# Link requests (views_links).
from . import views_links  # noqa: E402

urlpatterns += [
    path("link-requests/", views_links.link_request_list, name="link_request_list"),
    path("link-requests/new/", views_links.link_request_create, name="link_request_create"),
    path("link-requests/<int:pk>/", views_links.link_request_detail, name="link_request_detail"),
    path("link-requests/<int:pk>/decide/", views_links.link_request_decide, name="link_request_decide"),
    path("link-requests/<int:pk>/cancel/", views_links.link_request_cancel, name="link_request_cancel"),
]
