"""Per-organisation rates that modules publish and the supervision side reads.

A module registers a rate once (e.g. pledges: "share of members' pledges fulfilled"); inspections use every
registered rate for the uneven-progress funnel plot, and the cockpit shows them. A provider answers, for a list of
organisations, the numerator and denominator over each organisation's whole subtree:

    @org_rate("pledges.fulfilled", label="承诺践诺率", numerator="已践诺", denominator="已公示承诺")
    def pledges_fulfilled(orgs, *, start=None, end=None) -> dict[int, tuple[int, int]]:
        ...

Providers must answer in a few queries whatever the number of organisations (one aggregate per call, not per org).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Provider = Callable[..., dict[int, tuple[int, int]]]


@dataclass(frozen=True)
class OrgRate:
    key: str
    label: str
    numerator: str
    denominator: str
    provider: Provider

    def compute(self, orgs: Sequence[Any], *, start: dt.date | None = None,
                end: dt.date | None = None) -> dict[int, tuple[int, int]]:
        """{org id: (x, n)} for each organisation's subtree; organisations with n = 0 may be absent."""
        result = self.provider(list(orgs), start=start, end=end)
        for org_id, (x, n) in result.items():
            if not 0 <= x <= n:
                raise ValueError(f"rate {self.key} gave x={x}, n={n} for organisation {org_id}")
        return result


_RATES: dict[str, OrgRate] = {}


def org_rate(key: str, *, label: str, numerator: str, denominator: str) -> Callable[[Provider], Provider]:
    """Register a per-organisation rate provider under `key` (``app.name``)."""

    def register(fn: Provider) -> Provider:
        _RATES[key] = OrgRate(key=key, label=label, numerator=numerator, denominator=denominator, provider=fn)
        return fn

    return register


def org_rates() -> dict[str, OrgRate]:
    """Every registered rate; each app's `rates.py` is imported first so its rates are there."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("rates")
    return dict(sorted(_RATES.items()))
