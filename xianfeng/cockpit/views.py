"""The cockpit pages: one per organisation the viewer's roles cover (out of scope → 404), its rates panel, and the
page as .xlsx and PDF."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from xianfeng.core import policy
from xianfeng.core.audit import audit_record
from xianfeng.core.excel import content_disposition, xlsx_response
from xianfeng.core.models import AuditEvent
from xianfeng.orgs.models import Organisation

from . import export
from .figures import child_columns, cockpit_for
from .funnel import funnel_data, funnel_units, rate_table

MAX_ID = 2**63 - 1  # larger ids cannot exist (and SQLite refuses to compare with them)


def org_in_scope(user, pk: int, action: str = "view") -> Organisation:
    """The organisation whose cockpit is asked for: missing, out of the user's scope or an impossible id → 404."""
    policy.ensure(0 < int(pk) <= MAX_ID)
    return policy.get_visible(Organisation, user, action, pk=pk)


def _org(request, pk: int, action: str = "view") -> Organisation:
    return org_in_scope(request.user, pk, action)


@login_required
@require_GET
def home(request):
    """The cockpit of the viewer's topmost organisation."""
    # the first organisation in path order is the top of the first subtree the viewer's roles cover
    org = policy.visible(Organisation, request.user).order_by("path").first()
    policy.ensure(org is not None)
    return redirect("cockpit:org", pk=org.pk)


@login_required
@require_GET
def org_page(request, pk: int):
    org = _org(request, pk)
    c = cockpit_for(org)
    ancestors = [a for a in c.ancestors if policy.allows(request.user, "view", a)]
    return render(request, "cockpit/page.html", {
        "c": c, "org": org, "ancestors": ancestors, "columns": child_columns(),
        "chart": {"months": c.trends["months"], "series": c.trends["series"], "labels": c.trends["labels"],
                  "children": [{"name": r.org.name, "cells": [list(cell) for cell in r.cells]} for r in c.children]},
        "may_export": policy.allows(request.user, "export", org),
    })


@login_required
@require_GET
def rates_panel(request, pk: int):
    """The registered rates of the subtree and the funnel plot of one of them over its units (loaded after the page:
    rate providers count live rows)."""
    org = _org(request, pk)
    units = funnel_units(org)
    rows = rate_table(org, units)
    key = request.GET.get("rate") or ""
    if key not in {r["key"] for r in rows}:
        key = rows[0]["key"] if rows else ""
    data = funnel_data(key, units) if key else None
    return render(request, "cockpit/_rates.html", {"org": org, "rows": rows, "key": key, "funnel": data})


def _audit_export(request, org: Organisation, fmt: str) -> None:
    audit_record(by=request.user, action=AuditEvent.Action.EXPORT, obj=org,
                 summary=f"cockpit {fmt}: {org.name}", after={"org": org.pk, "format": fmt})


@login_required
@require_GET
def export_xlsx(request, pk: int):
    org = _org(request, pk, "export")
    c = cockpit_for(org)
    _audit_export(request, org, "xlsx")
    return xlsx_response(f"驾驶舱-{org.name}-{timezone.localdate():%Y%m%d}.xlsx", export.sheets(c))


@login_required
@require_GET
def export_pdf(request, pk: int):
    org = _org(request, pk, "export")
    c = cockpit_for(org)
    body = export.pdf(c)
    _audit_export(request, org, "pdf")
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition(f"驾驶舱-{org.name}-{timezone.localdate():%Y%m%d}.pdf")
    response["Cache-Control"] = "no-store"
    return response
