"""Reads the events pages share: the organisations at the top of a user's scope."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from xianfeng.core.scoping import scope_paths
from xianfeng.orgs.models import Organisation


def scope_roots(user: Any, action: str = "view") -> QuerySet[Organisation]:
    """The organisations at the top of `user`'s scope for `action` (the roots of the tree for a superuser)."""
    paths = scope_paths(user, action)
    return Organisation.objects.filter(depth=1) if paths is None else Organisation.objects.filter(path__in=paths)


def first_root(user: Any, action: str = "view") -> Organisation | None:
    """The first organisation of `user`'s scope (where a figures page opens), or None without a scope."""
    paths = scope_paths(user, action)
    if paths == []:
        return None
    visible = Organisation.objects.restrict(user, action)
    return visible.filter(depth=1).first() if paths is None else visible.filter(path=paths[0]).first()
