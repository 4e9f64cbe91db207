"""Where a household is, for demands' distances: asked of the register that knows (the grids app registers its
household register with `register(locator)` when it is ready), so demands does not import the grids.

A locator takes (org, household number, resident or None) and returns (latitude, longitude) or None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Locator = Callable[[Any, str, Any], "tuple[float, float] | None"]
_locators: list[Locator] = []


def register(locator: Locator) -> Locator:
    if locator not in _locators:
        _locators.append(locator)
    return locator


def household_position(org: Any, household: str, resident: Any = None) -> tuple[float, float] | None:
    """The first position a registered register knows; None when none does (or no register is installed)."""
    for locator in _locators:
        found = locator(org, household, resident)
        if found is not None:
            return found
    return None
