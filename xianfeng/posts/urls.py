from django.urls import path

from . import views

app_name = "posts"

urlpatterns = [
    path("", views.post_list, name="list"),
    path("new/", views.post_create, name="create"),
    path("<int:pk>/", views.post_detail, name="detail"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("<int:pk>/open/", views.set_open, name="set_open"),
    path("holdings/<int:pk>/leave/", views.leave, name="leave"),
    path("services/<int:pk>/", views.service_detail, name="service"),
    path("board/<int:org_pk>/", views.board, name="board"),
]
