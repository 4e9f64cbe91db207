"""Reads about people and organisations that other apps share (no app reaches into another's helpers for these)."""

from __future__ import annotations

from typing import Any

from .models import PARTY_KINDS, Member, Organisation


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
