from django.urls import path

from . import views

app_name = "points"

urlpatterns = [
    path("", views.card, name="card"),
    path("privacy/", views.privacy, name="privacy"),
    path("board/", views.board, name="board"),
    path("shop/", views.shop, name="shop"),
    path("scan/", views.scan, name="scan"),
    path("rules/", views.rules, name="rules"),
]
