"""Per-organisation rates of the point-to-point service, for the inspections' funnel plot and the cockpit."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Count, Q

from xianfeng.core.rates import org_rate

from .models import Demand


def _by_path(orgs: list[Any], rows: list[tuple[str, int, int]]) -> dict[int, tuple[int, int]]:
    """Sum (x, n) of rows keyed by an organisation path into each requested organisation's subtree."""
    result: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for org in orgs:
        for path, x, n in rows:
            if path.startswith(org.path):
                result[org.pk][0] += x
                result[org.pk][1] += n
    return {pk: (x, n) for pk, (x, n) in result.items() if n}


@org_rate("demands.completed", label="服务需求完成率", numerator="已完成", denominator="已认领")
def demands_completed(orgs, *, start: dt.date | None = None, end: dt.date | None = None) -> dict[int, tuple[int, int]]:
    """Demands done / demands ever claimed (closed ones included), by the demand's organisation subtree."""
    qs = Demand.objects.filter(first_claimed_at__isnull=False)
    if start:
        qs = qs.filter(created_at__date__gte=start)
    if end:
        qs = qs.filter(created_at__date__lte=end)
    rows = list(qs.values("org__path").annotate(x=Count("id", filter=Q(status=Demand.Status.DONE)), n=Count("id"))
                .values_list("org__path", "x", "n").order_by())
    return _by_path(orgs, rows)


@org_rate("demands.claimed", label="服务需求认领率", numerator="已认领", denominator="已登记（不含关闭）")
def demands_claimed(orgs, *, start: dt.date | None = None, end: dt.date | None = None) -> dict[int, tuple[int, int]]:
    """Demands ever claimed / demands recorded (excluding those closed unclaimed), by organisation subtree."""
    qs = Demand.objects.exclude(status__in=[Demand.Status.CLOSED], first_claimed_at__isnull=True)
    if start:
        qs = qs.filter(created_at__date__gte=start)
    if end:
        qs = qs.filter(created_at__date__lte=end)
    rows = list(qs.values("org__path").annotate(x=Count("id", filter=Q(first_claimed_at__isnull=False)),
                                                n=Count("id")).values_list("org__path", "x", "n").order_by())
    return _by_path(orgs, rows)
