from django.urls import path

from . import views

app_name = "demands"

urlpatterns = [
    path("", views.board, name="board"),
    path("new/", views.create, name="create"),
    path("mine/", views.mine, name="mine"),
    path("pairings/", views.pairings, name="pairings"),
    path("figures/", views.figures, name="figures"),
    path("list/", views.demand_list, name="list"),
    path("withdrawals/", views.withdrawals, name="withdrawals"),
    path("categories/", views.categories, name="categories"),
    path("export.xlsx", views.export, name="export"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("<int:pk>/close/", views.close, name="close"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/record/", views.record, name="record"),
    path("records/<int:pk>/confirm/", views.confirm, name="confirm"),
    path("records/<int:pk>/photo/", views.record_photo, name="record_photo"),
]
