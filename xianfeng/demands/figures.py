"""The module's figures per organisation subtree, for one organisation and each of its children (drill-down).

Demands open / claimed / done, median hours to claim and days to complete, confirmed services per serving member,
points issued and redeemed. A handful of queries whatever the number of children; medians in Python.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Sum

from xianfeng.core.scoping import SEGMENT, subtree_q
from xianfeng.orgs.models import Organisation
from xianfeng.points.models import Award, Redemption

from .models import Demand, ServiceRecord


@dataclass
class Figures:
    org: Organisation
    total: int = 0
    open: int = 0
    claimed: int = 0
    done: int = 0
    closed: int = 0
    ever_claimed: int = 0
    hours_to_claim: list[float] = field(default_factory=list, repr=False)
    days_to_done: list[float] = field(default_factory=list, repr=False)
    services: int = 0
    serving_members: int = 0
    service_minutes: int = 0
    points_issued: int = 0
    points_redeemed: int = 0

    @property
    def median_hours_to_claim(self) -> float | None:
        return round(statistics.median(self.hours_to_claim), 1) if self.hours_to_claim else None

    @property
    def median_days_to_done(self) -> float | None:
        return round(statistics.median(self.days_to_done), 1) if self.days_to_done else None

    @property
    def services_per_member(self) -> float | None:
        return round(self.services / self.serving_members, 1) if self.serving_members else None

    @property
    def done_rate(self) -> tuple[int, int]:
        return self.done, self.ever_claimed


def _bucket(path: str, roots: dict[str, Figures], width: int) -> Figures | None:
    return roots.get(path[:width])


def figures_for(org: Organisation, *, start: dt.date | None = None, end: dt.date | None = None,
                ) -> tuple[Figures, list[Figures]]:
    """(figures of org's subtree, figures of each child's subtree) for demands created in [start, end]."""
    children = list(Organisation.objects.filter(parent=org).order_by("path"))
    total = Figures(org=org)
    rows = {c.path: Figures(org=c) for c in children}
    width = len(org.path) + SEGMENT

    def targets(path: str) -> list[Figures]:
        child = rows.get(path[:width])
        return [total, child] if child is not None else [total]

    demands = Demand.objects.filter(subtree_q("org__path", org.path))
    if start:
        demands = demands.filter(created_at__date__gte=start)
    if end:
        demands = demands.filter(created_at__date__lte=end)
    for path, status, created, claimed_at, done_at in demands.values_list(
            "org__path", "status", "created_at", "first_claimed_at", "done_at").iterator(chunk_size=5000):
        for f in targets(path):
            f.total += 1
            if status == Demand.Status.OPEN:
                f.open += 1
            elif status == Demand.Status.CLAIMED:
                f.claimed += 1
            elif status == Demand.Status.DONE:
                f.done += 1
            else:
                f.closed += 1
            if claimed_at is not None:
                f.ever_claimed += 1
                f.hours_to_claim.append((claimed_at - created).total_seconds() / 3600)
            if done_at is not None:
                f.days_to_done.append((done_at - created).total_seconds() / 86400)

    records = ServiceRecord.objects.filter(subtree_q("org__path", org.path), status=ServiceRecord.Status.CONFIRMED)
    if start:
        records = records.filter(served_on__gte=start)
    if end:
        records = records.filter(served_on__lte=end)
    members: dict[int, set[int]] = defaultdict(set)
    for path, member_id, n, minutes in (records.values("org__path", "member_id")
                                        .annotate(n=Count("id"), m=Sum("minutes"))
                                        .values_list("org__path", "member_id", "n", "m").order_by()):
        for f in targets(path):
            f.services += n
            f.service_minutes += minutes or 0
            members[id(f)].add(member_id)
    for f in [total, *rows.values()]:
        f.serving_members = len(members[id(f)])

    awards = Award.objects.filter(subtree_q("org__path", org.path))
    redemptions = Redemption.objects.filter(subtree_q("member__org__path", org.path))
    if start:
        awards = awards.filter(on__gte=start)
        redemptions = redemptions.filter(created_at__date__gte=start)
    if end:
        awards = awards.filter(on__lte=end)
        redemptions = redemptions.filter(created_at__date__lte=end)
    for path, s in awards.values("org__path").annotate(s=Sum("points")).values_list("org__path", "s").order_by():
        for f in targets(path):
            f.points_issued += s or 0
    for path, s in (redemptions.values("member__org__path").annotate(s=Sum("points"))
                    .values_list("member__org__path", "s").order_by()):
        for f in targets(path):
            f.points_redeemed += s or 0
    return total, [rows[c.path] for c in children]
