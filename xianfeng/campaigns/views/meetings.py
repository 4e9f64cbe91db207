"""Pages for leading-group meetings, follow-ups, guidance visits and the contact-point map."""

from __future__ import annotations

from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xianfeng.core.policy import allows, get_visible, visible
from xianfeng.orgs.models import ContactPoint, GuidanceGroup, GuidanceVisit, Organisation

from .. import services
from ..forms import (
    FollowUpCloseForm,
    FollowUpForm,
    FollowUpFromVisitForm,
    MeetingForm,
)
from ..models import (
    Campaign,
    FollowUp,
    Meeting,
)
from ..policies import LEAD_KINDS, administers_any, orgs_for
from .common import PAGE_SIZE, Invalid, _create, _lead_orgs, _page, _posted_org_in, _rows, _run


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
