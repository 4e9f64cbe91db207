"""Pages for activities, check-in, hours, teams, figures, certificates and calendar feeds (phone first).

Thin: parse → read through the policy (xianfeng.events.policies) → call a service → render. An activity is read
with `view` (its audience and the user's view scope) and managed with `change`; anything else answers 404 exactly
like a missing object.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xianfeng.core.audit import audit_record
from xianfeng.core.excel import Sheet, xlsx_response
from xianfeng.core.forms import add_service_errors
from xianfeng.core.frontdoor import page_call
from xianfeng.core.policy import allows, ensure, get_or_404, get_visible, policy_for, require_any, visible
from xianfeng.core.scoping import subtree_q
from xianfeng.core.throttle import client_ip
from xianfeng.orgs.models import Member, Organisation, Person

from . import ics, services
from .documents import certificate_pdf, qr_svg
from .figures import figures_for, member_lessons
from .forms import ActivityForm, CertificateForm, CheckOutForm, PeriodForm, TeamEditForm, TeamForm
from .models import Activity, ActivityKind, Attendance, Certificate, Registration, Team, TeamMember
from .selectors import first_root, scope_roots

PAGE_SIZE = 30
FEED_SALT = "xianfeng.events.feed"


def _person(request) -> Person | None:
    return getattr(request.user, "person", None)




def _visible_activity(request, pk: int) -> Activity:
    return get_visible(Activity.objects.select_related("org", "team"), request.user, "view", pk=pk)


def _managed_activity(request, pk: int) -> Activity:
    return get_visible(Activity.objects.select_related("org", "team"), request.user, "change", pk=pk)


def _submit(request, form, call, success: str, detail: str):
    """On a valid POST, `call(cleaned_data)` (a service) and redirect to `detail` of what it returns; its
    ValidationError goes onto the form (None is returned and the form is shown again with a 400)."""
    if request.method != "POST" or not form.is_valid():
        return None
    outcome = page_call(request, call, dict(form.cleaned_data), form=form)
    if not outcome:
        return None
    messages.success(request, success)
    return redirect(detail, pk=outcome.value.pk)


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _period(request) -> tuple[PeriodForm, dt.date | None, dt.date | None]:
    form = PeriodForm(request.GET or None)
    start, end = form.period() if request.GET else (None, None)
    return form, start, end


# ---- activities -------------------------------------------------------------------------------------------------


@login_required
@require_GET
def activity_list(request):
    """Activities the user may see, newest first; ?kind=, ?within=<org id>, ?start=/&end=, ?upcoming=1."""
    qs = visible(Activity, request.user).select_related("org", "team")
    kind = request.GET.get("kind", "")
    if kind in ActivityKind.values:
        qs = qs.filter(kind=kind)
    if request.GET.get("live") == "1":  # not cancelled (what the figures count)
        qs = qs.live()
    within = None
    if request.GET.get("within", "").isdigit():
        within = Organisation.objects.restrict(request.user, "view").filter(pk=int(request.GET["within"])).first()
        qs = qs.filter(subtree_q("org__path", within.path)) if within else qs.none()
    if request.GET.get("team", "").isdigit():
        qs = qs.filter(team_id=int(request.GET["team"]))
    teams_only = request.GET.get("teams") == "1"
    if teams_only:  # the figures' "team activities"
        qs = qs.filter(team__isnull=False)
    period_form, start, end = _period(request)
    qs = qs.between(start, end)
    upcoming = request.GET.get("upcoming") == "1"
    qs = (qs.filter(ends_at__gte=timezone.now()).order_by("starts_at", "id") if upcoming
          else qs.order_by("-starts_at", "-id"))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    _with_attendance_counts(page.object_list)
    may_create = policy_for(Activity).any(request.user, "change")
    return render(request, "events/activity_list.html", {
        "page": page, "kinds": ActivityKind.choices, "kind": kind, "within": within, "period_form": period_form,
        "upcoming": upcoming, "may_create": may_create, "may_export": policy_for(Activity).any(request.user, "export"),
        "query": _query_without_page(request), "teams_only": teams_only,
    })


def _with_attendance_counts(activities) -> None:
    """Set `n_attended` on each activity of a page: one grouped query over the page's ids (counting while paging
    would group every visible activity's attendance rows just to count the pages)."""
    activities = list(activities)
    counts = dict(Attendance.objects.filter(activity_id__in=[a.pk for a in activities]).order_by()
                  .values_list("activity_id").annotate(n=Count("id")))
    for activity in activities:
        activity.n_attended = counts.get(activity.pk, 0)


@login_required
@require_http_methods(["GET", "POST"])
def activity_create(request):
    orgs = Organisation.objects.restrict(request.user, "change").order_by("path")
    ensure(orgs.exists())
    teams = visible(Team.objects.active(), request.user, "change").select_related("org")
    form = ActivityForm(request.POST or None, orgs=orgs, teams=teams)
    done = _submit(request, form, lambda data: services.activity_create(actor=request.user, **data),
                   _("The activity was created."), "events:activity_detail")
    if done:
        return done
    return render(request, "events/activity_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def activity_edit(request, pk: int):
    """Change a planned activity (its kind and organiser stay); those signed up hear of a new time or place."""
    activity = _managed_activity(request, pk)
    teams = visible(Team.objects.active(), request.user, "change").select_related("org")
    initial = {name: getattr(activity, name) for name in services.EDITABLE}
    initial.update(kind=activity.kind, org=activity.org, starts_at=timezone.localtime(activity.starts_at),
                   ends_at=timezone.localtime(activity.ends_at))
    form = ActivityForm(request.POST or None, initial=initial, orgs=Organisation.objects.filter(pk=activity.org_id),
                        teams=teams)
    for name in ("kind", "org"):
        form.fields[name].disabled = True
    done = _submit(request, form, lambda data: services.activity_update(
        activity=activity, actor=request.user, **{name: data[name] for name in services.EDITABLE}),
        _("The activity was changed."), "events:activity_detail")
    if done:
        return done
    return render(request, "events/activity_form.html", {"form": form, "activity": activity},
                  status=400 if form.errors else 200)


@login_required
@require_GET
def activity_detail(request, pk: int):
    activity = _visible_activity(request, pk)
    person = _person(request)
    registration = attendance = None
    if person is not None:
        registration = Registration.objects.filter(activity=activity, person=person).first()
        attendance = Attendance.objects.filter(activity=activity, person=person).first()
    manages = allows(request.user, "change", activity)
    counts = dict(Registration.objects.filter(activity=activity).values_list("status").annotate(n=Count("id")))
    return render(request, "events/activity_detail.html", {
        "activity": activity, "registration": registration, "attendance": attendance, "manages": manages,
        "in_audience": person is not None and services.audience_includes(activity, person),
        "n_registered": counts.get("registered", 0), "n_waitlisted": counts.get("waitlisted", 0),
        "n_attended": activity.attendances.count(), "finished": activity.ends_at <= timezone.now(),
        "checkin_open": services.checkin_open(activity),
    })


@login_required
@require_POST
def activity_signup(request, pk: int):
    activity = _visible_activity(request, pk)
    person = _person(request)
    if person is None:
        messages.error(request, _("Your account is not linked to a person, so it cannot sign up."))
        return redirect("events:activity_detail", pk=pk)
    try:
        reg = services.activity_signup(activity=activity, person=person, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if reg.status == Registration.Status.REGISTERED:
            messages.success(request, _("You are signed up."))
        else:
            messages.warning(request, _("The activity is full: you are on the waiting list."))
    return redirect("events:activity_detail", pk=pk)


@login_required
@require_POST
def activity_signup_cancel(request, pk: int):
    activity = _visible_activity(request, pk)
    reg = get_or_404(Registration.objects.filter(activity=activity), person=_person(request))
    services.registration_cancel(registration=reg, actor=request.user)
    messages.success(request, _("Your sign-up was withdrawn."))
    return redirect("events:activity_detail", pk=pk)


@login_required
@require_POST
def activity_cancel(request, pk: int):
    activity = _managed_activity(request, pk)
    try:
        services.activity_cancel(activity=activity, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The activity was cancelled and those signed up were told."))
    return redirect("events:activity_detail", pk=pk)


# ---- check-in -----------------------------------------------------------------------------------------------------


@login_required
@require_GET
@never_cache
def activity_qr(request, pk: int):
    """The organiser's phone at the venue: a QR code that changes every 30 s, and who has checked in."""
    activity = _managed_activity(request, pk)
    return render(request, "events/activity_qr.html", {"activity": activity, **_qr_context(request, activity)})


@login_required
@require_GET
@never_cache
def activity_qr_code(request, pk: int):
    """htmx partial polled by the QR page: the current code and the latest check-ins."""
    activity = _managed_activity(request, pk)
    return render(request, "events/_qr_code.html", {"activity": activity, **_qr_context(request, activity)})


def _qr_context(request, activity: Activity) -> dict:
    open_now = services.checkin_open(activity)
    url = ""
    if open_now:
        url = request.build_absolute_uri(reverse("events:checkin", args=[services.checkin_token(activity)]))
    latest = list(activity.attendances.select_related("person").order_by("-check_in_at", "-id")[:8])
    return {"checkin_url": url, "qr": qr_svg(url, scale=6) if url else "", "open_now": open_now,
            "n_attended": activity.attendances.count(), "latest": latest, "step": services.TOKEN_STEP}


@login_required
@require_http_methods(["GET", "POST"])
def checkin(request, token: str):
    """What a phone opens after scanning the rotating code: confirm, and the check-in is recorded (once).

    A whole lesson may arrive within a minute, so the page is a light one (no menu, no unread badge: no queries
    beyond the session, the user, the activity, the person and the check-in itself)."""
    try:
        activity_id = services.checkin_token_read(token)
    except services.TokenError as exc:
        return render(request, "events/checkin.html", {"error": exc.messages[0]}, status=400)
    activity = get_or_404(Activity.objects.select_related("org"), pk=activity_id)  # the signed code is the key
    person = _person(request)
    context = {"activity": activity, "token": token}
    attendance: Attendance | None
    if person is None:
        context["error"] = _("Your account is not linked to a person, so it cannot check in.")
        return render(request, "events/checkin.html", context, status=400)
    if request.method == "POST":
        try:
            attendance, created = services.attendance_check_in(activity=activity, person=person,
                                                               method=Attendance.Method.ROTATING_QR, actor=request.user)
        except ValidationError as exc:
            context["error"] = " ".join(exc.messages)
            return render(request, "events/checkin.html", context, status=400)
        context["just_checked_in"] = created
    else:
        attendance = Attendance.objects.filter(activity=activity, person=person).first()
    context["attendance"] = attendance
    return render(request, "events/checkin.html", context)


@login_required
@require_POST
def attendance_check_out(request, pk: int):
    """Check-out by the attendee (their own row) or by the organiser (any row, optionally with a time)."""
    att = get_or_404(Attendance.objects.select_related("activity__org", "person"), pk=pk)
    ensure(allows(request.user, "check_out", att))
    manages = allows(request.user, "change", att)
    form = CheckOutForm(request.POST)
    at = None
    if manages and form.is_valid():
        at = form.cleaned_data.get("check_out_at")
    try:
        services.attendance_check_out(attendance=att, at=at, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Checked out. The hours wait for review."))
    if manages:
        return redirect("events:attendance", pk=att.activity_id)
    return redirect("events:activity_detail", pk=att.activity_id)


@login_required
@require_http_methods(["GET", "POST"])
def activity_scan(request, pk: int):
    """The organiser scans (or types) an attendee's personal code."""
    activity = _managed_activity(request, pk)
    status, result, error, created = 200, None, "", False
    if request.method == "POST":
        try:
            person_id = services.personal_code_read(request.POST.get("code", ""))
            person = Person.objects.get(pk=person_id)
            result, created = services.attendance_check_in(activity=activity, person=person,
                                                           method=Attendance.Method.PERSONAL_QR, actor=request.user)
        except (ValidationError, Person.DoesNotExist) as exc:
            error = " ".join(getattr(exc, "messages", [_("Unknown person.")]))
            status = 400
    return render(request, "events/activity_scan.html",
                  {"activity": activity, "result": result, "created": created, "error": error,
                   "n_attended": activity.attendances.count()}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def attendance(request, pk: int):
    """The organiser's attendance sheet: every row, manual entry (audited), check-outs, export."""
    activity = _managed_activity(request, pk)
    q = (request.GET.get("q") or "").strip()[:50]
    status = 200
    if request.method == "POST":
        member = Member.objects.restrict(request.user, "view").filter(pk=request.POST.get("member", "0")
                                                                      if request.POST.get("member", "").isdigit()
                                                                      else 0).select_related("person").first()
        if member is None:
            messages.error(request, _("Choose a member from the search results."))
            status = 400
        else:
            try:
                at = None
                if request.POST.get("check_in_at"):
                    at = timezone.make_aware(dt.datetime.strptime(request.POST["check_in_at"], "%Y-%m-%dT%H:%M"))
                services.attendance_check_in(activity=activity, person=member.person, method=Attendance.Method.MANUAL,
                                             at=at, actor=request.user)
            except ValueError:
                messages.error(request, _("Enter a valid check-in time."))
                status = 400
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                status = 400
            else:
                messages.success(request, _("Attendance recorded for %(name)s.") % {"name": member.person.name})
                return redirect(reverse("events:attendance", args=[activity.pk]))
    rows = activity.attendances.select_related("person", "member__org", "recorded_by").order_by("check_in_at", "id")
    candidates = []
    if q:
        present = activity.attendances.values("person_id")
        candidates = list(visible(Member.objects.active(), request.user, "view")
                          .filter(Q(person__name__contains=q) | Q(person__initials__istartswith=q.lower()))
                          .exclude(person_id__in=present).select_related("person", "org").order_by("id")[:20])
    return render(request, "events/attendance.html", {
        "activity": activity, "page": Paginator(rows, 200).get_page(request.GET.get("page")), "q": q,
        "candidates": candidates, "checkout_form": CheckOutForm(),
    }, status=status)


@login_required
@require_GET
def attendance_export(request, pk: int):
    activity = _managed_activity(request, pk)
    ensure(allows(request.user, "export", activity))
    rows = activity.attendances.select_related("person", "member__org").order_by("check_in_at", "id")
    audit_record(by=request.user, action="export", obj=activity, ip=client_ip(request),
                 summary=f"导出签到表 {activity.title}（{rows.count()} 人）")

    def local(value):
        return timezone.localtime(value).replace(tzinfo=None) if value else None

    return xlsx_response(f"签到表-{activity.title}.xlsx", [Sheet(
        title="签到", headers=["姓名", "所在党组织", "签到方式", "签到时间", "签退时间", "认定时长（小时）", "时长状态"],
        rows=([a.person.name, a.member.org.name if a.member else "", a.get_method_display(), local(a.check_in_at),
               local(a.check_out_at), a.hours, a.get_hours_status_display()] for a in rows.iterator()),
    )])


@login_required
@require_GET
def activity_export(request):
    """Activities in the export scope, filtered like the list, with their attendance counts (audited)."""
    require_any(request.user, "export", Activity)
    qs = Activity.objects.restrict(request.user, "export").select_related("org", "team")
    period_form, start, end = _period(request)
    qs = qs.between(start, end).annotate(n=Count("attendances")).order_by("starts_at", "id")
    if request.GET.get("kind") in ActivityKind.values:
        qs = qs.filter(kind=request.GET["kind"])
    audit_record(by=request.user, action="export", model="events.Activity", ip=client_ip(request),
                 summary=f"导出活动列表（{qs.count()} 项）")
    return xlsx_response("活动列表.xlsx", [Sheet(
        title="活动", headers=["编号", "类型", "名称", "组织单位", "服务团", "开始", "结束", "地点", "主讲人", "签到人数", "状态"],
        rows=([a.pk, a.get_kind_display(), a.title, a.org.full_name, a.team.name if a.team else "",
               timezone.localtime(a.starts_at).replace(tzinfo=None), timezone.localtime(a.ends_at).replace(tzinfo=None),
               a.place, a.lecturer, a.n, a.get_status_display()] for a in qs.iterator()),
    )])


@login_required
@require_GET
def attendance_export_all(request):
    """Every attendance row of activities in the export scope (one row per person and activity), filtered by
    ?within=<org id>, ?kind=, ?start=/&end= (the activity's start date); audited with the filter and row count."""
    require_any(request.user, "export", Attendance)
    qs = Attendance.objects.restrict(request.user, "export").select_related("person", "member__org", "activity__org")
    within = None
    if request.GET.get("within", "").isdigit():
        within = get_visible(Organisation, request.user, "export", pk=int(request.GET["within"]))
        qs = qs.filter(subtree_q("activity__org__path", within.path))
    if request.GET.get("kind") in ActivityKind.values:
        qs = qs.filter(activity__kind=request.GET["kind"])
    _form, start, end = _period(request)
    if start:
        qs = qs.filter(activity__starts_at__date__gte=start)
    if end:
        qs = qs.filter(activity__starts_at__date__lte=end)
    qs = qs.order_by("activity__starts_at", "activity_id", "check_in_at", "id")
    audit_record(by=request.user, action="export", model="events.Attendance", ip=client_ip(request),
                 summary=f"导出签到记录（{qs.count()} 条；{_query_without_page(request) or '全部'}）")

    def local(value):
        return timezone.localtime(value).replace(tzinfo=None) if value else None

    return xlsx_response("签到记录.xlsx", [Sheet(
        title="签到", headers=["活动编号", "活动", "类型", "组织单位", "姓名", "所在党组织", "签到方式", "签到时间",
                               "签退时间", "认定时长（小时）", "时长状态"],
        rows=([a.activity_id, a.activity.title, a.activity.get_kind_display(), a.activity.org.name, a.person.name,
               a.member.org.name if a.member else "", a.get_method_display(), local(a.check_in_at),
               local(a.check_out_at), a.hours, a.get_hours_status_display()] for a in qs.iterator(chunk_size=2000)),
    )])


# ---- my activities, my code ---------------------------------------------------------------------------------------


@login_required
@require_GET
def my_activities(request):
    person = _person(request)
    context: dict = {"person": person}
    if person is not None:
        context.update(
            registrations=Registration.objects.filter(person=person).exclude(status="cancelled")
            .filter(activity__ends_at__gte=timezone.now()).select_related("activity").order_by("activity__starts_at"),
            attendances=Attendance.objects.filter(person=person).select_related("activity")
            .order_by("-check_in_at")[:50],
            approved_hours=round(sum(Attendance.objects.filter(person=person, hours_status="approved")
                                     .values_list("minutes", flat=True)) / 60, 1),
            certificates=Certificate.objects.filter(person=person).select_related("org"),
        )
    return render(request, "events/my.html", context)


@login_required
@require_GET
@never_cache
def my_code(request):
    """The person's own code for the organiser to scan; the page refreshes it before it expires."""
    person = _person(request)
    ensure(person is not None)
    code = services.personal_code(person)
    template = "events/_my_code.html" if request.headers.get("HX-Request") else "events/my_code.html"
    return render(request, template, {"code": code, "qr": qr_svg(code, scale=6), "person": person})


# ---- hours review ---------------------------------------------------------------------------------------------------


@login_required
@require_GET
def hours_review(request):
    """Volunteer hours waiting for a decision in the reviewer's scope; automatically closed rows first."""
    require_any(request.user, "change", Attendance)
    rows = (Attendance.objects.restrict(request.user, "change").filter(hours_status=Attendance.Hours.PENDING)
            .select_related("person", "activity__org").order_by("-auto_closed", "check_in_at", "id"))
    return render(request, "events/hours.html", {"page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))})


@login_required
@require_POST
def hours_decide(request, pk: int):
    att = get_visible(Attendance, request.user, "change", pk=pk)
    try:
        if request.POST.get("decision") == "approve":
            minutes = request.POST.get("minutes", "")
            services.hours_approve(attendance=att, actor=request.user,
                                   minutes=int(minutes) if minutes.strip().isdigit() else None)
            messages.success(request, _("The hours were approved."))
        elif request.POST.get("decision") == "decline":
            services.hours_decline(attendance=att, reason=request.POST.get("reason", ""), actor=request.user)
            messages.success(request, _("The hours were declined."))
        else:
            messages.error(request, _("Choose approve or decline."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(request.POST.get("next") if str(request.POST.get("next", "")).startswith("/events/")
                    else reverse("events:hours"))


# ---- teams --------------------------------------------------------------------------------------------------------


@login_required
@require_GET
def team_list(request):
    """Teams the user may see; ?q= searches names, skills and sponsors, ?within=<org id> keeps one subtree."""
    qs = visible(Team, request.user).select_related("org", "leader").order_by("org__path", "name", "id")
    q = (request.GET.get("q") or "").strip()[:50]
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(skills__contains=q) | Q(org__name__contains=q))
    within = None
    if request.GET.get("within", "").isdigit():
        within = Organisation.objects.restrict(request.user, "view").filter(pk=int(request.GET["within"])).first()
        qs = qs.filter(subtree_q("org__path", within.path)) if within else qs.none()
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = dict(TeamMember.objects.filter(team_id__in=[t.pk for t in page.object_list],
                                            status=TeamMember.Status.ACTIVE)
                  .order_by().values_list("team_id").annotate(n=Count("id")))
    for team in page.object_list:
        team.n_members = counts.get(team.pk, 0)
    return render(request, "events/team_list.html", {
        "page": page, "q": q, "within": within, "may_create": policy_for(Team).any(request.user, "change"),
        "query": _query_without_page(request),
    })


@login_required
@require_http_methods(["GET", "POST"])
def team_create(request):
    orgs = Organisation.objects.restrict(request.user, "change").order_by("path")
    ensure(orgs.exists())
    form = TeamForm(request.POST or None, orgs=orgs)
    done = _submit(request, form, lambda data: services.team_create(actor=request.user, **data),
                   _("The team was created."), "events:team_detail")
    if done:
        return done
    return render(request, "events/team_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def team_edit(request, pk: int):
    """The team's managers (its unit's staff, or its leader) change its name, leader, skills and openness."""
    team = get_visible(Team.objects.select_related("org"), request.user, "view", pk=pk)
    ensure(allows(request.user, "manage", team) and team.is_active)
    form = TeamEditForm(request.POST or None, team=team, initial={
        "name": team.name, "leader": team.leader_id, "skills": team.skills, "description": team.description,
        "open_to_requests": team.open_to_requests})
    done = _submit(request, form, lambda data: services.team_update(team=team, actor=request.user, **data),
                   _("The team was changed."), "events:team_detail")
    if done:
        return done
    return render(request, "events/team_form.html", {"form": form, "team": team}, status=400 if form.errors else 200)


@login_required
@require_POST
def team_deactivate(request, pk: int):
    """Stop a team: its sponsoring unit's staff only (not its leader)."""
    team = get_visible(Team, request.user, "change", pk=pk)
    try:
        services.team_deactivate(team=team, actor=request.user)
        messages.success(request, _("The team was stopped."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("events:team_detail", pk=pk)


@login_required
@require_GET
def team_detail(request, pk: int):
    team = get_visible(Team.objects.select_related("org", "leader"), request.user, "view", pk=pk)
    manages = allows(request.user, "manage", team)
    person = _person(request)
    mine = TeamMember.objects.filter(team=team, person=person).first() if person else None
    roster = None
    if allows(request.user, "roster", team):
        roster = team.memberships.select_related("person").order_by("-is_leader", "status", "id")
    q = (request.GET.get("q") or "").strip()[:50]
    candidates = []
    if manages and q:
        candidates = list(visible(Member.objects.active(), request.user, "view")
                          .filter(Q(person__name__contains=q) | Q(person__initials__istartswith=q.lower()))
                          .exclude(person__volunteer_team_memberships__team=team)
                          .select_related("person", "org").order_by("id")[:20])
    activities = visible(Activity, request.user).filter(team=team).order_by("-starts_at")[:20]
    return render(request, "events/team_detail.html", {
        "team": team, "manages": manages, "mine": mine, "roster": roster, "q": q, "candidates": candidates,
        "activities": activities, "may_stop": team.is_active and allows(request.user, "change", team),
    })


@login_required
@require_POST
def team_join(request, pk: int):
    team = get_visible(Team, request.user, "view", pk=pk)
    person = _person(request)
    ensure(person is not None)
    person = cast(Person, person)
    try:
        services.team_request_join(team=team, person=person, actor=request.user)
        messages.success(request, _("Your request was sent to the team."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("events:team_detail", pk=pk)


@login_required
@require_POST
def team_invite(request, pk: int):
    team = get_visible(Team, request.user, "view", pk=pk)
    ensure(allows(request.user, "manage", team))
    member = get_visible(Member.objects.select_related("person"), request.user, "view",
                         pk=request.POST.get("member") if str(request.POST.get("member", "")).isdigit() else 0)
    try:
        services.team_invite(team=team, person=member.person, actor=request.user)
        messages.success(request, _("%(name)s was invited.") % {"name": member.person.name})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("events:team_detail", pk=pk)


@login_required
@require_POST
def team_member_decide(request, pk: int):
    """Approve or decline a request (the team's managers), or accept or turn down an invitation (the invitee)."""
    membership = get_or_404(TeamMember.objects.select_related("team__org", "person"), pk=pk)
    approve = request.POST.get("decision") == "approve"
    user, status = request.user, membership.status
    decides = status == TeamMember.Status.REQUESTED and allows(user, "decide", membership)
    answers = status == TeamMember.Status.INVITED and allows(user, "answer", membership)
    leaves = (status == TeamMember.Status.ACTIVE and request.POST.get("decision") == "leave"
              and allows(user, "leave", membership))
    ensure(decides or answers or leaves)
    try:
        if decides:
            services.team_member_decide(membership=membership, approve=approve, actor=request.user)
        elif answers:
            services.team_invitation_answer(membership=membership, accept=approve, actor=request.user)
        else:
            services.team_leave(membership=membership, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("events:team_detail", pk=membership.team_id)


# ---- figures and lesson attendance --------------------------------------------------------------------------------


def _figures_org(request) -> Organisation:
    value = request.GET.get("org", "")
    if value.isdigit():
        return get_visible(Organisation, request.user, "view", pk=int(value))
    root = first_root(request.user, "view")
    ensure(root is not None)
    return cast(Organisation, root)


@login_required
@require_GET
def figures(request):
    """Lessons, attendances, teams, activities, participants of an organisation's subtree and of each child (drill
    down by clicking a child)."""
    org = _figures_org(request)
    period_form, start, end = _period(request)
    children = list(Organisation.objects.restrict(request.user, "view").filter(parent=org).order_by("path"))
    rows = figures_for([org, *children], start=start, end=end)
    period_query = "&".join(f"{k}={v}" for k, v in (("start", start), ("end", end)) if v)
    return render(request, "events/figures.html", {
        "org": org, "total": rows[0], "rows": [r for r in rows[1:] if r.lessons or r.teams or r.lesson_expected
                                               or r.team_activities],
        "period_form": period_form, "period_query": period_query,
        # reversed once, not in every row
        "activities_url": reverse("events:activity_list"), "members_url": reverse("events:lesson_members"),
        "teams_url": reverse("events:team_list"),
        "ancestors": [a for a in org.ancestors() if allows(request.user, "view", a)],
    })


@login_required
@require_GET
def lesson_members(request):
    """Each member of the subtree: lessons held for them in the period, attended, missed (most missed first)."""
    org = _figures_org(request)
    period_form, start, end = _period(request)
    only_missed = request.GET.get("missed") == "1"
    rows = member_lessons(org, start=start, end=end, only_missed=only_missed)
    return render(request, "events/lesson_members.html", {
        "org": org, "page": Paginator(rows, 100).get_page(request.GET.get("page")), "period_form": period_form,
        "only_missed": only_missed, "query": _query_without_page(request),
    })


# ---- certificates -------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def certificates(request):
    """Issue a certificate (those who may change an organisation) and list those issued in scope."""
    orgs = Organisation.objects.restrict(request.user, "change").order_by("path")
    ensure(orgs.exists())
    form = CertificateForm(request.POST or None, orgs=orgs)
    if request.method == "POST" and form.is_valid():
        member = Member.objects.restrict(request.user, "view").filter(pk=form.cleaned_data["member"]).first()
        if member is None:
            form.add_error("member", _("No such member in your scope."))
        else:
            try:
                cert = services.certificate_issue(person=member.person, org=form.cleaned_data["org"],
                                                  start=form.cleaned_data["start"], end=form.cleaned_data["end"],
                                                  actor=request.user)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The certificate was issued."))
                return redirect(reverse("events:certificates") + f"#cert-{cert.pk}")
    issued = Certificate.objects.restrict(request.user, "view").select_related("person", "org")
    return render(request, "events/certificates.html", {
        "form": form, "page": Paginator(issued, PAGE_SIZE).get_page(request.GET.get("page")),
    }, status=400 if form.errors else 200)


@login_required
@require_GET
def certificate_pdf_view(request, pk: int):
    cert = get_or_404(Certificate.objects.select_related("person", "org"), pk=pk)
    ensure(allows(request.user, "download", cert))
    response = HttpResponse(certificate_pdf(cert), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="certificate-{cert.code}.pdf"'
    return response


@require_GET
def verify(request):
    """Public: anyone holding a certificate checks its code (the name is shown partly masked)."""
    code = (request.GET.get("code") or "").strip()[:40]
    cert = services.certificate_find(code) if code else None
    return render(request, "events/verify.html", {"code": code, "cert": cert,
                                                  "masked_name": _mask_name(cert.person.name) if cert else ""},
                  status=404 if code and cert is None else 200)


def _mask_name(name: str) -> str:
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


# ---- calendar feeds -----------------------------------------------------------------------------------------------


def feed_token(user, kind: str, pk: int) -> str:
    return signing.dumps({"u": user.pk, "k": kind, "id": pk}, salt=FEED_SALT, compress=True)


@login_required
@require_GET
def calendars(request):
    """The user's subscription links: their own activities, their organisations', their teams'."""
    person = _person(request)
    feeds = []
    if person is not None:
        feeds.append((_("My activities"), feed_token(request.user, "person", person.pk)))
        member = Member.objects.filter(person=person).select_related("org").first()
        if member is not None:
            feeds.append((member.org.name, feed_token(request.user, "org", member.org_id)))
        for tm in TeamMember.objects.filter(person=person, status="active").select_related("team"):
            feeds.append((tm.team.name, feed_token(request.user, "team", tm.team_id)))
    for org in scope_roots(request.user, "view").order_by("path"):
        feeds.append((org.name, feed_token(request.user, "org", org.pk)))
    links = [(label, request.build_absolute_uri(reverse("events:feed", args=[token]))) for label, token in feeds]
    return render(request, "events/calendars.html", {"links": links})


def _feed_key(token: str) -> tuple[Any, str, int] | None:
    """(user, kind, id) a feed link names, or None for a link that is forged, damaged or of a user gone."""
    try:
        data = signing.loads(token, salt=FEED_SALT)
        user = get_user_model().objects.get(pk=int(data["u"]), is_active=True)
        return user, data["k"], int(data["id"])
    except (signing.BadSignature, KeyError, TypeError, ValueError, get_user_model().DoesNotExist):
        return None


@require_GET
def feed(request, token: str):
    """An .ics feed. The link is the key (calendar programs send no cookies): it names its user, and what the feed
    shows is checked against that user's rights at every fetch, so a lost role empties it."""
    read = _feed_key(token)
    ensure(read is not None and read[1] in ("person", "org", "team"))
    user, kind, pk = cast(tuple[Any, str, int], read)
    now = timezone.now()
    shown = visible(Activity, user).select_related("org").filter(ends_at__gte=now - dt.timedelta(days=90))
    if kind == "person":
        ensure(getattr(user, "person_id", None) == pk)
        mine = Q(registrations__person_id=pk, registrations__status__in=["registered", "waitlisted"]) | Q(
            attendances__person_id=pk)
        qs, name = shown.filter(mine).distinct(), "我的活动"
    elif kind == "org":
        org = get_or_404(Organisation, pk=pk)
        qs, name = shown.filter(subtree_q("org__path", org.path)), f"{org.name}活动"
    else:
        team = get_visible(Team, user, "view", pk=pk)
        qs, name = shown.filter(team=team), f"{team.name}活动"
    text = ics.calendar(name, qs.order_by("starts_at", "id")[:1000], host=request.get_host(), now=now)
    response = HttpResponse(text.encode("utf-8"), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="calendar.ics"'
    return response
