"""Pages for grids, visits and cases. Thin: parse → restrict → call a service → render.

Everything organisation-owned is read through `restrict(user, action)`; out of scope answers 404 exactly like
missing. A resident sees only the cases he or she reported.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xianfeng.core import policy
from xianfeng.core.forms import add_service_errors
from xianfeng.core.scoping import subtree_q
from xianfeng.orgs.models import Organisation, OrgKind, Role

from . import services
from .forms import RateForm, ReportForm, StaffCaseForm, VisitForm
from .models import CLOCK_STATES, Case, CaseCategory, Grid, GridTeam, Household, Status, TeamMember
from .policies import ALL_ACTIONS, cases
from .rates import CASE_FIGURES, case_figures, figure_sets
from .selectors import cases_for_list, visible_case

PAGE_SIZE = 50
OVERDUE_ROWS = 200  # the board shows the 200 oldest deadlines; the level counts above it cover every case
MAP_LIMIT = 3000

def case_actions(case: Case, user) -> set[str]:
    """The steps `user` may take on `case` now (the Case policy's answer; buttons on the page)."""
    return cases().steps(user, case)


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _grid_orgs(user, action="view"):
    return Organisation.objects.restrict(user, action).filter(kind__in=[OrgKind.VILLAGE, OrgKind.COMMUNITY])


# ---- grids and visits ---------------------------------------------------------------------------------------------


@login_required
@require_GET
def grid_list(request):
    qs = Grid.objects.restrict(request.user, "view").select_related("org")
    q = (request.GET.get("q") or "").strip()[:50]
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__startswith=q) | Q(org__name__icontains=q))
    within = _int(request.GET.get("within"))
    within_org = Organisation.objects.restrict(request.user, "view").filter(pk=within).first() if within else None
    if within_org:
        qs = qs.in_subtree(within_org)
    qs = qs.annotate(n_households=Count("households", distinct=True), n_teams=Count("teams", distinct=True))
    page = Paginator(qs.order_by("code"), PAGE_SIZE).get_page(request.GET.get("page"))
    ids = [g.pk for g in page]
    c30 = services.visit_coverage(ids, days=30)
    c90 = services.visit_coverage(ids, days=90)
    for grid in page:
        grid.c30, grid.c90 = c30[grid.pk], c90[grid.pk]
    return render(request, "grids/grid_list.html", {"page": page, "q": q, "within": within_org,
                                                    "can_import": policy.policy_for(Grid).any(request.user, "change")})


@login_required
@require_GET
def household_list(request):
    """Households in scope: ?within=<org id> (the grid's organisation subtree), ?visited=90 those visited in the
    last 90 days (the visit-coverage figure's numerator), ?visited=0 those not visited in that window."""
    from .indicators import VISIT_WINDOW_DAYS, VISITED

    policy.require_any(request.user, "view", Household)
    qs = Household.objects.restrict(request.user, "view").select_related("grid", "grid__org")
    within = _int(request.GET.get("within"))
    within_org = policy.get_visible(Organisation, request.user, "view", pk=within) if within else None
    if within_org:
        qs = qs.filter(subtree_q("grid__org__path", within_org.path))
    visited = request.GET.get("visited", "")
    if visited == str(VISIT_WINDOW_DAYS):
        qs = qs.filter(pk__in=VISITED.records().values("pk"))
    elif visited == "0":
        qs = qs.exclude(pk__in=VISITED.records().values("pk"))
    else:
        visited = ""
    page = Paginator(qs.order_by("grid__code", "number", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "grids/household_list.html", {"page": page, "within": within_org, "visited": visited,
                                                         "window": VISIT_WINDOW_DAYS})


@login_required
@require_GET
def grid_detail(request, pk: int):
    grid = policy.get_visible(Grid.objects.select_related("org"), request.user, "view", pk=pk)
    days = 90 if request.GET.get("days") == "90" else 30
    households = grid.households.annotate(n_people=Count("people")).order_by("number")
    vulnerable_only = request.GET.get("vulnerable") == "1"
    if vulnerable_only:
        households = households.filter(Q(elderly_alone=True) | Q(disabled=True) | Q(hardship=True))
    page = Paginator(households, PAGE_SIZE).get_page(request.GET.get("page"))
    teams = GridTeam.objects.filter(grids=grid).prefetch_related("seats__person", "seats__department")
    coverage = {d: services.visit_coverage([grid.pk], days=d)[grid.pk] for d in (30, 90)}
    unvisited = list(services.unvisited_households(grid, days=days)[:200])
    return render(request, "grids/grid_detail.html", {
        "grid": grid, "page": page, "teams": teams, "coverage": coverage, "days": days, "unvisited": unvisited,
        "can_visit": policy.allows(request.user, "view", grid), "vulnerable_only": vulnerable_only,
    })


@login_required
@require_http_methods(["GET", "POST"])
def visit_new(request, pk: int):
    household = policy.get_visible(Household.objects.select_related("grid__org"), request.user, "view", pk=pk)
    form = VisitForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            need = ({"category": d["need_category"], "description": d["need_description"]}
                    if d["need_found"] else None)
            problem = ({"category": d["problem_category"], "description": d["problem_description"]}
                       if d["problem_found"] else None)
            try:
                visit = services.visit_record(household=household, date=d["date"], notes=d["notes"],
                                              actor=request.user, need=need, problem=problem)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, pgettext("grids", "Visit recorded."))
                if visit.case is not None:
                    messages.info(request, pgettext("grids", "Case %(number)s opened.") % {"number": visit.case.number})
                return redirect("grids:grid_detail", pk=household.grid_id)
        status = 400
    return render(request, "grids/visit_form.html", {"form": form, "household": household}, status=status)


MAX_GEOJSON_BYTES = 20 * 1024 * 1024


@login_required
@require_http_methods(["GET", "POST"])
def boundaries_upload(request):
    """Upload grid boundaries as GeoJSON (a FeatureCollection of Polygon/MultiPolygon, grid code in properties.code):
    checked whole, imported all or nothing, audited. For staff who may change grids; 404 for anyone else."""
    policy.require_any(request.user, "change", Grid)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors = [pgettext("grids", "Choose a GeoJSON file.")]
        elif upload.size > MAX_GEOJSON_BYTES:
            errors = [pgettext("grids", "The file is larger than 20 MB.")]
        else:
            try:
                changed = services.grid_boundaries_import(data=upload.read(), actor=request.user,
                                                          file_name=upload.name)
            except ValidationError as exc:
                errors = [m for ms in exc.message_dict.values() for m in ms]
            else:
                messages.success(request, pgettext("grids", "Boundaries of %(n)s grids imported.") % {
                    "n": len(changed)})
                return redirect("grids:grid_list")
        status = 400
    return render(request, "grids/boundaries.html", {"errors": errors}, status=status)


# ---- cases --------------------------------------------------------------------------------------------------------


def figure_labels() -> dict[str, str]:
    return {"on_time": pgettext("grids", "On-time closure rate"), "closure": pgettext("grids", "Closure rate"),
            "reopen": pgettext("grids", "Reopen rate"), "satisfaction": pgettext("grids", "Satisfaction")}


def _by_status(qs, status: str, now: dt.datetime):
    if status == "open":
        return qs.open(), status
    if status == "overdue":
        return qs.overdue(now), status
    if status in Status.values:
        return qs.filter(status=status), status
    if status == "all":
        return qs, status
    return qs.open(), "open"


def _case_filter(request, qs, *, per_row: bool = False):
    """?status=open|closed|overdue|<state>, ?category=, ?within=, ?q=number, ?due=soon, ?level=, ?grid=;
    ?figure=on_time|closure|reopen|satisfaction&part=x|n&start=&end= lists the cases behind a figure."""
    now = timezone.now()
    status = request.GET.get("status") or "open"
    figure = request.GET.get("figure")
    drill = None
    if figure in CASE_FIGURES:  # the drill-down of a figure: the records behind its numerator or denominator
        start, end = _date(request.GET.get("start")), _date(request.GET.get("end"))
        part = "x" if request.GET.get("part") == "x" else "n"
        numerator, denominator = figure_sets(qs, figure, start=start, end=end)
        qs = numerator if part == "x" else denominator
        status = "all"
        drill = {"figure": figure, "part": part, "start": start, "end": end, "label": figure_labels()[figure]}
    else:
        qs, status = _by_status(qs, status, now)
    if request.GET.get("due") == "soon":
        qs = qs.filter(status__in=CLOCK_STATES, due_at__gte=now, due_at__lt=now + dt.timedelta(days=1))
    category = _int(request.GET.get("category"))
    if category:
        qs = qs.filter(category_id=category)
    grid = _int(request.GET.get("grid"))
    if grid:
        qs = qs.filter(grid_id=grid)
    level = _int(request.GET.get("level"))
    if level is not None and 0 <= level <= 3:
        qs = qs.filter(escalation_level=level)
    within = _int(request.GET.get("within"))
    within_org = Organisation.objects.restrict(request.user, "view").filter(pk=within).first() if within else None
    if within_org and drill:  # figures count a case where it arose (its village/community), so does their list
        qs = qs.in_subtree(within_org)
    elif within_org:
        qs = qs.within(within_org, per_row=per_row)
    q = (request.GET.get("q") or "").strip()[:20]
    if q:
        qs = qs.filter(number__startswith=q)
    return qs, {"status": status, "category": category, "within": within_org, "q": q, "drill": drill}


ROW_FIELDS = ("id", "number", "status", "due_at", "escalation_level", "description", "created_at", "category__name",
              "org__name", "handling_unit__name")
COUNT_CAP = 1000
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _cursor_text(created_at: dt.datetime, pk: int) -> str:
    return f"{(created_at - EPOCH) // dt.timedelta(microseconds=1)}_{pk}"


def _cursor(value) -> tuple[dt.datetime, int] | None:
    """A keyset cursor 「<microseconds since 1970>_<id>」, or None when missing or malformed."""
    try:
        micros, pk = str(value or "").split("_")
        return EPOCH + dt.timedelta(microseconds=int(micros)), int(pk)
    except (ValueError, OverflowError):
        return None


def _decorate(rows: list[dict], now: dt.datetime) -> None:
    """What a list row shows besides its columns: the status label, overdue, the deadline as text, a short summary."""
    labels = dict(Status.choices)
    tz = timezone.get_current_timezone()
    for row in rows:
        row["status_label"] = labels.get(row["status"], row["status"])
        row["overdue"] = bool(row["due_at"] and row["due_at"] < now and row["status"] in CLOCK_STATES)
        row["due_text"] = row["due_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M") if row["due_at"] else "—"
        text = row.pop("description")
        row["summary"] = text if len(text) <= 120 else text[:119] + "…"


def keyset_page(qs, params, size: int | None = None) -> dict:
    """Newest first by (created_at, id), read in index order and cut by a keyset: ?after=<cursor> gives the next
    page, ?before=<cursor> the previous. No OFFSET and no sort, so page 200 costs what page 1 does."""
    size = size or PAGE_SIZE
    after, before = _cursor(params.get("after")), _cursor(params.get("before"))
    if after:
        at, pk = after
        qs = qs.filter(created_at__lte=at).filter(Q(created_at__lt=at) | Q(id__lt=pk))
    elif before:
        at, pk = before
        qs = qs.filter(created_at__gte=at).filter(Q(created_at__gt=at) | Q(id__gt=pk))
    order = ("created_at", "id") if before else ("-created_at", "-id")
    rows = list(qs.order_by(*order).values(*ROW_FIELDS)[:size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if before:
        rows.reverse()
    _decorate(rows, timezone.now())
    has_next = more if not before else True
    has_prev = (more if before else bool(after)) and bool(rows)
    return {"rows": rows,
            "next": _cursor_text(rows[-1]["created_at"], rows[-1]["id"]) if rows and has_next else None,
            "prev": _cursor_text(rows[0]["created_at"], rows[0]["id"]) if has_prev else None}


def capped_count(qs, cap: int | None = None) -> tuple[int, bool]:
    """How many rows, reading at most cap + 1 of them: (count, True) means 'more than cap'."""
    cap = cap or COUNT_CAP
    n = qs.order_by().values("id")[:cap + 1].count()
    return min(n, cap), n > cap


@login_required
@require_GET
def case_list(request):
    policy.require_any(request.user, "view", Case)
    # The same filters twice: counted by organisation ids (a few index lookups), listed row by row in index order.
    counted, filters = _case_filter(request, Case.objects.restrict(request.user, "view"))
    listed, _ = _case_filter(request, cases_for_list(request.user, "view"), per_row=True)
    if filters["drill"]:  # the records behind a figure: counted exactly, so the list shows the figure's number
        count, more = counted.count(), False
    else:
        count, more = capped_count(counted)
    return render(request, "grids/case_list.html", {
        "page": keyset_page(listed, request.GET), "count": count, "count_more": more, "filters": filters,
        "statuses": Status.choices, "categories": CaseCategory.objects.order_by("code").values("pk", "name"),
    })


@login_required
@require_GET
def overdue_board(request):
    """The supervisor's board: overdue and unaccepted-too-long cases by escalation level, oldest deadline first."""
    policy.require_any(request.user, "view", Case)
    now = timezone.now()
    qs = (Case.objects.restrict(request.user, "view").filter(status__in=CLOCK_STATES)
          .filter(Q(due_at__lt=now) | Q(escalation_level__gt=0)).select_related("category", "org", "handling_unit"))
    levels = dict(qs.order_by().values_list("escalation_level").annotate(n=Count("id")))
    rows = list(qs.order_by("due_at", "id").values(*ROW_FIELDS)[:OVERDUE_ROWS])
    _decorate(rows, now)
    return render(request, "grids/overdue.html", {"page": {"rows": rows}, "now": now, "shown": len(rows),
                                                  "levels": [(i, levels.get(i, 0)) for i in range(4)]})


def _person_name(user) -> str:
    person = getattr(user, "person", None)
    return user.get_full_name() or (person.name if person is not None else "") or user.username


def _open_case(request, form, *, org, source):
    d = form.cleaned_data
    return services.case_open(
        category=d["category"], description=d["description"], actor=request.user, source=source, org=org,
        lat=d.get("latitude"), lng=d.get("longitude"), address=d.get("address") or "", photo=d.get("photo"),
        reporter=request.user if source == Case.Source.PORTAL else None,
        reporter_name=d.get("reporter_name") or (_person_name(request.user) if source == Case.Source.PORTAL else ""),
        reporter_phone=d.get("reporter_phone") or "")




@login_required
@require_http_methods(["GET", "POST"])
def report(request):
    """A resident reports a problem: text, photo, a point on the map or a typed address."""
    home = Organisation.objects.filter(roles__user=request.user, roles__kind=Role.Kind.RESIDENT).first()
    if home is None and getattr(request.user, "person", None) is not None and hasattr(request.user.person, "resident"):
        home = request.user.person.resident.org
    form = ReportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                case = _open_case(request, form, org=home, source=Case.Source.PORTAL)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, pgettext("grids", "Thank you. Your report is case %(number)s.") % {"number": case.number})
                return redirect("grids:case_detail", pk=case.pk)
        status = 400
    return render(request, "grids/report.html", {"form": form, "tile_url": services.settings_tile_url(),
                                                 "center": _map_center(home),
                                                 "show_grids": policy.policy_for(Grid).any(request.user, "view")},
                  status=status)


@login_required
@require_http_methods(["GET", "POST"])
def case_new(request):
    """A grid worker opens a case on a resident's behalf."""
    orgs = _grid_orgs(request.user).order_by("path")
    policy.ensure(orgs.exists())
    form = StaffCaseForm(request.POST or None, request.FILES or None, orgs=orgs)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                case = _open_case(request, form, org=form.cleaned_data["org"], source=Case.Source.STAFF)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, pgettext("grids", "Case %(number)s opened.") % {"number": case.number})
                return redirect("grids:case_detail", pk=case.pk)
        status = 400
    return render(request, "grids/case_new.html", {"form": form, "tile_url": services.settings_tile_url(),
                                                   "center": _map_center(orgs.first()), "show_grids": True},
                  status=status)


@login_required
@require_GET
def case_similar(request):
    """htmx partial: open cases of the same category near the chosen point (possible duplicates)."""
    category = CaseCategory.objects.filter(pk=_int(request.GET.get("category"))).first()
    try:
        lat = float(request.GET.get("latitude", ""))
        lng = float(request.GET.get("longitude", ""))
        services.geo.check_point(lat, lng)
    except (ValueError, ValidationError):
        category = None
    found = services.case_duplicates(category=category, lat=lat, lng=lng) if category else []
    return render(request, "grids/_similar.html", {"similar": found})


def _detail_context(request, case: Case, **extra) -> dict:
    actions = case_actions(case, request.user)
    context = {
        "case": case, "events": case.events.select_related("by", "unit").order_by("at", "id"), "actions": actions,
        "now": timezone.now(), "outcomes": Case.Outcome.choices, "rate_form": RateForm(),
        "is_staff_view": policy.in_org_scope(request.user, "view", [case.org]),
    }
    if "dispatch" in actions or "close" in actions:
        context["units"] = policy.visible(Organisation.objects.units(), request.user, "view").order_by("path")[:300]
        context["departments"] = Organisation.objects.filter(kind=OrgKind.DEPARTMENT).order_by("path")
    if "merge" in actions and case.latitude is not None and case.longitude is not None:
        context["similar"] = services.case_duplicates(category=case.category, lat=case.latitude, lng=case.longitude,
                                                      exclude=case)
    context.update(extra)
    return context


@login_required
@require_GET
def case_detail(request, pk: int):
    case = visible_case(request.user, pk)
    return render(request, "grids/case_detail.html", _detail_context(request, case))


PHOTO_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif",
               "webp": "image/webp", "bmp": "image/bmp"}


@login_required
@require_GET
def case_photo(request, pk: int):
    """A case's photo, to those who may see the case (its reporter, staff of its village/community or handling
    unit); 404 to anyone else, exactly like a missing photo. Photos are stored outside MEDIA_ROOT, so this view is
    the only way to them."""
    from django.http import FileResponse

    case = visible_case(request.user, pk)
    policy.ensure(bool(case.photo))
    try:
        handle = case.photo.open("rb")
    except OSError:  # the file is gone: the same answer as no photo
        handle = None
    policy.ensure(handle is not None)
    kind = PHOTO_TYPES.get(case.photo.name.rsplit(".", 1)[-1].lower(), "application/octet-stream")
    response = FileResponse(handle, content_type=kind)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def perform(case: Case, user, action: str, p) -> None:
    """Run `action` on `case` for `user` with the submitted fields `p` (a QueryDict or dict).

    Raises NotFound when the user has no part in the case for this action (the same answer as a missing case),
    TransitionError when the state or a rule forbids it, ValidationError for bad input.
    """
    allowed = case_actions(case, user)
    by = user
    if action not in allowed:
        cases().require_part(by, case, action)
        if action in ("verify", "reject") and case.handler_id == by.pk:
            raise services.TransitionError({"by": [pgettext("grids", "Verification must be done by someone other than the handler.")]})
        raise services.TransitionError({"status": [
            pgettext("grids", "The case is %(status)s; this step is not possible now.") % {"status": case.get_status_display()}]})
    if action == "dispatch":
        unit = Organisation.objects.restrict(by, "view").filter(pk=_int(p.get("unit"))).first()
        if unit is None:
            raise ValidationError({"unit": [pgettext("grids", "Choose the handling unit.")]})
        services.case_dispatch(case=case, unit=unit, actor=by, note=p.get("note", ""))
    elif action == "accept":
        services.case_accept(case=case, actor=by)
    elif action == "return":
        services.case_return(case=case, actor=by, reason=p.get("reason", ""))
    elif action == "start":
        services.case_start(case=case, actor=by)
    elif action == "report":
        services.case_report_back(case=case, actor=by, note=p.get("note", ""))
    elif action in ("verify", "reject"):
        services.case_verify(case=case, actor=by, passed=action == "verify", note=p.get("note", ""))
    elif action == "close":
        outcome = p.get("outcome", "")
        transferred = Organisation.objects.filter(pk=_int(p.get("transferred_to"))).first()
        services.case_close(case=case, actor=by, outcome=outcome, note=p.get("note", ""),
                            transferred_to=transferred)
    elif action == "suspend":
        services.case_suspend(case=case, actor=by, reason=p.get("reason", ""))
    elif action == "resume":
        services.case_resume(case=case, actor=by)
    elif action == "merge":
        into = Case.objects.restrict(by, "view").filter(number=(p.get("into") or "").strip()[:20]).first()
        if into is None:
            raise ValidationError({"into": [pgettext("grids", "No case with that number in your scope.")]})
        services.case_merge(case=case, into=into, actor=by)
    elif action == "reopen":
        services.case_reopen(case=case, actor=by, reason=p.get("reason", ""))
    elif action == "rate":
        form = RateForm(p)
        if not form.is_valid():
            raise ValidationError({"rating": [pgettext("grids", "Choose a rating.")]})
        services.case_rate(case=case, actor=by, rating=form.cleaned_data["rating"], note=form.cleaned_data["note"])


@login_required
@require_POST
def case_act(request, pk: int, action: str):
    """One transition. Out of order or not allowed → 400 with the reason; out of scope → 404."""
    case = visible_case(request.user, pk)
    policy.ensure(action in ALL_ACTIONS)
    try:
        perform(case, request.user, action, request.POST)
    except ValidationError as exc:
        errors = [f"{m}" for msgs in exc.message_dict.values() for m in msgs] if hasattr(exc, "error_dict") \
            else exc.messages
        case = visible_case(request.user, pk)
        return render(request, "grids/case_detail.html", _detail_context(request, case, errors=errors), status=400)
    messages.success(request, pgettext("grids", "Done."))
    return redirect("grids:case_detail", pk=pk)


@login_required
@require_GET
def my_cases(request):
    return render(request, "grids/my_cases.html",
                  {"page": keyset_page(Case.objects.filter(reporter=request.user), request.GET)})


# ---- map and figures ----------------------------------------------------------------------------------------------


def _map_center(org) -> list[float]:
    grid = Grid.objects.filter(org=org, min_lat__isnull=False).first() if org is not None else None
    if grid is None:
        grid = Grid.objects.filter(min_lat__isnull=False).order_by("id").first()
    if grid is None:
        return [30.526, 120.942]  # 海盐县城
    return [(grid.min_lat + grid.max_lat) / 2, (grid.min_lng + grid.max_lng) / 2]


@login_required
@require_GET
def map_page(request):
    policy.require_any(request.user, "view", Grid)
    return render(request, "grids/map.html", {"tile_url": services.settings_tile_url(),
                                              "data_url": reverse("grids:map_data")})


@login_required
@require_GET
def map_data(request):
    """GeoJSON of the grids in scope (polygons) and their open cases (points)."""
    policy.require_any(request.user, "view", Grid)
    features = []
    for grid in (Grid.objects.restrict(request.user, "view").filter(boundary__isnull=False)
                 .values("id", "name", "code", "boundary")[:MAP_LIMIT]):
        features.append({"type": "Feature", "geometry": grid["boundary"],
                         "properties": {"kind": "grid", "name": grid["name"], "code": grid["code"],
                                        "url": reverse("grids:grid_detail", args=[grid["id"]])}})
    now = timezone.now()
    cases = (Case.objects.restrict(request.user, "view").open().filter(latitude__isnull=False)
             .values("id", "number", "latitude", "longitude", "status", "due_at", "category__name")
             .order_by("-created_at")[:MAP_LIMIT])
    for c in cases:
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [c["longitude"],
                                                                                          c["latitude"]]},
                         "properties": {"kind": "case", "name": f"{c['number']} {c['category__name']}",
                                        "overdue": bool(c["due_at"] and c["due_at"] < now
                                                        and c["status"] in CLOCK_STATES),
                                        "url": reverse("grids:case_detail", args=[c["id"]])}})
    return JsonResponse({"type": "FeatureCollection", "features": features})


@login_required
@require_GET
def figures(request):
    """按期办结率, closure, reopen, satisfaction and visit coverage per organisation subtree, with drill-down."""
    policy.require_any(request.user, "view", Organisation)
    visible = Organisation.objects.restrict(request.user, "view")
    org = visible.filter(pk=_int(request.GET.get("org"))).first() if request.GET.get("org") else None
    if org is None:
        org = visible.order_by("depth", "path").first()
    policy.ensure(org is not None)
    today = timezone.localdate()
    end = _date(request.GET.get("end")) or today
    start = _date(request.GET.get("start")) or end - dt.timedelta(days=364)
    if start > end:
        start, end = end, start
    rows = [org] + list(visible.filter(parent=org).units().order_by("path"))
    data = case_figures(rows, start=start, end=end)
    table = []
    for o in rows:
        figs = data.get(o.pk, {})
        table.append({"org": o, "figs": [(key, figs.get(key)) for key in ("on_time", "closure", "reopen",
                                                                          "satisfaction", "coverage")],
                      "has_children": o is not org})
    return render(request, "grids/figures.html", {"org": org, "table": table, "start": start, "end": end,
                                                  "ancestors": [a for a in org.ancestors() if a in visible],
                                                  "totals": services.grid_totals(org)})


@login_required
@require_GET
def team_list(request):
    teams = GridTeam.objects.restrict(request.user, "view").select_related("org")
    within = _int(request.GET.get("within"))
    within_org = Organisation.objects.restrict(request.user, "view").filter(pk=within).first() if within else None
    if within_org:
        teams = teams.in_subtree(within_org)
    teams = teams.annotate(n_seats=Count("seats", distinct=True), n_grids=Count("grids", distinct=True)).order_by(
        "org__path", "name")
    page = Paginator(teams, PAGE_SIZE).get_page(request.GET.get("page"))
    seats = {}
    for seat in TeamMember.objects.filter(team__in=list(page), role=TeamMember.Role.LEADER).select_related("person"):
        seats.setdefault(seat.team_id, seat.person.name)
    for team in page:
        team.leader_name = seats.get(team.pk, "")
    return render(request, "grids/team_list.html", {"page": page, "within": within_org})


@login_required
@require_GET
def team_detail(request, pk: int):
    """A grid team: the grids it serves and its cadres with their roles (a department cadre with the department that
    sent him or her), and for each cadre the other teams he or she sits in."""
    team = policy.get_visible(GridTeam.objects.select_related("org"), request.user, "view", pk=pk)
    seats = list(team.seats.select_related("person", "department").order_by("role", "person__name"))
    others = defaultdict(list)
    for person_id, name in (TeamMember.objects.filter(person_id__in=[s.person_id for s in seats])
                            .exclude(team=team).values_list("person_id", "team__name").order_by("team__name")):
        others[person_id].append(name)
    for seat in seats:
        seat.other_teams = others.get(seat.person_id, [])
    return render(request, "grids/team_detail.html", {"team": team, "seats": seats,
                                                      "grids": team.grids.order_by("code")})
