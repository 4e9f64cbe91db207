"""The one permission gate: `Model.objects.restrict(user, action)`.

A user sees an organisation-owned object only if it lies in the subtree of an organisation where the user holds a
role that grants the action. Out of scope is indistinguishable from missing (views answer 404).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Q

PATH_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SEGMENT = 4  # characters per tree level: 36**4 = 1.68 M children per parent

ADMIN_KINDS = frozenset({"county_admin", "org_admin"})
STAFF_KINDS = ADMIN_KINDS | {"secretary"}
FIELD_KINDS = STAFF_KINDS | {"grid_worker", "duty_officer", "inspector"}

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "view": FIELD_KINDS,  # read organisation data in the subtree
    "change": STAFF_KINDS,  # write organisation data in the subtree
    "admin": ADMIN_KINDS,  # manage the tree itself and grant roles
    "unmask": STAFF_KINDS,  # see ID numbers and phones unmasked (each view audited)
    "export": STAFF_KINDS,  # download lists (each export audited)
    "inspect": frozenset({"inspector", "county_admin"}),
    "take_part": STAFF_KINDS | {"member"},  # act as a party member (one's own pledges, …): menu entries for members
}


def encode_segment(n: int) -> str:
    """The n-th child's path segment, fixed width, in an alphabet that sorts the same in every collation."""
    if not 0 <= n < len(PATH_ALPHABET) ** SEGMENT:
        raise ValueError("too many children under one organisation")
    chars = []
    for _ in range(SEGMENT):
        n, r = divmod(n, len(PATH_ALPHABET))
        chars.append(PATH_ALPHABET[r])
    return "".join(reversed(chars))


def path_upper_bound(path: str) -> str | None:
    """The smallest string above every path that starts with `path` (None if there is none).

    A subtree is then the range `path <= p < bound`, which uses a plain B-tree index on SQLite and PostgreSQL alike.
    """
    chars = list(path)
    for i in range(len(chars) - 1, -1, -1):
        pos = PATH_ALPHABET.index(chars[i])
        if pos + 1 < len(PATH_ALPHABET):
            chars[i] = PATH_ALPHABET[pos + 1]
            return "".join(chars[: i + 1])
    return None


def subtree_q(field: str, path: str) -> Q:
    """Q for rows whose `field` (a path column) lies in the subtree rooted at `path`."""
    q = Q(**{f"{field}__gte": path})
    upper = path_upper_bound(path)
    if upper is not None:
        q &= Q(**{f"{field}__lt": upper})
    return q


def minimal_paths(paths: Iterable[str]) -> list[str]:
    """Drop every path that lies inside another one of the list."""
    result: list[str] = []
    for p in sorted(set(paths)):
        if not result or not p.startswith(result[-1]):
            result.append(p)
    return result


def scope_paths(user: Any, action: str) -> list[str] | None:
    """The subtree roots where `user` may do `action`; None means everywhere (superuser). Cached on the user object."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return []
    if user.is_superuser:
        return None
    cache = user.__dict__.setdefault("_scope_cache", {})
    if action not in cache:
        kinds = ROLE_ACTIONS.get(action)
        if kinds is None:
            raise ValueError(f"unknown action {action!r}")
        if "_roles" not in cache:  # one query per user object, however many actions are asked
            role = apps.get_model("orgs", "Role")  # by name: the orgs app builds on core, core imports no app
            cache["_roles"] = list(role._default_manager.filter(user=user).values_list("kind", "org__path"))
        cache[action] = minimal_paths(path for kind, path in cache["_roles"] if kind in kinds)
    return cache[action]


def is_system_admin(user: Any) -> bool:
    """Who may use the system-wide pages (the job queue, the SMS outbox, sign-in locks): a superuser, or a county
    administrator of a root of the organisation tree. Cached on the user object with the scopes."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if user.is_superuser:
        return True
    cache = user.__dict__.setdefault("_scope_cache", {})
    if "system_admin" not in cache:
        cache["system_admin"] = user.roles.filter(kind="county_admin", org__depth=1).exists()
    return cache["system_admin"]


def clear_scope_cache(user: Any) -> None:
    user.__dict__.pop("_scope_cache", None)


def scope_q(fields: Iterable[str], paths: list[str]) -> Q:
    parts = [subtree_q(field, path) for field in fields for path in paths]
    return functools.reduce(operator.or_, parts)


ANY_LIMIT = 5000  # organisations; see policy.OrgPolicy.filter


class ScopedQuerySet(models.QuerySet):
    """QuerySet base for organisation-owned models.

    The model names the organisation it belongs to in `scope_org_fields` (e.g. ("org",) or ("org", "managing_org"));
    the Organisation model itself uses ("",), meaning its own path.
    """

    def restrict(self, user: Any, action: str = "view") -> ScopedQuerySet:
        """The rows `user` may do `action` on, as the model's policy (core/policy.py, the app's policies.py) says."""
        from .policy import policy_for  # policy builds on this module

        return policy_for(self.model).filter(self, user, action)  # type: ignore[return-value]

    def in_subtree(self, org: Any) -> ScopedQuerySet:
        fields = getattr(self.model, "scope_org_fields", ("org",))
        field = f"{fields[0]}__path" if fields[0] else "path"
        return self.filter(subtree_q(field, org.path))


def can(user: Any, action: str, org: Any) -> bool:
    """Whether `user` may do `action` on something that belongs to `org`."""
    paths = scope_paths(user, action)
    if paths is None:
        return True
    return any(org.path.startswith(p) for p in paths)
