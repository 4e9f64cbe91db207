"""Reads the pledge pages and the API share."""

from __future__ import annotations

from typing import Any

from django.db import models

from xianfeng.core.scoping import scope_paths
from xianfeng.orgs.models import Organisation


def pledge_orgs(user: Any) -> list[Organisation]:
    """Party organisations the user may make a pledge for (组织承诺): those in change scope at most one level below
    the user's own roles (a community secretary: the community's branch), 50 at most."""
    paths = scope_paths(user, "change")
    if not paths:
        return []
    depth = min(len(p) for p in paths) // 4 + 1
    qs: Any = Organisation.objects.restrict(user, "change")
    return list(qs.party().filter(is_active=True, depth__lte=depth).order_by("path")[:50])


def scope_roots(user: Any, orgs: models.QuerySet) -> models.QuerySet:
    """The organisations at the top of the user's view scope, from `orgs` (those the user may view): the tree's
    roots for a superuser."""
    paths = scope_paths(user, "view")
    return orgs.filter(depth=1) if paths is None else orgs.filter(path__in=paths or [])
