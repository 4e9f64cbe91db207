"""Who may see and do what with responsibility posts.

    view      staff with `view` over the community; members of the community (their branch or, dual-managed, their
              managing branch lies in it) and its residents
    change    staff with `change` over the community: define posts, open or close them, assign and end holdings,
              confirm a service on a resident's behalf
    claim     a member of the community, while the post is open
    record    the holder, on an active holding
    confirm   the resident served; staff with `change` (on the resident's behalf)
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from xianfeng.core.policy import NOTHING, OrgPolicy, in_org_scope, register
from xianfeng.orgs.models import Member, Resident
from xianfeng.orgs.selectors import member_of

from .models import Holding, Post, PostService


def _ancestors(path: str) -> list[str]:
    return [path[:i] for i in range(4, len(path) + 1, 4)]


def community_paths(user: Any) -> list[str]:
    """Paths of every organisation at or above the user's branch, managing branch and resident community: a post of
    any of them is the user's community's post. Cached on the user object."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "person_id", None):
        return []
    cache = user.__dict__.setdefault("_posts_paths", {})
    if "p" not in cache:
        paths: set[str] = set()
        member = member_of(user)
        if member is not None:
            for org in (member.org, member.managing_org):
                if org is not None:
                    paths.update(_ancestors(org.path))
        resident = Resident.objects.filter(person_id=user.person_id).select_related("org").first()
        if resident is not None:
            paths.update(_ancestors(resident.org.path))
        cache["p"] = sorted(paths)
    return cache["p"]


def member_in(member: Member, post: Post) -> bool:
    """Whether `member` belongs to the post's community, by branch or, dual-managed, by managing branch."""
    return any(o is not None and o.path.startswith(post.org.path) for o in (member.org, member.managing_org))


def _or(q: Q | None, extra: Q) -> Q | None:
    if q is None:
        return None
    return extra if q == NOTHING else q | extra


@register(Post)
class PostPolicy(OrgPolicy):
    detail_page = "posts:detail"
    detail_api = "/api/v1/posts/{pk}/"

    def scope(self, user: Any, action: str) -> Q | None:
        q = super().scope(user, action)
        if action == "view" and (paths := community_paths(user)):
            return _or(q, Q(org__path__in=paths))
        return q

    def allows(self, user: Any, action: str, obj: Any) -> bool:
        if action == "claim":
            member = member_of(user)
            return bool(obj.is_open and member is not None and member_in(member, obj))
        if action == "view":
            return in_org_scope(user, "view", [obj.org]) or obj.org.path in community_paths(user)
        return in_org_scope(user, action, [obj.org])


@register(Holding)
class HoldingPolicy(OrgPolicy):
    def scope(self, user: Any, action: str) -> Q | None:
        q = super().scope(user, action)
        if action == "view" and (paths := community_paths(user)):
            return _or(q, Q(post__org__path__in=paths))
        return q

    def allows(self, user: Any, action: str, obj: Any) -> bool:
        if action in ("record", "leave"):
            own = bool(getattr(user, "person_id", None)) and obj.member.person_id == user.person_id
            if action == "record":
                return own and obj.active
            return obj.active and (own or in_org_scope(user, "change", [obj.post.org]))
        if action == "view":
            return in_org_scope(user, "view", [obj.post.org]) or obj.post.org.path in community_paths(user)
        return in_org_scope(user, action, [obj.post.org])


@register(PostService)
class PostServicePolicy(OrgPolicy):
    def scope(self, user: Any, action: str) -> Q | None:
        q = super().scope(user, action)
        person = getattr(user, "person_id", None)
        if action == "view" and person:
            return _or(q, Q(holding__member__person_id=person) | Q(resident__person_id=person))
        return q

    def confirms_as(self, user: Any, service: PostService) -> str | None:
        """'resident' for the resident served, 'staff' for staff confirming on their behalf, None for anyone else."""
        person = getattr(user, "person_id", None)
        if person and service.resident is not None and service.resident.person_id == person:
            return "resident"
        if in_org_scope(user, "change", [service.holding.post.org]):
            return "staff"
        return None

    def allows(self, user: Any, action: str, obj: Any) -> bool:
        if action == "confirm":
            return obj.status == PostService.Status.RECORDED and self.confirms_as(user, obj) is not None
        if action == "view":
            person = getattr(user, "person_id", None)
            mine = bool(person) and (obj.holding.member.person_id == person
                                     or (obj.resident_id is not None and obj.resident.person_id == person))
            return mine or in_org_scope(user, "view", [obj.holding.post.org])
        return in_org_scope(user, action, [obj.holding.post.org])
