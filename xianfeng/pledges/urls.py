from django.urls import path

from . import views

app_name = "pledges"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("new/", views.pledge_new, name="new"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.pledge_edit, name="edit"),
    path("<int:pk>/do/<str:name>/", views.action, name="action"),
    path("<int:pk>/progress/", views.progress, name="progress"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("<int:pk>/peer-rate/", views.peer_rate, name="peer_rate"),
    path("items/<int:pk>/review/", views.item_review, name="item_review"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("list/", views.pledge_list, name="list"),
    path("figures/", views.figures, name="figures"),
    path("clusters/", views.clusters, name="clusters"),
    path("export.xlsx", views.export, name="export"),
    path("moderation/", views.moderation, name="moderation"),
    path("comments/<int:pk>/<str:verb>/", views.comment_moderate, name="comment_moderate"),
    # public: no sign-in, no personal data
    path("board/<int:org_id>/", views.board, name="board"),
    path("board/language/", views.language, name="language"),
    path("board/<int:org_id>/poster/", views.poster, name="poster"),
    path("board/pledge/<int:pk>/", views.board_pledge, name="board_pledge"),
    path("board/pledge/<int:pk>/rate/", views.board_rate, name="board_rate"),
    path("board/pledge/<int:pk>/comment/", views.board_comment, name="board_comment"),
    path("board/comments/<int:pk>/report/", views.comment_report, name="comment_report"),
    path("signup/", views.resident_signup, name="resident_signup"),
]
