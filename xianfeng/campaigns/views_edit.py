"""Creation and editing pages: campaigns and deliverables, meetings and follow-ups, award rounds and nominations,
advisors (batches, placements, monthly logs, the yearly 双强 evaluation), ventures (figures, support), drives and
their targets, and follow-ups of guidance visits.

Thin, like views.py: the organisation a thing is made for is chosen among those the user may act on (an id outside
them answers 404, as a missing one would); the services decide the rules and their ValidationErrors become field
errors with status 400.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xianfeng.core.forms import add_service_errors
from xianfeng.core.ids import parse_id_number
from xianfeng.core.policy import allows, ensure, get_or_404, get_visible, visible
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import GuidanceGroup, GuidanceVisit, Member, OrgKind, Person

from . import services
from .forms import (
    AdvisorBatchForm,
    AdvisorLogForm,
    AdvisorPlaceForm,
    AwardRoundForm,
    CampaignForm,
    CategoryFormSet,
    DeliverableForm,
    DeliverableFormSet,
    DeliverableRecordForm,
    DriveForm,
    DriveTargetForm,
    DualBrandForm,
    FollowUpForm,
    FollowUpFromVisitForm,
    MeetingForm,
    NominationForm,
    VentureFigureForm,
    VentureForm,
    VentureSupportForm,
)
from .models import (
    Advisor,
    AdvisorBatch,
    Campaign,
    Deliverable,
    Drive,
    FollowUp,
    Meeting,
    Venture,
)
from .policies import FUND_KINDS, LEAD_KINDS, VENTURE_ORG_KINDS, covering_rounds, orgs_for

PAGE_SIZE = 50


class Invalid(Exception):
    """The form did not parse; its errors are on it already."""


def _posted_org_in(request, queryset, name: str = "org") -> None:
    """An organisation id posted for `name` that is not among the page's choices answers 404, like a missing one."""
    value = request.POST.get(name)
    ensure(not value or queryset.filter(pk=value if str(value).isdigit() else 0).exists())


def _page(request, *, title: str, form, back: tuple[str, str], formsets=(), status: int = 200, intro: str = "",
          submit: str | None = None, multipart: bool = False):
    context = {"title": title, "form": form, "formsets": list(formsets), "back_url": back[0], "back_label": back[1],
               "intro": intro, "submit_label": submit or _("Save"), "multipart": multipart}
    return render(request, "campaigns/form.html", context, status=status)


def _rows(formset) -> list[dict]:
    """The filled rows of a valid formset (empty extra rows left out)."""
    return [f.cleaned_data for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]


def _run(request, form, call, *, formsets=()):
    """Validate `form` (and formsets), then run `call()` in one transaction; a ValidationError from the service goes
    on the form. Returns the service's result, or raises Invalid."""
    valid = form.is_valid()
    valid = all([fs.is_valid() for fs in formsets]) and valid
    if not valid:
        raise Invalid
    try:
        with transaction.atomic():
            return call(form.cleaned_data)
    except ValidationError as exc:
        add_service_errors(form, exc)
        raise Invalid from None


def _create(request, *, orgs, form, call, title: str, back: tuple[str, str], done: str, goto, formsets=(),
            intro: str = ""):
    """The shape of every creation page: the organisation is one of `orgs` (else 404); `call(cleaned_data)` makes
    the thing through its service; success goes to `goto(thing)` with the message `done`."""
    if request.method == "POST":
        _posted_org_in(request, orgs)
        try:
            made = _run(request, form, call, formsets=[fs for _, fs in formsets])
        except Invalid:
            pass
        else:
            messages.success(request, done)
            return redirect(goto(made))
    return _page(request, title=title, form=form, formsets=formsets, back=back, intro=intro,
                 status=400 if request.method == "POST" else 200)


def _lead_orgs(request):
    """The organisations the user administers that lead work over their subtree; none answers 404."""
    orgs = orgs_for(request.user, "admin", LEAD_KINDS)
    ensure(orgs.exists())
    return orgs


# ---- campaigns ------------------------------------------------------------------------------------------------------


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


# ---- meetings and follow-ups ----------------------------------------------------------------------------------------


def _follow_up_formset(data, orgs):
    formset_class = django_forms.formset_factory(FollowUpForm, extra=3, max_num=30)
    return formset_class(data, prefix="f", form_kwargs={"orgs": orgs})


@login_required
@require_http_methods(["GET", "POST"])
def meeting_create(request):
    """A leading-group or standing-committee meeting with its decisions' follow-ups."""
    orgs = _lead_orgs(request)
    form = MeetingForm(request.POST or None, orgs=orgs, campaigns=visible(Campaign, request.user, "admin"))
    formset = _follow_up_formset(request.POST or None, orgs)
    return _create(request, orgs=orgs, form=form,
                   call=lambda d: services.meeting_record(follow_ups=_rows(formset), actor=request.user, **d),
                   formsets=[(_("Follow-ups"), formset)], title=_("Record a meeting"),
                   back=(reverse("campaigns:meeting_list"), _("Leading-group meetings")),
                   done=_("The meeting was recorded."), goto=lambda m: reverse("campaigns:meeting_detail", args=[m.pk]))


@login_required
@require_POST
def meeting_follow_up_add(request, pk: int):
    """One more follow-up for a meeting the user administers."""
    meeting = get_visible(Meeting, request.user, "admin", pk=pk)
    orgs = orgs_for(request.user, "admin", LEAD_KINDS)
    _posted_org_in(request, orgs)
    form = FollowUpForm(request.POST, orgs=orgs)
    try:
        _run(request, form, lambda d: services.follow_up_create(meeting=meeting, actor=request.user, **d))
    except Invalid:
        return _page(request, title=_("Add a follow-up"), form=form, status=400,
                     back=(reverse("campaigns:meeting_detail", args=[meeting.pk]), meeting.title))
    messages.success(request, _("The follow-up was added."))
    return redirect("campaigns:meeting_detail", pk=meeting.pk)


@login_required
@require_GET
def guidance(request: Any) -> Any:
    """Guidance visits to the contact points in scope, each with the follow-up tasks it gave rise to."""
    visits = (visible(GuidanceVisit, request.user).select_related("contact_point__leader",
                                                                          "contact_point__org")
              .order_by("-date", "-id"))
    page = Paginator(visits, PAGE_SIZE).get_page(request.GET.get("page"))
    tasks: dict[int, list[FollowUp]] = {}
    for item in FollowUp.objects.filter(visit__in=list(page)).order_by("due", "id"):
        tasks.setdefault(item.visit_id, []).append(item)
    for visit in page:
        visit.tasks = tasks.get(visit.pk, [])
        visit.may_add = allows(request.user, "change", visit.contact_point.org)
    systems = (visible(GuidanceGroup, request.user).values("system")
               .annotate(groups=Count("id", distinct=True), units=Count("units", distinct=True)).order_by("system"))
    return render(request, "campaigns/guidance.html", {"page": page, "form": FollowUpFromVisitForm(),
                                                       "systems": systems})


@login_required
@require_POST
def visit_follow_up_add(request, pk: int):
    """A follow-up task from a guidance visit, owned by the visited unit."""
    visit = get_visible(GuidanceVisit.objects.select_related("contact_point__org"), request.user, "change", pk=pk)
    form = FollowUpFromVisitForm(request.POST)
    try:
        _run(request, form, lambda d: services.follow_up_create(visit=visit, org=visit.contact_point.org,
                                                                actor=request.user, **d))
    except Invalid:
        return _page(request, title=_("Add a follow-up"), form=form, status=400,
                     back=(reverse("campaigns:guidance"), _("Guidance visits")))
    messages.success(request, _("The follow-up was added."))
    return redirect("campaigns:guidance")


# ---- award rounds ---------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def award_create(request):
    """A round with configurable categories (1+9 by default), its vote window, weights and publicity period."""
    orgs = _lead_orgs(request)
    initial = [{"code": c, "name": n, "nominee_kind": k, "quota": q} for c, n, k, q in services.DEFAULT_CATEGORIES]
    formset = CategoryFormSet(request.POST or None, prefix="c", initial=None if request.POST else initial)
    return _create(request, orgs=orgs, form=AwardRoundForm(request.POST or None, orgs=orgs),
                   call=lambda d: services.award_round_create(
                       categories=[(r["code"], r["name"], r["nominee_kind"], r["quota"]) for r in _rows(formset)],
                       actor=request.user, **d),
                   formsets=[(_("Categories"), formset)], title=_("New award round"),
                   back=(reverse("campaigns:award_list"), _("Award rounds")), done=_("The award round was created."),
                   goto=lambda a: reverse("campaigns:award_detail", args=[a.pk]))


@login_required
@require_http_methods(["GET", "POST"])
def nominate(request, pk: int):
    """An organisation nominates a unit (by choice) or a member (by ID number) of its own subtree."""
    award = get_or_404(covering_rounds(request.user).select_related("org"), pk=pk)
    orgs = orgs_for(request.user, "change").filter(path__startswith=award.org.path)
    ensure(orgs.exists())
    form = NominationForm(request.POST or None, categories=award.categories.all(), orgs=orgs)
    if request.method == "POST":
        _posted_org_in(request, orgs, "nominated_by")
        _posted_org_in(request, orgs, "nominee_org")

        def call(d):
            member = None
            if d["nominee_id_number"]:
                number = parse_id_number(d["nominee_id_number"]).number
                member = Member.objects.filter(person__id_number=number).select_related("person", "org").first()
                if member is None:
                    raise ValidationError({"nominee_id_number": [_("No member has this ID number.")]})
            return services.nomination_create(category=d["category"], nominated_by=d["nominated_by"],
                                              nominee_org=d["nominee_org"], nominee_member=member,
                                              citation=d["citation"], actor=request.user)

        try:
            _run(request, form, call)
        except Invalid:
            pass
        else:
            messages.success(request, _("The nomination was made."))
            return redirect("campaigns:award_detail", pk=award.pk)
    return _page(request, title=_("Nominate") + f" · {award.name}", form=form,
                 back=(reverse("campaigns:award_detail", args=[award.pk]), award.name),
                 intro=_("The nominee's figures are taken from the platform when the nomination is made."),
                 status=400 if request.method == "POST" else 200)


# ---- advisors -------------------------------------------------------------------------------------------------------


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
        "checklist": services.PARTY_CHECKLIST,
    }
    return render(request, "campaigns/advisor_detail.html", context, status=status)


# ---- ventures -------------------------------------------------------------------------------------------------------


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


# ---- drives ---------------------------------------------------------------------------------------------------------


@login_required
@require_GET
def drive_list(request):
    drives = visible(Drive, request.user).select_related("org").order_by("-start", "id")
    return render(request, "campaigns/drive_list.html", {
        "drives": drives, "may_create": orgs_for(request.user, "admin", LEAD_KINDS).exists()})


def _target_formset(data, orgs):
    formset_class = django_forms.formset_factory(DriveTargetForm, extra=6, max_num=300)
    return formset_class(data, prefix="t", form_kwargs={"orgs": orgs})


@login_required
@require_http_methods(["GET", "POST"])
def drive_create(request):
    """A drive with its targets (organisation, kind of body to set up, number)."""
    orgs = _lead_orgs(request)
    formset = _target_formset(request.POST or None, orgs)
    return _create(request, orgs=orgs, form=DriveForm(request.POST or None, orgs=orgs),
                   call=lambda d: services.drive_create(
                       targets=[(r["org"], r["metric"], r["target"]) for r in _rows(formset)], actor=request.user, **d),
                   formsets=[(_("Targets"), formset)], title=_("New drive"),
                   back=(reverse("campaigns:drive_list"), _("100-day drives")), done=_("The drive was created."),
                   goto=lambda d: reverse("campaigns:drive_detail", args=[d.pk]))


@login_required
@require_POST
def drive_target_add(request, pk: int):
    drive = get_visible(Drive, request.user, "admin", pk=pk)
    orgs = orgs_for(request.user, "admin", LEAD_KINDS)
    _posted_org_in(request, orgs)
    form = DriveTargetForm(request.POST, orgs=orgs)
    try:
        _run(request, form, lambda d: services.drive_target_set(drive=drive, actor=request.user, **d))
    except Invalid:
        return _page(request, title=drive.name, form=form, status=400,
                     back=(reverse("campaigns:drive_detail", args=[drive.pk]), drive.name))
    messages.success(request, _("The target was added."))
    return redirect("campaigns:drive_detail", pk=drive.pk)

