"""Live counts of the rolled-up figures, straight from the module tables (what the rollups must equal)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, Sum
from django.utils import timezone

from xianfeng.care.models import Alert
from xianfeng.cockpit import metrics
from xianfeng.cockpit.figures import subtree_totals
from xianfeng.core.scoping import subtree_q
from xianfeng.demands.models import Demand, ServiceRecord
from xianfeng.events.models import Activity, Attendance, Team
from xianfeng.grids.models import Case, Household, Visit
from xianfeng.grids.rates import on_time_counts
from xianfeng.orgs.models import Member, Organisation
from xianfeng.pledges.models import PUBLIC_STATES, Pledge
from xianfeng.points.models import Award, Redemption


def direct(org: Organisation) -> dict[str, int]:
    """Every rolled-up figure of `org`'s subtree counted straight from the module tables."""
    inside = subtree_q("org__path", org.path)
    pledges = Pledge.objects.filter(inside)
    cases = Case.objects.filter(inside)
    start_of_today = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
    due = on_time_counts(cases, now=start_of_today - dt.timedelta(microseconds=1))
    since = timezone.localdate() - dt.timedelta(days=89)
    households = Household.objects.filter(subtree_q("grid__org__path", org.path))
    calls = Alert.objects.filter(inside, kind__in=["press", "test"])
    members = Member.objects.filter(inside).exclude(status="left")
    return {
        "members": members.count(),
        "members_pledged": members.filter(pk__in=Pledge.objects.exclude(status="draft").values("member_id")).count(),
        "pledges": pledges.exclude(status="draft").count(),
        "pledges_published": pledges.filter(status__in=PUBLIC_STATES).count(),
        "pledges_fulfilled": pledges.filter(fulfilled_on__isnull=False).count(),
        "pledges_formulaic": pledges.exclude(status="draft").filter(formulaic=True).count(),
        "demands": Demand.objects.filter(inside).count(),
        "demands_claimed": Demand.objects.filter(inside, first_claimed_at__isnull=False).count(),
        "demands_done": Demand.objects.filter(inside, status="done", first_claimed_at__isnull=False).count(),
        "demands_claimable": Demand.objects.filter(inside).exclude(status="closed", first_claimed_at__isnull=True)
        .count(),
        "services": ServiceRecord.objects.filter(inside).count(),
        "services_confirmed": ServiceRecord.objects.filter(inside, status="confirmed").count(),
        "points_issued": Award.objects.filter(inside).aggregate(s=Sum("points"))["s"] or 0,
        "points_redeemed": Redemption.objects.filter(subtree_q("reward__shop__path", org.path))
        .aggregate(s=Sum("points"))["s"] or 0,
        "teams": Team.objects.filter(inside).count(),
        "activities": Activity.objects.filter(inside).exclude(status="cancelled").count(),
        "lessons": Activity.objects.filter(inside, kind="lesson").exclude(status="cancelled").count(),
        "attendances": Attendance.objects.filter(subtree_q("activity__org__path", org.path)).count(),
        "lesson_attendances": Attendance.objects.filter(subtree_q("activity__org__path", org.path),
                                                        activity__kind="lesson").count(),
        "households": households.count(),
        "households_visited": households.filter(visits__date__gte=since).distinct().count(),
        "visits": Visit.objects.filter(subtree_q("grid__org__path", org.path)).count(),
        "cases": cases.exclude(status="merged").count(),
        "cases_closed": cases.filter(status="closed").count(),
        "cases_on_time": due.filter(status="closed", closed_on_time=True).count(),
        "on_time_due": due.count(),
        "calls": calls.count(),
        "calls_ack60": calls.filter(Q(ack_seconds__lte=60)).count(),
        "calls_ack180": calls.filter(Q(ack_seconds__lte=180)).count(),
    }


def rolled(org: Organisation) -> dict[str, int]:
    t = subtree_totals(org)
    values = {key: t[key] for key in metrics.metric_keys()}
    values["on_time_due"] = t.on_time_due
    return values
