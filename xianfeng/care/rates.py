"""Per-organisation rates of the care module, for the inspections funnel plot and the cockpit."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Q

from xianfeng.core.rates import org_rate

from .figures import CALL_KINDS, in_period
from .models import Alert


def _ack_within(orgs, seconds: int, start, end) -> dict[int, tuple[int, int]]:
    """Calls (presses and test presses) raised in the period in each organisation's subtree, and how many of them
    were acknowledged within `seconds`. One aggregate by the alert's organisation, rolled up the tree by path."""
    qs = in_period(Alert.objects.filter(kind__in=CALL_KINDS), start, end)
    grouped = (qs.values("org__path").annotate(n=Count("id"), x=Count("id", filter=Q(ack_seconds__lte=seconds)))
               .order_by())
    wanted = {org.path: org.pk for org in orgs}
    result: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for row in grouped:
        path = row["org__path"]
        for cut in range(4, len(path) + 1, 4):
            org_id = wanted.get(path[:cut])
            if org_id is not None:
                result[org_id][0] += row["x"]
                result[org_id][1] += row["n"]
    return {org_id: (x, n) for org_id, (x, n) in result.items()}


@org_rate("care.ack_60s", label="一键通60秒内响应率", numerator="60秒内响应的呼叫", denominator="呼叫")
def ack_60s(orgs, *, start=None, end=None):
    return _ack_within(orgs, 60, start, end)


@org_rate("care.ack_180s", label="一键通180秒内响应率", numerator="180秒内响应的呼叫", denominator="呼叫")
def ack_180s(orgs, *, start=None, end=None):
    return _ack_within(orgs, 180, start, end)
