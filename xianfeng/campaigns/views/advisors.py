"""Pages for enterprise advisors: batches, placements, logs and 双强 evaluations."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from xianfeng.core.ids import parse_id_number
from xianfeng.core.policy import allows, ensure, get_visible, visible
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import OrgKind, Person

from .. import services
from ..forms import (
    AdvisorBatchForm,
    AdvisorLogForm,
    AdvisorPlaceForm,
    DualBrandForm,
)
from ..models import (
    PARTY_CHECKLIST,
    Advisor,
    AdvisorBatch,
    DualBrandEvaluation,
)
from ..policies import administers_any, orgs_for
from .common import PAGE_SIZE, Invalid, _create, _lead_orgs, _page, _posted_org_in, _run


@login_required
@require_GET
def advisor_list(request):
    advisors = (visible(Advisor, request.user).select_related("batch", "person", "enterprise")
                .annotate(n_logs=Count("logs")).order_by("batch__start", "id"))
    evaluations = {e.enterprise_id: e for e in visible(DualBrandEvaluation, request.user).order_by("year")}
    page = Paginator(advisors, PAGE_SIZE).get_page(request.GET.get("page"))
    for a in page:
        a.evaluation = evaluations.get(a.enterprise_id)
    batches = AdvisorBatch.objects.filter(advisors__in=visible(Advisor, request.user)).distinct().annotate(
        n=Count("advisors"))
    return render(request, "campaigns/advisor_list.html", {"page": page, "batches": batches,
                                                           "may_admin": administers_any(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def advisor_batch_create(request):
    orgs = _lead_orgs(request)
    return _create(request, orgs=orgs, form=AdvisorBatchForm(request.POST or None, orgs=orgs),
                   call=lambda d: services.advisor_batch_create(actor=request.user, **d),
                   title=_("New batch of advisors"), back=(reverse("campaigns:advisor_list"), _("Enterprise advisors")),
                   done=_("The batch was created."), goto=lambda b: reverse("campaigns:advisor_list"))


@login_required
@require_http_methods(["GET", "POST"])
def advisor_place(request):
    """Place a retired cadre (found or added by ID number) in an enterprise for a batch's term."""
    batches = visible(AdvisorBatch, request.user, "admin")
    enterprises = orgs_for(request.user, "admin", [OrgKind.ENTERPRISE])
    ensure(batches.exists())
    form = AdvisorPlaceForm(request.POST or None, batches=batches, enterprises=enterprises)
    if request.method == "POST":
        _posted_org_in(request, enterprises, "enterprise")
        _posted_org_in(request, batches, "batch")

        def call(d):
            number = parse_id_number(d["id_number"]).number
            person = Person.objects.filter(id_number=number).first() or org_services.person_upsert(
                name=d["name"], id_number=number, phone=d["phone"], actor=request.user)
            return services.advisor_place(batch=d["batch"], person=person, enterprise=d["enterprise"],
                                          former_post=d["former_post"], actor=request.user)

        try:
            advisor = _run(request, form, call)
        except Invalid:
            pass
        else:
            messages.success(request, _("The advisor was placed."))
            return redirect("campaigns:advisor_detail", pk=advisor.pk)
    return _page(request, title=_("Place an advisor"), form=form,
                 back=(reverse("campaigns:advisor_list"), _("Enterprise advisors")),
                 status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def advisor_detail(request, pk: int):
    """An advisor's monthly logs and the enterprise's yearly 双强 evaluations, with their forms for staff."""
    advisor = get_visible(Advisor.objects.select_related("batch", "person", "enterprise"), request.user, "view", pk=pk)
    may_log = allows(request.user, "change", advisor)
    may_evaluate = allows(request.user, "admin", advisor)
    log_form = AdvisorLogForm(initial={"month": timezone.localdate().replace(day=1)})
    evaluation_form = DualBrandForm(initial={"year": timezone.localdate().year - 1})
    status = 200
    if request.method == "POST":
        op = request.POST.get("op")
        ensure(op == "log" and may_log or op == "evaluate" and may_evaluate)
        try:
            if op == "log":
                log_form = AdvisorLogForm(request.POST)
                _run(request, log_form, lambda d: services.advisor_log_record(advisor=advisor, actor=request.user, **d))
            else:
                evaluation_form = DualBrandForm(request.POST)
                _run(request, evaluation_form, lambda d: services.dual_brand_evaluate(
                    enterprise=advisor.enterprise, actor=request.user,
                    checklist={code: True for code in d.pop("checklist")}, **d))
        except Invalid:
            status = 400
        else:
            messages.success(request, _("Saved."))
            return redirect("campaigns:advisor_detail", pk=advisor.pk)
    context = {
        "advisor": advisor, "logs": advisor.logs.order_by("-month"),
        "evaluations": advisor.enterprise.dual_brand_evaluations.order_by("-year"),
        "log_form": log_form if may_log else None, "evaluation_form": evaluation_form if may_evaluate else None,
        "checklist": PARTY_CHECKLIST,
    }
    return render(request, "campaigns/advisor_detail.html", context, status=status)
