"""Figures over organisation subtrees: members pledged, published, fulfilled, overdue, satisfaction, formulaic share.

Counts are grouped by the pledge's organisation in one query per figure, then summed over each asked organisation's
subtree with a binary search over the sorted paths — a few queries whatever the number of organisations.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q

from xianfeng.core.scoping import path_upper_bound
from xianfeng.orgs.models import Member

from .models import OPEN_STATES, PUBLIC_STATES, Pledge, Rating, Status

FIGURES = ("members", "pledged", "pledges", "published", "fulfilled", "overdue", "formulaic", "ratings", "satisfied")


@dataclass
class Figures:
    """One organisation subtree's figures (numerators with their denominators)."""

    org: Any
    values: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIGURES, 0))

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(name)

    def share(self, x: str, n: str) -> float | None:
        return self.values[x] / self.values[n] if self.values[n] else None

    @property
    def fulfilled_rate(self) -> float | None:
        return self.share("fulfilled", "published")

    @property
    def formulaic_rate(self) -> float | None:
        return self.share("formulaic", "pledges")

    @property
    def satisfaction(self) -> float | None:
        return self.share("satisfied", "ratings")

    @property
    def pledged_rate(self) -> float | None:
        return self.share("pledged", "members")


class Rollup:
    """Per-path counts summed over subtrees."""

    def __init__(self, by_path: dict[str, int]):
        self.paths = sorted(by_path)
        self.prefix = [0]
        for path in self.paths:
            self.prefix.append(self.prefix[-1] + by_path[path])

    def subtree(self, path: str) -> int:
        lo = bisect.bisect_left(self.paths, path)
        upper = path_upper_bound(path)
        hi = len(self.paths) if upper is None else bisect.bisect_left(self.paths, upper)
        return self.prefix[hi] - self.prefix[lo]


def _by_path(qs, path_field: str, **aggregates) -> dict[str, dict[str, int]]:
    rows = qs.order_by().values(path_field).annotate(**aggregates)
    return {row[path_field]: {k: row[k] for k in aggregates} for row in rows}


def pledge_counts(pledges, names: Sequence[str], today: dt.date) -> dict[str, Rollup]:
    """Rollups of the named pledge figures over `pledges` (a Pledge queryset)."""
    aggregates = {
        "pledges": Count("id", filter=~Q(status=Status.DRAFT)),
        "published": Count("id", filter=Q(status__in=PUBLIC_STATES)),
        "fulfilled": Count("id", filter=Q(fulfilled_on__isnull=False)),
        "overdue": Count("id", filter=Q(status__in=OPEN_STATES, due_date__lt=today)),
        "formulaic": Count("id", filter=~Q(status=Status.DRAFT) & Q(formulaic=True)),
        "pledged": Count("member_id", filter=~Q(status=Status.DRAFT), distinct=True),
    }
    wanted = {k: v for k, v in aggregates.items() if k in names}
    if not wanted:
        return {}
    grouped = _by_path(pledges, "org__path", **wanted)
    return {name: Rollup({path: values[name] for path, values in grouped.items()}) for name in wanted}


def figures_for(orgs: Sequence[Any], *, pledges=None, today: dt.date | None = None,
                round_id: int | None = None) -> list[Figures]:
    """Every figure for each organisation's subtree."""
    from django.utils import timezone

    today = today or timezone.localdate()
    pledges = Pledge.objects.all() if pledges is None else pledges
    if round_id:
        pledges = pledges.filter(round_id=round_id)
    rollups = pledge_counts(pledges, FIGURES, today)
    members = Rollup({row["org__path"]: row["n"] for row in Member.objects.active().order_by()
                      .values("org__path").annotate(n=Count("id"))})
    # members who pledged: the registered indicator (indicators.py), members counted where they are now; with a
    # round, those with a pledge past the draft in that round
    if round_id:
        who = Member.objects.active().filter(pk__in=pledges.exclude(status=Status.DRAFT).values("member_id"))
    else:
        from .indicators import MEMBERS_PLEDGED

        who = MEMBERS_PLEDGED.records(today)
    rollups["pledged"] = Rollup({row["org__path"]: row["n"] for row in who.order_by().values("org__path")
                                 .annotate(n=Count("id"))})
    ratings_qs = Rating.objects.filter(pledge__in=pledges.values("id"))
    rating_rows = _by_path(ratings_qs, "pledge__org__path", ratings=Count("id"),
                           satisfied=Count("id", filter=Q(value__in=[Rating.Value.SATISFIED, Rating.Value.BASIC])))
    ratings = Rollup({p: v["ratings"] for p, v in rating_rows.items()})
    satisfied = Rollup({p: v["satisfied"] for p, v in rating_rows.items()})
    result = []
    for org in orgs:
        figures = Figures(org=org)
        for name, rollup in rollups.items():
            figures.values[name] = rollup.subtree(org.path)
        figures.values["members"] = members.subtree(org.path)
        figures.values["ratings"] = ratings.subtree(org.path)
        figures.values["satisfied"] = satisfied.subtree(org.path)
        result.append(figures)
    return result
