"""The registered rates (xianfeng.core.rates) for an organisation and its units, and the funnel plot of one of them
with the exact binomial limits of xianfeng.inspections.stats."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from xianfeng.core.rates import org_rates
from xianfeng.inspections import stats
from xianfeng.orgs.models import PARTY_KINDS, Organisation

from .figures import unit_descendants

MAX_FUNNEL_UNITS = 2000
log = logging.getLogger(__name__)


def _compute(rate, orgs: list[Organisation]) -> dict[int, tuple[int, int]] | None:
    """A module's rate for these organisations; None (logged) if the module's provider fails, so one module's
    fault shows as "unavailable" instead of breaking the cockpit."""
    try:
        return rate.compute(orgs)
    except Exception:
        log.exception("rate %s failed", rate.key)
        return None


def funnel_units(org: Organisation) -> list[Organisation]:
    """The units compared in the funnel: the unit children, or (for a county) the units two levels down when the
    children are too few to compare, or the party organisations below a village."""
    children = [c for c in Organisation.objects.filter(parent=org).order_by("path") if c.kind not in PARTY_KINDS]
    if len(children) >= 10 or not children:
        return children or list(Organisation.objects.filter(parent=org).order_by("path")[:MAX_FUNNEL_UNITS])
    depth = org.depth + 2
    below = list(unit_descendants(org).filter(depth=depth)[:MAX_FUNNEL_UNITS])
    return below if len(below) > len(children) else children


def rate_table(org: Organisation, units: list[Organisation]) -> list[dict[str, Any]]:
    """Each registered rate for the organisation's subtree: x, n, the rate and its 95 % Wilson interval."""
    rows = []
    for key, rate in org_rates().items():
        counts = _compute(rate, [org])
        x, n = (counts or {}).get(org.pk, (0, 0))
        lo, hi = stats.wilson(x, n) if n else (None, None)
        rows.append({"key": key, "label": rate.label, "numerator": rate.numerator, "denominator": rate.denominator,
                     "x": x, "n": n, "rate": x / n if n else None, "lo": lo, "hi": hi, "failed": counts is None})
    return rows


def funnel_data(key: str, units: list[Organisation]) -> dict[str, Any] | None:
    """The funnel plot of registered rate `key` over `units`, ready for ECharts; None for an unknown key."""
    rate = org_rates().get(key)
    if rate is None:
        return None
    counts = _compute(rate, units)
    if counts is None:
        return None
    f = stats.funnel(counts)
    names = {u.pk: u.name for u in units}
    points = [{"name": names.get(p.org_id, str(p.org_id)), "org": p.org_id, "x": p.x, "n": p.n, "rate": p.rate,
               "below95": p.below95, "below998": p.below998, "above998": p.above998} for p in f.points]
    curves: dict[str, list[list[float]]] = {"l95": [], "u95": [], "l998": [], "u998": []}
    if f.points:
        top = max(p.n for p in f.points)
        ns = np.unique(np.round(np.geomspace(1, max(top, 2), 60)).astype(int))
        l95, u95 = stats.funnel_limits(ns, f.target, 0.95)
        l998, u998 = stats.funnel_limits(ns, f.target, 0.998)
        for name, values in (("l95", l95), ("u95", u95), ("l998", l998), ("u998", u998)):
            curves[name] = [[int(n), round(float(v), 5)] for n, v in zip(ns, values, strict=True)]
    return {"key": key, "label": rate.label, "numerator": rate.numerator, "denominator": rate.denominator,
            "target": f.target, "x": f.x, "n": f.n, "points": points, "curves": curves,
            "below": [p["name"] for p in points if p["below998"]]}
