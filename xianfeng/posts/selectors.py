"""Reads the pages and the API share: the posts a user sees, a community's board, what waits for a resident."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from xianfeng.core import policy
from xianfeng.orgs.models import Organisation

from .models import Holding, Post, PostService


def posts_for(user: Any) -> QuerySet[Post]:
    """The posts `user` may see, with their organisation and active holders, newest communities' first."""
    active = Holding.objects.filter(ended_on__isnull=True).select_related("member__person").order_by("started_on", "id")
    return (policy.visible(Post, user).select_related("org")
            .prefetch_related(Prefetch("holdings", queryset=active, to_attr="active_holdings"))
            .order_by("org__path", "name", "id"))


def board(org: Organisation) -> QuerySet[Post]:
    """The public board of a village or community: its posts, holders and confirmed services (counts only)."""
    active = Holding.objects.filter(ended_on__isnull=True).select_related("member__person").order_by("started_on", "id")
    return (Post.objects.filter(org=org).select_related("org")
            .prefetch_related(Prefetch("holdings", queryset=active, to_attr="active_holdings"))
            .annotate(services_confirmed=Count("holdings__services",
                                               filter=Q(holdings__services__status=PostService.Status.CONFIRMED)))
            .order_by("name", "id"))


def holdings_of(user: Any) -> QuerySet[Holding]:
    """The user's own active holdings."""
    if not getattr(user, "person_id", None):
        return Holding.objects.none()
    return (Holding.objects.filter(member__person_id=user.person_id, ended_on__isnull=True)
            .select_related("post__org").order_by("post__name"))


def to_confirm(user: Any) -> QuerySet[PostService]:
    """Services recorded for the user as the resident served, waiting for their confirmation."""
    if not getattr(user, "person_id", None):
        return PostService.objects.none()
    return (PostService.objects.filter(resident__person_id=user.person_id, status=PostService.Status.RECORDED)
            .select_related("holding__post", "holding__member__person").order_by("-served_on", "-id"))


def post_figures(post: Post) -> dict[str, int]:
    """Services on a post: recorded, confirmed, minutes and points of the confirmed ones."""
    qs = PostService.objects.filter(holding__post=post)
    confirmed = qs.filter(status=PostService.Status.CONFIRMED).aggregate(minutes=Sum("minutes"), points=Sum("points"))
    return {"recorded": qs.count(), "confirmed": qs.filter(status=PostService.Status.CONFIRMED).count(),
            "minutes": confirmed["minutes"] or 0, "points": confirmed["points"] or 0}
