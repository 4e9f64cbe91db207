"""Pages for campaigns, their deliverables, the organisations' plans and the progress matrix."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from xianfeng.core.forms import add_service_errors
from xianfeng.core.policy import allows, ensure, get_or_404, get_visible, visible
from xianfeng.orgs.models import ContactPoint, Organisation

from .. import selectors, services
from ..forms import (
    CampaignForm,
    DeliverableForm,
    DeliverableFormSet,
    DeliverableRecordForm,
    PlanForm,
    ReviewForm,
)
from ..models import (
    Advisor,
    AwardRound,
    Bulletin,
    Campaign,
    CampaignPlan,
    Deliverable,
    Drive,
    FollowUp,
    Meeting,
    Venture,
)
from ..policies import administers_any, in_scope, orgs_for, rows_in_scope
from .common import MATRIX_PAGE_SIZE, Invalid, _create, _lead_orgs, _page, _rows, _run


@login_required
@require_GET
def index(request):
    """Everything this module holds in the user's scope, with counts."""
    user = request.user
    context = {
        "campaigns": visible(Campaign, user).select_related("org")[:20],
        "meetings": visible(Meeting, user).count(),
        "open_follow_ups": visible(FollowUp, user).filter(done_on__isnull=True).count(),
        "rounds": visible(AwardRound, user)[:10],
        "advisors": visible(Advisor, user).count(),
        "ventures": visible(Venture, user).count(),
        "drives": visible(Drive, user)[:5],
        "bulletins": visible(Bulletin, user).count(),
        "contact_points": visible(ContactPoint, user).count(),
        "may_admin": administers_any(user),
    }
    return render(request, "campaigns/index.html", context)


def _campaign_for(request, pk: int) -> Campaign:
    """A campaign is visible to those who see its owner's subtree, and to those inside it (they owe deliverables)."""
    return get_visible(Campaign.objects.select_related("org"), request.user, "view", pk=pk)


@login_required
@require_GET
def campaign_detail(request, pk: int):
    """The campaign, its deliverables and the progress matrix of the organisations the user may see."""
    campaign = _campaign_for(request, pk)
    matrix = selectors.progress_matrix(campaign)
    rows = rows_in_scope(matrix.rows, request.user)
    laggards_only = request.GET.get("laggards") == "1"
    shown = [r for r in rows if r.laggard] if laggards_only else rows
    page = Paginator(shown, MATRIX_PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page:
        row.may_record = in_scope(request.user, "change", row)
    totals = [[0, 0] for _ in matrix.deliverables]
    for row in rows:
        for i, cell in enumerate(row.cells):
            if cell != "na":
                totals[i][1] += 1
                totals[i][0] += cell in ("done", CampaignPlan.Status.ACCEPTED)
    context = {
        "campaign": campaign,
        "deliverables": matrix.deliverables,
        "columns": list(zip(matrix.deliverables, totals, strict=True)),
        "page": page,
        "n_rows": len(rows),
        "n_laggards": sum(1 for r in rows if r.laggard),
        "laggards_only": laggards_only,
        "plans_waiting": visible(CampaignPlan, request.user, "admin")
        .filter(campaign=campaign, status=CampaignPlan.Status.SUBMITTED).select_related("org")[:50],
        "meetings": campaign.meetings.order_by("date"),
        "may_admin": allows(request.user, "admin", campaign),
        "deliverable_form": DeliverableForm(),
    }
    return render(request, "campaigns/campaign_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request, pk: int, org_id: int):
    """An organisation's plan: its secretary drafts and submits it; an administrator above returns or accepts it."""
    campaign = _campaign_for(request, pk)
    org = get_visible(Organisation, request.user, "view", pk=org_id)
    plan = CampaignPlan.objects.filter(campaign=campaign, org=org).first()
    may_edit = allows(request.user, "change", org)
    may_review = allows(request.user, "admin", org)
    form = PlanForm(initial={"title": plan.title if plan else f"{org.name}{campaign.name}方案",
                             "text": plan.text if plan else ""})
    review = ReviewForm()
    status = 200
    if request.method == "POST":
        op = request.POST.get("op", "")
        try:
            if op in ("save", "submit"):
                ensure(may_edit)
                form = PlanForm(request.POST, request.FILES)
                if not form.is_valid():
                    raise ValidationError({})
                plan = services.plan_save(campaign=campaign, org=org, actor=request.user, **form.cleaned_data)
                if op == "submit":
                    plan = services.plan_submit(plan=plan, actor=request.user)
                    messages.success(request, _("The plan was submitted."))
                else:
                    messages.success(request, _("The campaign plan was saved."))
                return redirect("campaigns:plan", pk=campaign.pk, org_id=org.pk)
            if op in ("return", "accept"):
                ensure(may_review)
                plan = get_or_404(CampaignPlan.objects.filter(campaign=campaign), org=org)
                review = ReviewForm(request.POST)
                if not review.is_valid():
                    raise ValidationError({})
                fn = services.plan_return if op == "return" else services.plan_accept
                fn(plan=plan, note=review.cleaned_data["note"], actor=request.user)
                messages.success(request, _("The review was recorded."))
                return redirect("campaigns:plan", pk=campaign.pk, org_id=org.pk)
            raise ValidationError(_("Unknown operation."))
        except ValidationError as exc:
            add_service_errors(review if op in ("return", "accept") else form, exc)
            status = 400
    context = {
        "campaign": campaign, "org": org, "plan": plan, "form": form, "review": review,
        "may_edit": may_edit and (plan is None or plan.status in ("draft", "returned")),
        "may_review": may_review and plan is not None and plan.status == "submitted",
        "events": plan.events.select_related("by") if plan else [],
    }
    return render(request, "campaigns/plan.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_create(request):
    """A campaign over a subtree the user administers, with the deliverables each kind of organisation owes."""
    orgs = _lead_orgs(request)
    formset = DeliverableFormSet(request.POST or None, prefix="d")
    return _create(request, orgs=orgs, form=CampaignForm(request.POST or None, orgs=orgs),
                   call=lambda d: services.campaign_create(deliverables=_rows(formset), actor=request.user, **d),
                   formsets=[(_("Deliverables"), formset)], title=_("New campaign"),
                   back=(reverse("campaigns:index"), _("Campaigns")), done=_("The campaign was created."),
                   goto=lambda c: reverse("campaigns:campaign_detail", args=[c.pk]),
                   intro=_("Deliverable codes: use “plan” for the organisations' campaign plan."))


def _admin_campaign(request, pk: int) -> Campaign:
    return get_visible(Campaign.objects.select_related("org"), request.user, "admin", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_edit(request, pk: int):
    """Change a campaign's name, dates and description; add a deliverable; move it to its next phase."""
    campaign = _admin_campaign(request, pk)
    back = (reverse("campaigns:campaign_detail", args=[campaign.pk]), campaign.name)
    op = request.POST.get("op", "save")
    if request.method == "POST" and op == "advance":
        try:
            services.campaign_advance(campaign=campaign, actor=request.user)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, _("The campaign moved to its next phase."))
        return redirect(back[0])
    if request.method == "POST" and op == "deliverable":
        item_form = DeliverableForm(request.POST)
        try:
            _run(request, item_form, lambda d: services.deliverable_add(campaign=campaign, actor=request.user, **d))
        except Invalid:
            return _page(request, title=_("Add a deliverable"), form=item_form, back=back, status=400)
        messages.success(request, _("The deliverable was added."))
        return redirect(back[0])
    initial = {k: getattr(campaign, k) for k in services.CAMPAIGN_EDITABLE}
    form = CampaignForm(request.POST or None, initial=initial)
    if request.method == "POST":
        try:
            _run(request, form, lambda d: services.campaign_update(campaign=campaign, actor=request.user, **d))
        except Invalid:
            return _page(request, title=_("Edit the campaign"), form=form, back=back, status=400)
        messages.success(request, _("The campaign was saved."))
        return redirect(back[0])
    return _page(request, title=_("Edit the campaign"), form=form, back=back)


@login_required
@require_http_methods(["GET", "POST"])
def deliverable_record(request, pk: int, deliverable_id: int, org_id: int):
    """Record that an organisation in the user's (change) scope delivered one deliverable of a campaign."""
    campaign = get_visible(Campaign, request.user, "view", pk=pk)
    deliverable = get_or_404(Deliverable.objects.filter(campaign=campaign), pk=deliverable_id)
    org = get_or_404(orgs_for(request.user, "change"), pk=org_id)
    form = DeliverableRecordForm(request.POST or None, initial={"done_on": timezone.localdate()})
    back = (reverse("campaigns:campaign_detail", args=[campaign.pk]), campaign.name)
    if request.method == "POST":
        try:
            _run(request, form, lambda d: services.deliverable_record(deliverable=deliverable, org=org,
                                                                      actor=request.user, **d))
        except Invalid:
            pass
        else:
            messages.success(request, _("The deliverable was recorded as done."))
            return redirect(back[0])
    return _page(request, title=f"{org.name} · {deliverable.name}", form=form, back=back,
                 status=400 if request.method == "POST" else 200)
