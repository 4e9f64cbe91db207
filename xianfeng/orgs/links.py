"""Who sees and decides link requests (关联申请): the one place that says so, used by the services, pages and API.

    requester side — a `change` role over the organisation the person would join (LinkRequest.org)
    decider side   — a `change` role over the organisation that answers for the person (LinkRequest.holder); for a
                     person with no organisation, a `change` role at the root (the county) or the person themself
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from xianfeng.core.scoping import SEGMENT, can, scope_paths, scope_q

from .models import LinkRequest


def may_decide(user: Any, link: LinkRequest) -> bool:
    """Whether `user` may accept or decline `link`."""
    if not getattr(user, "is_authenticated", False):
        return False
    paths = scope_paths(user, "change")
    if paths is None:
        return True
    if link.holder_id is not None:
        return can(user, "change", link.holder)
    return any(len(p) == SEGMENT for p in paths) or (user.person_id is not None and user.person_id == link.person_id)


def may_cancel(user: Any, link: LinkRequest) -> bool:
    """The requester, or anyone with `change` over the organisation asked for, may withdraw a pending request."""
    if not getattr(user, "is_authenticated", False):
        return False
    return link.requested_by_id == user.pk or can(user, "change", link.org)


def decidable_q(user: Any) -> Q:
    """Requests `user` may decide (a Q over LinkRequest)."""
    paths = scope_paths(user, "change")
    if paths is None:
        return Q()
    parts = Q(pk__in=[])
    if paths:
        parts |= scope_q(["holder__path"], paths)
        if any(len(p) == SEGMENT for p in paths):
            parts |= Q(holder__isnull=True)
    if getattr(user, "person_id", None):
        parts |= Q(holder__isnull=True, person_id=user.person_id)
    return parts


def visible(user: Any):
    """Link requests `user` may see: those asked for organisations in the user's `change` scope, the user's own, and
    those the user may decide."""
    qs = LinkRequest.objects.select_related("person", "org", "holder", "requested_by", "decided_by")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    paths = scope_paths(user, "change")
    if paths is None:
        return qs
    q = Q(requested_by=user) | decidable_q(user)
    if paths:
        q |= scope_q(["org__path"], paths)
    return qs.filter(q)
