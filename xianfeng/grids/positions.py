"""The grid register answers demands' question "where is this household?" (registered with demands when the grids
app is ready; demands does not import the grids)."""

from __future__ import annotations

from typing import Any

from xianfeng.core.scoping import subtree_q

from .models import Household


def household_position(org: Any, household: str, resident: Any = None) -> tuple[float, float] | None:
    """The resident's own household row (HouseholdMember), else the household of that number in the grids of `org`'s
    subtree; None when the register does not know."""
    rows = Household.objects.filter(latitude__isnull=False, longitude__isnull=False)
    if resident is not None:
        found = rows.filter(people__resident=resident).values_list("latitude", "longitude").first()
        if found:
            return found
    if household:
        return (rows.filter(subtree_q("grid__org__path", org.path), number=household)
                .values_list("latitude", "longitude").first())
    return None
