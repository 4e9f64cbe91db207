"""The cockpit's figures for one organisation's subtree: rollup sums, a few live counts of small tables, the
children table and the monthly trends. A page costs a fixed handful of queries whatever the subtree's size."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xianfeng.core.scoping import subtree_q
from xianfeng.orgs.models import PARTY_KINDS, Organisation

from .models import SubtreeMonth

TREND_METRICS = ("pledges", "pledges_fulfilled", "services", "attendances", "visits", "cases", "cases_closed", "calls")
TREND_MONTHS = 12


def link(name: str, *args: Any, **query: Any) -> str:
    """The address of a module's page with a query string; "" if the page does not exist (a module renamed it)."""
    try:
        url = reverse(name, args=args)
    except NoReverseMatch:
        return ""
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


@dataclass
class Figure:
    """One headline figure: a value, optionally over a denominator, and the address of the records behind it."""

    key: str
    label: str
    value: int | float
    url: str = ""
    denominator: int | None = None
    denominator_label: str = ""
    unit: str = ""
    live: bool = False  # counted from the module's table on each request (small tables) rather than from rollups

    @property
    def rate(self) -> float | None:
        if self.denominator is None or not self.denominator:
            return None
        return self.value / self.denominator

    @property
    def display(self) -> str:
        if isinstance(self.value, float):
            return f"{self.value:,.2f}"
        return f"{self.value:,}"

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": str(self.label), "value": self.value, "denominator": self.denominator,
                "denominator_label": str(self.denominator_label), "rate": self.rate, "unit": str(self.unit),
                "url": self.url, "source": "live" if self.live else "rollup"}


@dataclass
class Section:
    key: str
    label: str
    figures: list[Figure] = field(default_factory=list)


class Totals:
    """The subtree totals of one organisation, metric by metric (0 for a metric with no rows)."""

    def __init__(self, sums: dict[str, int]):
        self.sums = sums

    def __getitem__(self, metric: str) -> int:
        return self.sums.get(metric, 0)

    @property
    def on_time_due(self) -> int:
        """按期办结率's denominator as of the start of today (metrics._due)."""
        return self["cases_due"]


def subtree_totals(org: Organisation) -> Totals:
    """One indexed read of the organisation's own subtree rows, however big the subtree."""
    rows = SubtreeMonth.objects.filter(org=org).values("metric").annotate(total=Sum("value")).order_by()
    return Totals({r["metric"]: int(r["total"]) for r in rows})


def children_totals(children: list[Organisation]) -> dict[int, Totals]:
    """Subtree totals for each child, in one query over the children's rows."""
    rows = (SubtreeMonth.objects.filter(org_id__in=[c.pk for c in children]).values("org_id", "metric")
            .annotate(total=Sum("value")).order_by())
    by_org: dict[int, dict[str, int]] = defaultdict(dict)
    for r in rows:
        by_org[r["org_id"]][r["metric"]] = int(r["total"])
    return {child.pk: Totals(by_org.get(child.pk, {})) for child in children}


def live_counts(org: Organisation) -> dict[str, int]:
    """Counts read live: these tables stay small even for a province (funds, inspections, award rounds)."""
    from xianfeng.campaigns.models import AwardRound
    from xianfeng.care.models import CareFund
    from xianfeng.inspections.models import Finding, Inspection, Rectification

    inside = subtree_q("org__path", org.path)
    rect = Rectification.objects.filter(inside).aggregate(n=Count("id"), open=Count("id", filter=~Q(status="closed")))
    findings = Finding.objects.filter(subtree_q("inspection__org__path", org.path)).aggregate(
        n=Count("id", filter=~Q(status="dropped")), accepted=Count("id", filter=Q(status="accepted")))
    awards = AwardRound.objects.filter(inside).aggregate(n=Count("id"), published=Count("id", filter=Q(status="published")))
    return {
        "fund_balance": CareFund.objects.filter(inside).aggregate(s=Sum("account__balance"))["s"] or 0,
        "funds": CareFund.objects.filter(inside).count(),
        "inspections": Inspection.objects.filter(inside).count(),
        "findings": findings["n"], "findings_accepted": findings["accepted"],
        "rectifications": rect["n"], "rectifications_open": rect["open"],
        "award_rounds": awards["n"], "award_rounds_published": awards["published"],
    }


def sections(org: Organisation, t: Totals, live: dict[str, int]) -> list[Section]:
    """Every module's headline figures, each with its denominator and the list page of the records behind it."""
    o = org.pk

    def f(key, label, value, url, denominator=None, denominator_label="", unit="", is_live=False):
        return Figure(key, label, value, url, denominator, denominator_label, unit, is_live)

    return [
        Section("orgs", _("Organisations and members"), [
            f("orgs", _("Organisations"), t["orgs"], link("orgs:org_detail", o)),
            f("members", _("Members"), t["members"], link("orgs:member_list", within=o)),
        ]),
        Section("pledges", _("Pledges"), [
            f("pledges", _("Pledges made"), t["pledges"], link("pledges:list", org=o), t["members"], _("members")),
            f("pledges_fulfilled", _("Pledges fulfilled"), t["pledges_fulfilled"],
              link("pledges:list", org=o, status="fulfilled"), t["pledges_published"], _("published pledges")),
            f("pledges_formulaic", _("Formulaic pledges"), t["pledges_formulaic"],
              link("pledges:list", org=o, formulaic=1), t["pledges"], _("pledges made")),
        ]),
        Section("demands", _("Demands, services and points"), [
            f("demands", _("Demands recorded"), t["demands"], link("demands:figures", org=o)),
            f("demands_claimed", _("Demands claimed"), t["demands_claimed"], link("demands:figures", org=o),
              t["demands"], _("demands recorded")),
            f("demands_done", _("Demands done"), t["demands_done"], link("demands:figures", org=o),
              t["demands_claimed"], _("demands claimed")),
            f("services_confirmed", _("Services confirmed by residents"), t["services_confirmed"],
              link("demands:figures", org=o), t["services"], _("services recorded")),
            f("points_issued", _("Points issued"), t["points_issued"], link("points:board", org=o), unit=_("points")),
            f("points_redeemed", _("Points redeemed"), t["points_redeemed"], link("points:board", org=o),
              t["points_issued"], _("points issued"), _("points")),
        ]),
        Section("events", _("Lessons, teams and activities"), [
            f("lessons", _("Party lessons held"), t["lessons"], link("events:activity_list", within=o, kind="lesson"),
              t["activities"], _("activities")),
            f("lesson_attendances", _("Lesson attendances"), t["lesson_attendances"],
              link("events:lesson_members", org=o), t["attendances"], _("all attendances")),
            f("activities", _("Activities"), t["activities"], link("events:activity_list", within=o)),
            f("teams", _("Volunteer teams"), t["teams"], link("events:team_list")),
        ]),
        Section("grids", _("Grids and cases"), [
            f("households_visited", _("Households visited in 90 days"), t["households_visited"],
              link("grids:grid_list", within=o), t["households"], _("households")),
            f("visits", _("Household visits"), t["visits"], link("grids:grid_list", within=o)),
            f("cases", _("Cases opened"), t["cases"], link("grids:case_list", within=o, status="all")),
            f("cases_on_time", _("Cases closed on time"), t["cases_on_time"],
              link("grids:case_list", within=o, status="closed"), t.on_time_due, _("cases due (less suspended)")),
        ]),
        Section("care", _("Care"), [
            f("calls_ack60", _("Calls acknowledged within 60 s"), t["calls_ack60"], link("care:figures"),
              t["calls"], _("calls")),
            f("fund_balance", _("Care-fund balance"), live["fund_balance"] / 100, link("care:fund_list"),
              unit=_("yuan"), is_live=True),
            f("aid_fen", _("Aid paid"), t["aid_fen"] / 100, link("care:fund_list"), unit=_("yuan")),
            f("aid_count", _("Aid payments"), t["aid_count"], link("care:fund_list")),
            f("care_actions", _("Care visits and actions"), t["care_actions"], link("care:case_list")),
        ]),
        Section("supervision", _("Inspections and awards"), [
            f("inspections", _("Inspections"), live["inspections"], link("inspections:list"), is_live=True),
            f("findings_accepted", _("Findings accepted"), live["findings_accepted"], link("inspections:list"),
              live["findings"], _("findings drafted"), is_live=True),
            f("rectifications_open", _("Open rectifications"), live["rectifications_open"],
              link("inspections:my_rectifications"), live["rectifications"], _("rectifications"), is_live=True),
            f("award_rounds_published", _("Award rounds published"), live["award_rounds_published"],
              link("campaigns:award_list"), live["award_rounds"], _("award rounds"), is_live=True),
        ]),
    ]


CHILD_COLUMNS = [
    ("members", _("Members"), None),
    ("pledges_fulfilled", _("Pledges fulfilled"), "pledges_published"),
    ("services_confirmed", _("Services confirmed"), "services"),
    ("lesson_attendances", _("Lesson attendances"), None),
    ("households_visited", _("Households visited"), "households"),
    ("cases_on_time", _("Closed on time"), "on_time_due"),
    ("calls_ack60", _("Calls acknowledged ≤ 60 s"), "calls"),
]


@dataclass
class ChildRow:
    org: Organisation
    orgs: int
    cells: list[tuple[int, int | None]]  # (value, denominator or None)


def _cell(t: Totals, key: str, denominator: str | None) -> tuple[int, int | None]:
    if denominator is None:
        return t[key], None
    return t[key], (t.on_time_due if denominator == "on_time_due" else t[denominator])


def children_rows(org: Organisation) -> list[ChildRow]:
    children = list(Organisation.objects.filter(parent=org).order_by("path"))
    totals = children_totals(children)
    return [ChildRow(child, totals[child.pk]["orgs"],
                     [_cell(totals[child.pk], key, den) for key, _label, den in CHILD_COLUMNS]) for child in children]


def trends(org: Organisation, today: dt.date) -> dict[str, Any]:
    """Monthly sums of the trend metrics over the last 12 months (this month included)."""
    first = (today.replace(day=1) - dt.timedelta(days=31 * (TREND_MONTHS - 1))).replace(day=1)
    months: list[dt.date] = []
    m = first
    while m <= today:
        months.append(m)
        m = (m + dt.timedelta(days=32)).replace(day=1)
    rows = (SubtreeMonth.objects.filter(org=org, metric__in=TREND_METRICS, month__gte=first, month__lte=today)
            .values("metric", "month").annotate(v=Sum("value")).order_by())
    series: dict[str, dict[str, int]] = defaultdict(dict)
    for r in rows:
        month = r["month"]
        key = (month.date() if isinstance(month, dt.datetime) else month).strftime("%Y-%m")
        series[r["metric"]][key] = int(r["v"])
    labels = [m.strftime("%Y-%m") for m in months]
    return {"months": labels, "series": {k: [series[k].get(label, 0) for label in labels] for k in TREND_METRICS}}


@dataclass
class Cockpit:
    org: Organisation
    today: dt.date
    totals: Totals
    live: dict[str, int]
    sections: list[Section]
    children: list[ChildRow]
    trends: dict[str, Any]
    ancestors: list[Organisation]

    def figure(self, key: str) -> Figure:
        return next(fig for s in self.sections for fig in s.figures if fig.key == key)


def cockpit_for(org: Organisation, *, today: dt.date | None = None, with_children: bool = True) -> Cockpit:
    today = today or timezone.localdate()
    totals = subtree_totals(org)
    live = live_counts(org)
    return Cockpit(org=org, today=today, totals=totals, live=live, sections=sections(org, totals, live),
                   children=children_rows(org) if with_children else [],
                   trends=trends(org, today), ancestors=list(org.ancestors()))


def unit_descendants(org: Organisation):
    """Every organisation in the subtree below `org` that is a unit (not a party organisation), by path."""
    return (Organisation.objects.filter(subtree_q("path", org.path)).exclude(pk=org.pk)
            .exclude(kind__in=PARTY_KINDS).order_by("path"))
