"""The grids module's indicators (xianfeng.core.indicators): households, visits and cases."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xianfeng.core.indicators import Indicator, Measure, link, on_date, on_datetime, on_today, register, trend, watch

VISIT_WINDOW_DAYS = 90


def visit_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """The coverage window: the 90 days ending today, today included."""
    return today - dt.timedelta(days=VISIT_WINDOW_DAYS - 1), today


def _visited(today: dt.date) -> Q:
    from .models import Visit

    since, until = visit_window(today)
    return Q(Exists(Visit.objects.filter(household=OuterRef("pk"), date__gte=since, date__lte=until)))


def _due(today: dt.date) -> Q:
    """按期办结率's denominator as of the start of `today`: cases with a deadline, neither suspended (缓办) nor merged,
    whose deadline has passed or which are closed. Recomputed with the organisation and by the nightly rebuild as
    deadlines pass."""
    midnight = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    return ~Q(status__in=["suspended", "merged"]) & Q(due_at__isnull=False) & (Q(due_at__lt=midnight) |
                                                                                Q(status="closed"))


def _on_time(today: dt.date) -> Q:
    return _due(today) & Q(status="closed", closed_on_time=True)


HOUSEHOLDS = Measure("households", "grids.Household", "grid__org_id", on_datetime("created_at"))
VISITED = Measure("households_visited", "grids.Household", "grid__org_id", on_today(), _visited, snapshot=True)
VISITS = Measure("visits", "grids.Visit", "grid__org_id", on_date("date"))
OPENED = Measure("cases", "grids.Case", "org_id", on_datetime("created_at"), lambda t: ~Q(status="merged"))
CLOSED = Measure("cases_closed", "grids.Case", "org_id", lambda t: Coalesce(TruncDate("closed_at"),
                                                                          TruncDate("created_at")),
                 lambda t: Q(status="closed"))
# counted on the day the case fell due, so a period (start, end) selects by deadline like on_time_counts
DUE = Measure("cases_due", "grids.Case", "org_id", on_datetime("due_at"), _due)
ON_TIME = Measure("cases_on_time", "grids.Case", "org_id", on_datetime("due_at"), _on_time)

register(Indicator(
    "grids.visit_coverage", _("Households visited in the last 90 days"), VISITED, HOUSEHOLDS,
    _("households in grids"), section="grids", order=10, window=_("last 90 days"),
    list_url=lambda o: link("grids:household_list", within=o, visited=VISIT_WINDOW_DAYS),
    rate_label="走访覆盖率（近90天）", rate_numerator="近90天已走访户", rate_denominator="网格内户数"))
register(Indicator("grids.visits", _("Household visits"), VISITS, section="grids", order=20,
                   page_url=lambda o: link("grids:grid_list", within=o)))
register(Indicator("grids.cases", _("Cases opened (merged duplicates excluded)"), OPENED, section="grids", order=30,
                   list_url=lambda o: link("grids:case_list", within=o, figure="closure", part="n")))
register(Indicator(
    "grids.on_time", _("Cases closed on time"), ON_TIME, DUE, _("cases due (less suspended)"), section="grids",
    order=40, list_url=lambda o: link("grids:case_list", within=o, figure="on_time", part="x"),
    rate_label="按期办结率", rate_numerator="按期办结", rate_denominator="应办结（扣除缓办）"))
register(Indicator("grids.closed", _("Cases closed"), CLOSED, OPENED, _("cases opened"), order=50,
                   list_url=lambda o: link("grids:case_list", within=o, figure="closure", part="x")))

trend(VISITS, _("Household visits"), 50)
trend(OPENED, _("Cases opened"), 60)
trend(CLOSED, _("Cases closed"), 70)
# a case's transitions are conditional UPDATEs with an event row; a transfer also changes the handling unit's figures
watch("grids.CaseEvent", "case.org_id", "unit_id")
