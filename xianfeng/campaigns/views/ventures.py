"""Pages for member ventures: figures and support."""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xianfeng.core.policy import allows, ensure, get_visible, visible

from .. import selectors, services
from ..forms import (
    VentureFigureForm,
    VentureForm,
    VentureSupportForm,
)
from ..models import (
    Venture,
)
from ..policies import FUND_KINDS, VENTURE_ORG_KINDS, orgs_for
from .common import Invalid, _create, _page, _posted_org_in, _run


@login_required
@require_GET
def venture_list(request):
    ventures = list(visible(Venture, request.user).select_related("org"))
    latest = selectors.latest_figures(ventures)
    for v in ventures:
        v.latest = latest.get(v.pk)
    may_create = orgs_for(request.user, "change", VENTURE_ORG_KINDS).exists()
    return render(request, "campaigns/venture_list.html", {"ventures": ventures, "may_create": may_create})


@login_required
@require_GET
def venture_detail(request, pk: int):
    venture = get_visible(Venture.objects.select_related("org"), request.user, "view", pk=pk)
    figures = list(venture.figures.all())
    chart = {
        "dates": [f"{f.date:%Y-%m}" for f in figures],
        "area": [float(f.area_mu) for f in figures],
        "households": [f.households for f in figures],
        "members": [f.members for f in figures],
    }
    may_change = allows(request.user, "change", venture)
    context = {"venture": venture, "figures": figures, "chart": chart,
               "supports": venture.supports.all(), "founders": venture.founders.select_related("person"),
               "support_key": uuid.uuid4().hex,
               "figure_form": VentureFigureForm(auto_id="fig-%s") if may_change else None,
               "support_form": VentureSupportForm(funds=orgs_for(request.user, "admin", FUND_KINDS))
               if may_change else None}
    return render(request, "campaigns/venture_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def venture_create(request):
    orgs = orgs_for(request.user, "change", VENTURE_ORG_KINDS)
    ensure(orgs.exists())
    return _create(request, orgs=orgs, form=VentureForm(request.POST or None, orgs=orgs),
                   call=lambda d: services.venture_create(actor=request.user, **d), title=_("New venture"),
                   back=(reverse("campaigns:venture_list"), _("Member ventures")), done=_("The venture was added."),
                   goto=lambda v: reverse("campaigns:venture_detail", args=[v.pk]))


def yuan_to_fen(amount: Decimal | None) -> int:
    return int((Decimal(amount or 0) * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


@login_required
@require_POST
def venture_record(request, pk: int):
    """Figures (op=figure) or support (op=support) for a venture the user may change; a grant needs the admin right
    over the fund it is paid from."""
    venture = get_visible(Venture, request.user, "change", pk=pk)
    back = (reverse("campaigns:venture_detail", args=[venture.pk]), venture.name)
    op = request.POST.get("op")
    ensure(op in ("figure", "support"))
    funds = orgs_for(request.user, "admin", FUND_KINDS)
    if op == "support":
        _posted_org_in(request, funds, "fund_org")
    form = VentureFigureForm(request.POST) if op == "figure" else VentureSupportForm(request.POST, funds=funds)

    def call(d):
        if op == "figure":
            return services.venture_figure_record(venture=venture, actor=request.user, **d)
        key = request.POST.get("key")  # a retried form posts the same key: the grant is posted once
        return services.venture_support_record(
            venture=venture, kind=d["kind"], date=d["date"], title=d["title"],
            amount_fen=yuan_to_fen(d["amount_yuan"]) if d["kind"] == "grant" else 0, fund_org=d["fund_org"],
            key=f"venture_support:{venture.pk}:{key}" if key else "", actor=request.user)

    try:
        _run(request, form, call)
    except Invalid:
        return _page(request, title=venture.name, form=form, back=back, status=400)
    messages.success(request, _("Saved."))
    return redirect(back[0])
