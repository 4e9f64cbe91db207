"""Rates the campaigns module publishes for the supervision side and the cockpit."""

from __future__ import annotations

import datetime as dt

from xianfeng.core.rates import org_rate

from .services import plans_submitted_counts


@org_rate("campaigns.plans_submitted", label="活动方案报送率", numerator="已报送方案的组织",
          denominator="应报送方案的组织")
def plans_submitted(orgs, *, start: dt.date | None = None, end: dt.date | None = None) -> dict[int, tuple[int, int]]:
    """Organisations whose plan was submitted (or accepted) / organisations required to submit, by subtree, over every
    campaign requiring a plan that overlaps [start, end]."""
    return plans_submitted_counts(list(orgs), start=start, end=end)
