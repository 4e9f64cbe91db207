"""Per-organisation rates the inspections funnel plot and the cockpit read (xianfeng.core.rates)."""

from __future__ import annotations

from django.utils import timezone

from xianfeng.core.rates import org_rate

from .models import Pledge
from .stats import pledge_counts


def _pledges(start, end):
    qs = Pledge.objects.all()
    if start is not None:
        qs = qs.filter(round__end__gte=start)
    if end is not None:
        qs = qs.filter(round__start__lte=end)
    return qs


def _rate(orgs, x: str, n: str, start, end) -> dict[int, tuple[int, int]]:
    rollups = pledge_counts(_pledges(start, end), (x, n), timezone.localdate())
    result = {}
    for org in orgs:
        total = rollups[n].subtree(org.path)
        if total:
            result[org.pk] = (rollups[x].subtree(org.path), total)
    return result


@org_rate("pledges.fulfilled", label="承诺践诺率", numerator="已践诺", denominator="已公示承诺")
def pledges_fulfilled(orgs, *, start=None, end=None) -> dict[int, tuple[int, int]]:
    """Fulfilled pledges over published ones, in rounds overlapping [start, end], by the pledge's org subtree."""
    return _rate(orgs, "fulfilled", "published", start, end)


@org_rate("pledges.formulaic", label="承诺程式化比例", numerator="程式化承诺", denominator="已提交承诺")
def pledges_formulaic(orgs, *, start=None, end=None) -> dict[int, tuple[int, int]]:
    """Pledges flagged formulaic over pledges submitted (drafts excluded), by the pledge's org subtree."""
    return _rate(orgs, "formulaic", "pledges", start, end)
