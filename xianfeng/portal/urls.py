from django.urls import path

from . import feeds, views

app_name = "portal"

urlpatterns = [
    path("", views.index, name="index"),
    path("news/", views.bulletin_list, name="bulletin_list"),
    path("news/<int:pk>/", views.bulletin_detail, name="bulletin"),
    path("news/rss/", feeds.BulletinFeed(), name="feed_rss"),
    path("news/atom/", feeds.BulletinAtomFeed(), name="feed_atom"),
    path("awards/<int:pk>/", views.award, name="award"),
    path("awards/vote/<int:nomination_id>/", views.vote, name="vote"),
    path("awards/object/<int:nomination_id>/", views.objection, name="objection"),
]
