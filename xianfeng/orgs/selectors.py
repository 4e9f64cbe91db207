"""Reads about people and organisations that other apps share (no app reaches into another's helpers for these)."""

from __future__ import annotations

from typing import Any

from django.db import models

from xianfeng.core.scoping import scope_paths

from .models import PARTY_KINDS, LinkRequest, Member, Organisation


def member_of(user: Any) -> Member | None:
    """The Member behind a signed-in user, if any (cached on the user object)."""
    if not getattr(user, "is_authenticated", False) or not user.person_id:
        return None
    cache = user.__dict__.setdefault("_demands_member", {})
    if "m" not in cache:
        cache["m"] = Member.objects.select_related("org", "managing_org", "person").filter(
            person_id=user.person_id).exclude(status=Member.Status.LEFT).first()
    return cache["m"]


def community_of(org: Organisation) -> Organisation:
    """The nearest unit (village, community, …) at or above `org`: a branch's community."""
    if org.kind not in PARTY_KINDS:
        return org
    prefixes = [org.path[:i] for i in range(4, len(org.path), 4)]
    unit = (Organisation.objects.filter(path__in=prefixes).exclude(kind__in=PARTY_KINDS).order_by("-depth").first())
    return unit or org


def scope_roots(user: Any, action: str = "view") -> models.QuerySet:
    """The organisations at the top of `user`'s scope for `action` (the tree page starts from them): the roots of
    the tree for a superuser, none for a user with no such role."""
    paths = scope_paths(user, action)
    visible = Organisation.objects.restrict(user, action)
    return visible.filter(depth=1) if paths is None else visible.filter(path__in=paths)


def link_requests(user: Any, action: str = "view") -> models.QuerySet:
    """Link requests `user` may do `action` on (LinkRequest policy), with what their pages show."""
    from xianfeng.core.policy import visible

    qs = LinkRequest.objects.select_related("person", "org", "holder", "requested_by", "decided_by")
    return visible(qs, user, action)

