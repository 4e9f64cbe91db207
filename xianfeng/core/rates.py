"""Per-organisation rates the supervision side reads: the indicators (xianfeng.core.indicators) that are rates.

An app's `indicators.py` marks an indicator as a rate by giving it `rate_label` (its Chinese name in the rates panel,
funnels and report); inspections use every rate for the uneven-progress funnel plot, and the cockpit's rates panel
shows them. `compute` answers, for a list of organisations, the numerator and denominator over each organisation's
whole subtree, from the indicator's own definition (or its provider), in a few queries whatever their number.
`@org_rate` still registers a bare provider, for a rate with no indicator.
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
    """Every rate: the indicators that are rates, and any bare provider registered with @org_rate."""
    from django.utils.module_loading import autodiscover_modules

    from .indicators import indicators

    autodiscover_modules("rates")
    found = dict(_RATES)
    for key, item in indicators().items():
        if item.is_rate:
            found[key] = OrgRate(key=key, label=item.rate_label, numerator=item.rate_numerator,
                                 denominator=item.rate_denominator, provider=item.counts)
    return dict(sorted(found.items()))
