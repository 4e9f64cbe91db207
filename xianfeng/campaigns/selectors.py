"""Reads of campaigns that pages and the API share: the progress matrix and the plan rate, a drive's progress, the
ventures' latest figures. No writes here (services/), and no permission rules (policies.py): callers pass what the
user may see."""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils import timezone

from xianfeng.core.scoping import path_upper_bound, subtree_q
from xianfeng.orgs.models import Organisation

from .models import (
    Campaign,
    CampaignPlan,
    Deliverable,
    DeliverableRecord,
    Drive,
    DriveProgress,
    DriveTarget,
    VentureFigure,
)


def required_orgs(campaign: Campaign, kinds: Sequence[str] | None = None):
    """Active organisations in the campaign's subtree of the given kinds (default: any deliverable's kinds)."""
    if kinds is None:
        kinds = sorted({k for d in campaign.deliverables.all() for k in d.org_kinds})
    return Organisation.objects.filter(subtree_q("path", campaign.org.path), kind__in=kinds, is_active=True)


@dataclass
class MatrixRow:
    org_id: int
    name: str
    full_name: str
    path: str
    cells: list[str]  # per deliverable: "na", "done", "missing", "overdue", or a plan status
    required: int = 0
    done: int = 0
    overdue: int = 0
    may_record: bool = False  # set by the page for the viewer

    @property
    def laggard(self) -> bool:
        return self.overdue > 0


@dataclass
class Matrix:
    deliverables: list[Deliverable]
    rows: list[MatrixRow] = field(default_factory=list)

    @property
    def laggards(self) -> list[MatrixRow]:
        return [r for r in self.rows if r.laggard]

    def column_totals(self) -> list[tuple[int, int]]:
        """(done, required) per deliverable."""
        totals = [[0, 0] for _ in self.deliverables]
        for row in self.rows:
            for i, cell in enumerate(row.cells):
                if cell != "na":
                    totals[i][1] += 1
                    totals[i][0] += cell in ("done", CampaignPlan.Status.ACCEPTED)
        return [(d, n) for d, n in totals]


def progress_matrix(campaign: Campaign, *, within: Organisation | None = None,
                    today: dt.date | None = None) -> Matrix:
    """Organisations × deliverables for the campaign's subtree (or `within`'s part of it), in three queries.

    A cell is "na" (not required of this kind), "done", "missing", "overdue" (missing after the due date) or, for the
    plan, its status — "overdue" when it is still a draft, returned or absent after the due date. A row with any
    overdue cell is a laggard.
    """
    today = today or timezone.localdate()
    deliverables = list(campaign.deliverables.all())
    kinds = sorted({k for d in deliverables for k in d.org_kinds})
    orgs = Organisation.objects.filter(subtree_q("path", campaign.org.path), kind__in=kinds, is_active=True)
    if within is not None:
        orgs = orgs.filter(subtree_q("path", within.path))
    org_rows = list(orgs.order_by("path").values_list("id", "name", "full_name", "path", "kind"))
    plans = dict(CampaignPlan.objects.filter(campaign=campaign).values_list("org_id", "status"))
    done = set(DeliverableRecord.objects.filter(deliverable__campaign=campaign).values_list("deliverable_id", "org_id"))
    matrix = Matrix(deliverables=deliverables)
    kind_sets = [set(d.org_kinds) for d in deliverables]
    late = [d.due < today for d in deliverables]
    waiting = (CampaignPlan.Status.DRAFT, CampaignPlan.Status.RETURNED, None)
    for org_id, name, full_name, path, kind in org_rows:
        row = MatrixRow(org_id=org_id, name=name, full_name=full_name, path=path, cells=[])
        for i, d in enumerate(deliverables):
            if kind not in kind_sets[i]:
                row.cells.append("na")
                continue
            row.required += 1
            if d.code == Deliverable.PLAN:
                status = plans.get(org_id)
                if status == CampaignPlan.Status.ACCEPTED:
                    row.done += 1
                if status in waiting and late[i]:
                    row.cells.append("overdue")
                    row.overdue += 1
                else:
                    row.cells.append(status or "missing")
            elif (d.pk, org_id) in done:
                row.done += 1
                row.cells.append("done")
            elif late[i]:
                row.cells.append("overdue")
                row.overdue += 1
            else:
                row.cells.append("missing")
        matrix.rows.append(row)
    return matrix


SUBMITTED_STATES = (CampaignPlan.Status.SUBMITTED, CampaignPlan.Status.ACCEPTED)


def plans_submitted_counts(orgs: list[Organisation], *, start: dt.date | None = None,
                           end: dt.date | None = None) -> dict[int, tuple[int, int]]:
    """For each org's subtree: (organisations whose plan is submitted or accepted, organisations required to submit),
    over every campaign that requires a plan and overlaps [start, end]. Three queries whatever the number of orgs."""
    items = Deliverable.objects.filter(code=Deliverable.PLAN).select_related("campaign__org")
    if start is not None:
        items = items.filter(campaign__end__gte=start)
    if end is not None:
        items = items.filter(campaign__start__lte=end)
    required: list[tuple[str, int]] = []  # (org path, 1 if submitted)
    for item in items:
        submitted = set(CampaignPlan.objects.filter(campaign_id=item.campaign_id, status__in=SUBMITTED_STATES)
                        .values_list("org_id", flat=True))
        for org_id, path in (Organisation.objects.filter(subtree_q("path", item.campaign.org.path),
                                                         kind__in=item.org_kinds, is_active=True)
                             .values_list("id", "path")):
            required.append((path, 1 if org_id in submitted else 0))
    required.sort()
    paths = [p for p, _ in required]
    prefix = [0]
    for _, s in required:
        prefix.append(prefix[-1] + s)
    result: dict[int, tuple[int, int]] = {}
    for org in orgs:
        lo = bisect.bisect_left(paths, org.path)
        upper = path_upper_bound(org.path)
        hi = len(paths) if upper is None else bisect.bisect_left(paths, upper)
        if hi > lo:
            result[org.pk] = (prefix[hi] - prefix[lo], hi - lo)
    return result


@dataclass
class DriveRow:
    target: DriveTarget
    achieved: int
    as_of: dt.date | None
    may_report: bool = False  # set by the page for the viewer
    history: list[DriveProgress] = field(default_factory=list)  # every report, newest first

    @property
    def pct(self) -> int:
        return min(100, round(self.achieved * 100 / self.target.target)) if self.target.target else 0


def drive_progress(drive: Drive, targets=None) -> list[DriveRow]:
    """Each target with its latest report (by date, then entry) and its whole history (two queries)."""
    targets = list((targets if targets is not None else drive.targets.all()).select_related("org"))
    history: dict[int, list[DriveProgress]] = defaultdict(list)
    for report in (DriveProgress.objects.filter(target__in=targets).select_related("by", "corrects")
                   .order_by("target_id", "-date", "-id")):
        history[report.target_id].append(report)
    rows = []
    for t in targets:
        reports = history.get(t.pk, [])
        latest = reports[0] if reports else None
        rows.append(DriveRow(t, latest.achieved if latest else 0, latest.date if latest else None, history=reports))
    return rows


def drive_elapsed_pct(drive: Drive, today: dt.date | None = None) -> int:
    today = today or timezone.localdate()
    total = (drive.end - drive.start).days
    return max(0, min(100, round((today - drive.start).days * 100 / total)))


def latest_figures(ventures) -> dict[int, VentureFigure]:
    """Each venture's most recent figures (one query)."""
    result: dict[int, VentureFigure] = {}
    for row in VentureFigure.objects.filter(venture__in=ventures).order_by("venture_id", "date", "id"):
        result[row.venture_id] = row
    return result
