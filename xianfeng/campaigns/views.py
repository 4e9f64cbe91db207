"""Pages for campaigns, plans and the progress matrix, meetings and follow-ups, the contact-point map, award rounds
(the committee's side), advisors, ventures, the 100-day drive and bulletins.

Thin: parse → read through the policy (policies.py) → call a service → render. Out of scope answers 404 exactly like missing.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xianfeng.core.forms import add_service_errors
from xianfeng.core.policy import allows, ensure, get_or_404, get_visible, visible
from xianfeng.orgs.models import ContactPoint, Organisation

from . import services
from .forms import (
    BulletinForm,
    DeliverableForm,
    DriveReportForm,
    DriveTargetForm,
    FollowUpCloseForm,
    FollowUpForm,
    ObjectionAnswerForm,
    PlanForm,
    ReviewForm,
    ScoreForm,
    VentureFigureForm,
    VentureSupportForm,
)
from .models import (
    Advisor,
    AdvisorBatch,
    AwardRound,
    Bulletin,
    Campaign,
    CampaignPlan,
    CommitteeScore,
    Drive,
    DriveTarget,
    DualBrandEvaluation,
    FollowUp,
    Meeting,
    Nomination,
    Objection,
    Venture,
)
from .policies import (
    FUND_KINDS,
    LEAD_KINDS,
    VENTURE_ORG_KINDS,
    administers_any,
    covering_rounds,
    in_scope,
    orgs_for,
    rows_in_scope,
)

PAGE_SIZE = 50
MATRIX_PAGE_SIZE = 100



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


# ---- campaigns and plans ------------------------------------------------------------------------------------------


def _campaign_for(request, pk: int) -> Campaign:
    """A campaign is visible to those who see its owner's subtree, and to those inside it (they owe deliverables)."""
    return get_visible(Campaign.objects.select_related("org"), request.user, "view", pk=pk)


@login_required
@require_GET
def campaign_detail(request, pk: int):
    """The campaign, its deliverables and the progress matrix of the organisations the user may see."""
    campaign = _campaign_for(request, pk)
    matrix = services.progress_matrix(campaign)
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


# ---- meetings and follow-ups ----------------------------------------------------------------------------------------


@login_required
@require_GET
def meeting_list(request):
    meetings = (visible(Meeting, request.user).select_related("org")
                .annotate(n_follow_ups=Count("follow_ups"),
                          n_open=Count("follow_ups", filter=Q(follow_ups__done_on__isnull=True)))
                .order_by("date", "id"))
    page = Paginator(meetings, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "campaigns/meeting_list.html", {"page": page, "may_admin": administers_any(request.user)})


@login_required
@require_GET
def meeting_detail(request, pk: int):
    meeting = get_visible(Meeting.objects.select_related("org"), request.user, "view", pk=pk)
    follow_ups = FollowUp.objects.filter(meeting=meeting).select_related("org")
    form = None
    if allows(request.user, "admin", meeting):
        form = FollowUpForm(orgs=orgs_for(request.user, "admin", LEAD_KINDS))
    return render(request, "campaigns/meeting_detail.html", {"meeting": meeting, "follow_ups": follow_ups,
                                                             "follow_up_form": form})


@login_required
@require_GET
def follow_up_list(request):
    """Follow-ups of meetings and guidance visits owned by organisations in scope; open ones first."""
    items = (visible(FollowUp, request.user).select_related("org", "meeting", "visit__contact_point__leader")
             .order_by("done_on", "due", "id"))
    if request.GET.get("open") == "1":
        items = items.filter(done_on__isnull=True)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    for item in page:
        item.may_close = item.done_on is None and allows(request.user, "change", item)
    return render(request, "campaigns/follow_up_list.html", {"page": page, "form": FollowUpCloseForm(),
                                                               "today": timezone.localdate()})


@login_required
@require_POST
def follow_up_close(request, pk: int):
    item = get_visible(FollowUp, request.user, "change", pk=pk)
    form = FollowUpCloseForm(request.POST)
    if form.is_valid():
        try:
            services.follow_up_close(follow_up=item, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, _("The follow-up was marked done."))
    else:
        messages.error(request, "；".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("campaigns:follow_up_list")


# ---- contact-point map --------------------------------------------------------------------------------------------


@login_required
@require_GET
def contact_map(request):
    """Leaders' contact points on a map: each unit at its own coordinates, or its nearest located ancestor's."""
    points = list(visible(ContactPoint, request.user).filter(end__isnull=True)
                  .select_related("leader", "org").order_by("org__path"))
    prefixes = {p.org.path[:i] for p in points for i in range(4, len(p.org.path) + 1, 4)}
    located = dict((path, (lat, lng)) for path, lat, lng in Organisation.objects.filter(
        path__in=prefixes, latitude__isnull=False, longitude__isnull=False).values_list("path", "latitude", "longitude"))
    markers, unplaced, kinds = [], [], {}
    for p in points:
        where = next((located[p.org.path[:i]] for i in range(len(p.org.path), 0, -4) if p.org.path[:i] in located), None)
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
        if where is None:
            unplaced.append(p)
            continue
        markers.append({"name": p.org.name, "leader": p.leader.name, "title": p.leader_title, "kind": p.get_kind_display(),
                        "value": [round(where[1], 5), round(where[0], 5)], "id": p.pk})
    context = {
        "points": points, "markers": markers, "unplaced": unplaced,
        "kinds": [(ContactPoint.Kind(k).label, n) for k, n in sorted(kinds.items())],
    }
    return render(request, "campaigns/contact_map.html", context)


# ---- award rounds (the committee's side) -------------------------------------------------------------------------


@login_required
@require_GET
def award_list(request):
    rounds = covering_rounds(request.user).annotate(n=Count("categories__nominations"))
    return render(request, "campaigns/award_list.html", {"rounds": rounds, "may_admin": administers_any(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def award_detail(request, pk: int):
    """Nominations with the committee's scores; the operations of each stage to those who may administer the round."""
    award = get_or_404(covering_rounds(request.user).select_related("org"), pk=pk)
    may_admin = allows(request.user, "admin", award)
    if request.method == "POST":
        ensure(may_admin)
        op = request.POST.get("op", "")
        try:
            if op == "open":
                services.award_round_open_voting(award=award, actor=request.user)
            elif op == "publicity":
                services.award_round_start_publicity(award=award, actor=request.user)
            elif op == "publish":
                services.award_round_publish(award=award, actor=request.user)
            elif op == "score":
                nomination = get_or_404(Nomination.objects.filter(category__round=award),
                                        pk=request.POST.get("nomination") or 0)
                form = ScoreForm(request.POST)
                if not form.is_valid():
                    raise ValidationError([e for errs in form.errors.values() for e in errs])
                services.committee_score(nomination=nomination, score=form.cleaned_data["score"],
                                         actor=request.user)
            elif op == "answer":
                objection = get_or_404(Objection.objects.filter(nomination__category__round=award),
                                       pk=request.POST.get("objection") or 0)
                answer_form = ObjectionAnswerForm(request.POST)
                if not answer_form.is_valid():
                    raise ValidationError([e for errs in answer_form.errors.values() for e in errs])
                services.objection_answer(objection=objection, actor=request.user, **answer_form.cleaned_data)
            else:
                raise ValidationError(_("Unknown operation."))
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, _("The operation was done."))
        return redirect("campaigns:award_detail", pk=award.pk)
    categories = list(award.categories.all())
    nominations = (Nomination.objects.filter(category__round=award).select_related("category", "nominated_by")
                   .annotate(n_scores=Count("scores", distinct=True)))
    by_category: dict[int, list] = {c.pk: [] for c in categories}
    for n in nominations:
        by_category[n.category_id].append(n)
    try:
        results = services.round_results(award)
    except services.ResultsHidden:
        results = None
    scored: set[int] = set()
    if may_admin:
        scored = set(CommitteeScore.objects.filter(scorer=request.user, nomination__category__round=award)
                     .values_list("nomination_id", flat=True))
    context = {
        "award": award, "may_admin": may_admin, "results": results,
        "sections": [(c, by_category[c.pk], results.get(c.pk, []) if results is not None else None) for c in categories],
        "objections": Objection.objects.filter(nomination__category__round=award).select_related("nomination"),
        "scored": scored, "score_form": ScoreForm(), "answer_form": ObjectionAnswerForm(),
        "publicity_end": services.publicity_end(award), "window": services.window_text(award),
        "may_nominate": orgs_for(request.user, "change").filter(path__startswith=award.org.path).exists(),
    }
    return render(request, "campaigns/award_detail.html", context)


# ---- advisors, ventures, drives -----------------------------------------------------------------------------------


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
@require_GET
def venture_list(request):
    ventures = list(visible(Venture, request.user).select_related("org"))
    latest = services.latest_figures(ventures)
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
def drive_detail(request, pk: int):
    drive = get_visible(Drive.objects.select_related("org"), request.user, "view", pk=pk)
    targets = visible(DriveTarget.objects.filter(drive=drive), request.user)
    form = DriveReportForm()
    status = 200
    if request.method == "POST":
        target = get_visible(DriveTarget.objects.filter(drive=drive), request.user, "change",
                             pk=request.POST.get("target") or 0)
        form = DriveReportForm(request.POST)
        try:
            if not form.is_valid():
                raise ValidationError({})
            services.drive_progress_report(target=target, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
            status = 400
        else:
            messages.success(request, _("The progress was reported."))
            return redirect("campaigns:drive_detail", pk=drive.pk)
    rows = services.drive_progress(drive, targets)
    for row in rows:
        row.may_report = allows(request.user, "change", row.target)
    target_form = None
    if allows(request.user, "admin", drive):
        target_form = DriveTargetForm(orgs=orgs_for(request.user, "admin", LEAD_KINDS))
    context = {"drive": drive, "rows": rows, "elapsed": services.drive_elapsed_pct(drive), "form": form,
               "target_form": target_form}
    return render(request, "campaigns/drive_detail.html", context, status=status)


# ---- bulletins ---------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def bulletin_list(request):
    """Bulletins of the organisations in scope (drafts included); a form to write one for an organisation one may change."""
    editable = visible(Organisation, request.user, "change")
    form = BulletinForm()
    status = 200
    if request.method == "POST":
        form = BulletinForm(request.POST, request.FILES)
        org = get_visible(Organisation, request.user, "change", pk=request.POST.get("org") or 0)
        try:
            if not form.is_valid():
                raise ValidationError({})
            data = form.cleaned_data
            services.bulletin_create(org=org, kind=data["kind"], issue=data["issue"], title=data["title"],
                                     body=data["body"], image=data["image"], publish=data["publish"], actor=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
            status = 400
        else:
            messages.success(request, _("The bulletin was saved."))
            return redirect("campaigns:bulletin_list")
    bulletins = visible(Bulletin, request.user).select_related("org").order_by("-created_at", "-id")
    page = Paginator(bulletins, PAGE_SIZE).get_page(request.GET.get("page"))
    for b in page:
        b.may_change = allows(request.user, "change", b)
    orgs = editable.order_by("path")[:200]
    return render(request, "campaigns/bulletin_list.html", {"page": page, "form": form, "orgs": orgs}, status=status)


@login_required
@require_POST
def bulletin_publish(request, pk: int):
    bulletin = get_visible(Bulletin, request.user, "change", pk=pk)
    try:
        if request.POST.get("op") == "withdraw":
            services.bulletin_withdraw(bulletin=bulletin, actor=request.user)
        else:
            services.bulletin_publish(bulletin=bulletin, actor=request.user)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    return redirect("campaigns:bulletin_list")

