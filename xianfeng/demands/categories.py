"""Which demand categories an organisation offers: its own list, else the nearest list above it, else the defaults.

    categories_for(hebin)        → ["助老", "助残", …]   (one query)
    category_list_owner(hebin)   → the organisation whose list applies, or None for the built-in defaults

Writes are in services.py (category_list_set, category_list_inherit).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from xianfeng.core.scoping import subtree_q
from xianfeng.orgs.models import Organisation

from .models import DEFAULT_CATEGORIES, DemandCategory


def _prefixes(path: str) -> list[str]:
    return [path[:i] for i in range(4, len(path) + 1, 4)]


@dataclass(frozen=True)
class CategoryList:
    """The categories in force for an organisation: `names` (active, in order), `inactive` (switched off at the
    owner), and `owner_id` (None = the built-in defaults)."""

    names: tuple[str, ...]
    inactive: tuple[str, ...] = ()
    owner_id: int | None = None


def category_list(org: Organisation) -> CategoryList:
    """The list of the nearest organisation at or above `org` that has one (one query)."""
    rows = list(DemandCategory.objects.filter(org__path__in=_prefixes(org.path))
                .order_by("-org__depth", "position", "id").values_list("org_id", "name", "is_active"))
    if not rows:
        return CategoryList(names=DEFAULT_CATEGORIES)
    owner = rows[0][0]
    mine = [(name, active) for org_id, name, active in rows if org_id == owner]
    return CategoryList(names=tuple(n for n, a in mine if a), inactive=tuple(n for n, a in mine if not a),
                        owner_id=owner)


def categories_for(org: Organisation) -> list[str]:
    """The active category names `org` offers, in order."""
    return list(category_list(org).names)


def category_list_owner(org: Organisation) -> Organisation | None:
    owner_id = category_list(org).owner_id
    return Organisation.objects.filter(pk=owner_id).first() if owner_id else None


def categories_under(paths: list[str]) -> list[str]:
    """Every active name offered anywhere in the subtrees at `paths` (for a filter or a form spanning several
    communities, or a staff scope): the list in force at each path, then the lists set inside the subtrees, in
    order, each name once. One query."""
    if not paths:
        return list(DEFAULT_CATEGORIES)
    q = Q(org__path__in={p for path in paths for p in _prefixes(path)})
    for path in paths:
        q |= subtree_q("org__path", path)
    rows = list(DemandCategory.objects.filter(q).order_by("org__depth", "position", "id")
                .values_list("org__path", "name", "is_active"))
    names: dict[str, None] = {}
    for path in paths:
        above = [r for r in rows if path.startswith(r[0])]
        if not above:
            names.update(dict.fromkeys(DEFAULT_CATEGORIES))
            continue
        owner = max(len(r[0]) for r in above)
        names.update(dict.fromkeys(name for p, name, active in above if len(p) == owner and active))
    names.update(dict.fromkeys(name for p, name, active in rows
                               if active and any(p.startswith(path) and p != path for path in paths)))
    return list(names) or list(DEFAULT_CATEGORIES)
