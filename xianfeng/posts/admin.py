"""Posts, holdings and post services are written only by posts.services (caps, scope checks, audit rows)."""

from django.contrib import admin

from xianfeng.core.admin import ReadOnlyAdmin

from .models import Holding, Post, PostService


@admin.register(Post)
class PostAdmin(ReadOnlyAdmin):
    list_display = ("name", "org", "area", "capacity", "holders_count", "is_open")
    list_select_related = ("org",)


@admin.register(Holding)
class HoldingAdmin(ReadOnlyAdmin):
    list_display = ("post", "member", "started_on", "ended_on")
    list_select_related = ("post", "member__person")


@admin.register(PostService)
class PostServiceAdmin(ReadOnlyAdmin):
    list_display = ("holding", "served_on", "minutes", "status", "points")
    list_select_related = ("holding__post", "holding__member__person")
