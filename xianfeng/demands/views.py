"""Pages of the point-to-point service: the demand board, a demand, claim / assign / close, recording and
confirming a service, pairings, the figures, the export.

Thin: parse → read through the policy (xianfeng.demands.policies) → call a service → render. A demand the user may not see answers 404
exactly like a missing one; the board and every page below "claimer" level show no resident's name, phone or address.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F, Max, Q, Sum
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xianfeng.core.audit import audit_record
from xianfeng.core.excel import Sheet, xlsx_response
from xianfeng.core.forms import add_service_errors
from xianfeng.core.frontdoor import Outcome, page_call
from xianfeng.core.policy import allows, ensure, get_or_404, get_visible, require_any
from xianfeng.core.scoping import subtree_q
from xianfeng.orgs.models import PARTY_KINDS, Member, Organisation
from xianfeng.orgs.selectors import community_of, member_of

from . import services
from .categories import categories_for, categories_under, category_list
from .figures import figures_for
from .filters import filter_board
from .forms import CategoriesForm, ConfirmForm, DemandForm, FilterForm, PairingForm, RecordForm
from .models import Claim, Demand, Pairing, ServiceRecord
from .policies import demand_policy, record_policy
from .selectors import (
    active_claim,
    board_categories,
    board_queryset,
    create_orgs,
    demand_list_queryset,
    distance_km,
    figures_org,
    home_position,
    in_community,
    may_create,
    resident_org,
    roots,
    with_distance,
)
from .suggest import suggest

PAGE_SIZE = 30


def _errors(exc: ValidationError) -> str:
    return "；".join(exc.messages)


def _demand_or_404(user, pk) -> tuple[Demand, str]:
    return demand_policy().read(user, pk)


HOME_KEY = "demands_home"


def _origin(request, form: FilterForm, member) -> tuple[float, float, str] | None:
    """Where distances are measured from: the browser's position (lat, lng on the query string), else the member's
    household in the grid register (looked up once per session)."""
    data = form.cleaned_data if form.is_valid() else {}
    if data.get("lat") is not None and data.get("lng") is not None:
        return data["lat"], data["lng"], "browser"
    if member is None:
        return None
    if HOME_KEY not in request.session:
        home = home_position(member)
        request.session[HOME_KEY] = list(home) if home else None
    home = request.session[HOME_KEY]
    return (home[0], home[1], "home") if home else None


@dataclass
class BoardRow:
    """One line of the board: what anyone of the community may see (no name, phone, address or coordinates)."""

    pk: int
    category: str
    place: str
    urgency: str
    urgent: bool
    created_at: dt.datetime
    preferred_times: str
    recurring: bool
    places: str
    status: str
    km: float | None


BOARD_FIELDS = ("id", "category", "area", "grid", "urgency", "recurring", "preferred_times", "capacity",
                "claimed_count", "status", "created_at", "latitude", "longitude")


def board_rows(objects, origin) -> list[BoardRow]:
    urgency, status = dict(Demand.Urgency.choices), dict(Demand.Status.choices)
    rows = []
    for d in objects:
        km = None
        if origin is not None and d.latitude is not None and d.longitude is not None:
            km = round(distance_km(origin[0], origin[1], d.latitude, d.longitude), 1)
        rows.append(BoardRow(pk=d.pk, category=d.category, place=d.area or d.grid or d.org_name,
                             urgency=urgency.get(d.urgency, d.urgency), urgent=d.urgency == Demand.Urgency.URGENT,
                             created_at=d.created_at, preferred_times=d.preferred_times, recurring=d.recurring,
                             places=f"{d.claimed_count}/{d.capacity}" if d.capacity > 1 else "",
                             status=status.get(d.status, d.status), km=km))
    return rows


@login_required
def board(request):
    """Open demands of the user's communities (and, for staff, of the scope): category, area, time, distance — no
    one's name, phone or address. A handful of queries whatever the number of demands: the distance is computed,
    filtered and sorted in SQL; Python touches only the page's rows."""
    member = member_of(request.user)
    form = FilterForm(request.GET or None, categories=board_categories(request.user))
    qs = filter_board(board_queryset(request.user), form)
    origin = _origin(request, form, member)
    data = form.cleaned_data if form.is_valid() else {}
    order = ["-created_at", "-id"]
    if origin is not None:
        qs = with_distance(qs, origin[0], origin[1], data.get("km"))
        if data.get("sort") == "near":
            order = [F("dist2").asc(nulls_last=True), "-created_at", "-id"]
    qs = qs.annotate(org_name=F("org__name")).only(*BOARD_FIELDS).order_by(*order)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "demands/board.html", {
        "form": form, "page": page, "rows": board_rows(page.object_list, origin), "member": member,
        "origin": origin[2] if origin else "", "query": query.urlencode(),
        "may_create": may_create(request.user),
    })


@login_required
@require_http_methods(["GET", "POST"])
def create(request):
    """Staff record a demand for one of their communities; a resident posts his own need to his community."""
    orgs = create_orgs(request.user)
    home = resident_org(request.user) if orgs is None else None
    ensure(orgs is not None or home is not None)
    categories = (categories_under(roots(request.user, "change")) if orgs is not None
                  else categories_for(cast(Organisation, home)))
    form = DemandForm(request.POST or None, orgs=orgs, categories=categories)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        org = data.pop("org", None) or home
        resident = getattr(getattr(request.user, "person", None), "resident", None) if home else None
        try:
            demand = services.demand_create(org=org, actor=request.user, resident=resident,
                                            source="staff" if orgs is not None else "resident", **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The need has been recorded."))
            return redirect("demands:detail", pk=demand.pk)
    return render(request, "demands/create.html", {"form": form}, status=400 if form.errors else 200)


def _detail_context(request, demand: Demand, level: str) -> dict:
    member = member_of(request.user)
    my_claim = active_claim(member, demand)
    of_community = member is not None and in_community(request.user, demand)
    staff_change = allows(request.user, "change", demand)
    show_person = level in ("staff", "owner", "claimer")
    records = demand.records.select_related("member__person").order_by("-served_on", "-id") if level != "public" else []
    ctx = {
        "demand": demand, "level": level, "my_claim": my_claim, "show_person": show_person,
        "may_claim": of_community and my_claim is None and demand.status == Demand.Status.OPEN,
        "staff_change": staff_change, "records": records,
        "claims": demand.claims.select_related("member__person").order_by("-claimed_at") if level == "staff" else [],
        "suggestions": suggest(demand) if staff_change and demand.status == Demand.Status.OPEN else [],
    }
    resident = demand.resident
    if level == "claimer" and resident is not None:
        # The claimer sees the resident's phone to arrange the visit: an unmasked view, audited.
        audit_record(by=request.user, action="unmask", obj=demand, summary="认领党员查看居民联系方式")
        ctx["phone"] = resident.person.phone
    elif resident is not None and show_person:
        ctx["phone"] = resident.person.phone_masked
    return ctx


@login_required
def detail(request, pk: int):
    demand, level = _demand_or_404(request.user, pk)
    return render(request, "demands/detail.html", _detail_context(request, demand, level))


def _conflict(request, demand, level, message: str, status: int):
    messages.error(request, message)
    return render(request, "demands/detail.html", _detail_context(request, demand, level), status=status)


def _refused(request, demand: Demand, level: str, outcome: Outcome):
    """The demand's page again after a service refused (its message is shown): 409 for the demand's state, 400 for
    bad input."""
    if outcome.status == 409:
        demand.refresh_from_db()
    return render(request, "demands/detail.html", _detail_context(request, demand, level), status=outcome.status)


@login_required
@require_POST
def claim(request, pk: int):
    demand, level = _demand_or_404(request.user, pk)
    member = member_of(request.user)
    if member is None:
        return _conflict(request, demand, level, _("Only party members can claim demands."), 403)
    outcome = page_call(request, services.demand_claim, demand=demand, member=member, actor=request.user)
    if not outcome:
        return _refused(request, demand, level, outcome)
    messages.success(request, _("Claimed. The resident's contact details are now shown below."))
    return redirect("demands:detail", pk=pk)


@login_required
@require_POST
def assign(request, pk: int):
    demand, level = _demand_or_404(request.user, pk)
    ensure(allows(request.user, "change", demand))
    member = Member.objects.filter(pk=request.POST.get("member") or 0).select_related("org", "managing_org").first() \
        if str(request.POST.get("member", "")).isdigit() else None
    if member is None:
        return _conflict(request, demand, level, _("Choose a member."), 400)
    outcome = page_call(request, services.demand_claim, demand=demand, member=member, actor=request.user,
                        assigned=True)
    if not outcome:
        return _refused(request, demand, level, outcome)
    messages.success(request, _("Assigned."))
    return redirect("demands:detail", pk=pk)


@login_required
@require_POST
def close(request, pk: int):
    demand, level = _demand_or_404(request.user, pk)
    ensure(allows(request.user, "change", demand))
    outcome = page_call(request, services.demand_close, demand=demand, reason=request.POST.get("reason", ""),
                        actor=request.user)
    if not outcome:
        return _refused(request, demand, level, outcome)
    messages.success(request, _("The demand is closed."))
    return redirect("demands:detail", pk=pk)


@login_required
@require_POST
def withdraw(request, pk: int):
    demand, level = _demand_or_404(request.user, pk)
    member = member_of(request.user)
    claim_ = get_or_404(Claim.objects.filter(demand=demand, member=member, status__in=Claim.ACTIVE)
                        if member is not None else Claim.objects.none())
    try:
        services.claim_withdraw(claim=claim_, actor=request.user)
    except services.DemandConflict as exc:
        return _conflict(request, demand, level, _errors(exc), 409)
    messages.success(request, _("You have given the claim up."))
    return redirect("demands:board")


WITHDRAWAL_DAYS = 30


@login_required
def withdrawals(request):
    """Staff: claims given up in the last 30 days on demands in scope, and who gave up how many — repeated
    claim-and-withdraw shows here (each claim showed the member a resident's contact details)."""
    require_any(request.user, "view", Claim)
    since = timezone.now() - dt.timedelta(days=WITHDRAWAL_DAYS)
    qs = Claim.objects.restrict(request.user, "view").filter(status=Claim.Status.WITHDRAWN, ended_at__gte=since)
    by_member = list(qs.values("member", "member__person__name", "member__org__name")
                     .annotate(n=Count("id"), last=Max("ended_at")).order_by("-n", "-last")[:100])
    page = Paginator(qs.select_related("member__person", "demand__org").order_by("-ended_at", "-id"),
                     PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "demands/withdrawals.html", {
        "by_member": by_member, "page": page, "days": WITHDRAWAL_DAYS, "limit": services.withdrawals_per_day()})


@login_required
@require_http_methods(["GET", "POST"])
def record(request, pk: int):
    """The claiming member records a service done for the demand."""
    demand, level = _demand_or_404(request.user, pk)
    found = member_of(request.user)
    ensure(active_claim(found, demand) is not None)
    member = cast(Member, found)  # a member holding an active claim
    form = RecordForm(request.POST or None, request.FILES or None,
                      initial={"served_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        pairing = Pairing.objects.filter(member=member, end__isnull=True).filter(
            Q(household=demand.household) & ~Q(household="") | Q(resident_id=demand.resident_id,
                                                                 resident__isnull=False)).first()
        try:
            services.service_record(member=member, demand=demand, pairing=pairing,
                                    served_on=form.cleaned_data["served_on"], minutes=form.total_minutes(),
                                    notes=form.cleaned_data["notes"], photo=form.cleaned_data.get("photo"),
                                    actor=request.user)
        except services.DemandConflict as exc:
            messages.error(request, _errors(exc))
            return redirect("demands:detail", pk=pk)
        except ValidationError as exc:
            for field, errs in exc.message_dict.items():
                form.add_error("hours" if field == "minutes" else field if field in form.fields else None, errs)
        else:
            messages.success(request, _("Service recorded. It earns points once the resident confirms it."))
            return redirect("demands:mine")
    return render(request, "demands/record.html", {"form": form, "demand": demand},
                  status=400 if form.errors else 200)


def _record_or_404(user, pk) -> ServiceRecord:
    rec = get_or_404(ServiceRecord.objects.select_related("demand__org", "demand__resident", "pairing__resident",
                                                          "member__person", "org"), pk=pk)
    ensure(allows(user, "confirm", rec))
    return rec


@login_required
@require_http_methods(["GET", "POST"])
def confirm(request, pk: int):
    """The resident (or community staff, on the resident's behalf) confirms and rates a service."""
    rec = _record_or_404(request.user, pk)
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rec = services.service_confirm(record=rec, actor=request.user, **form.cleaned_data)
        except services.AlreadyConfirmed as exc:
            messages.info(request, _errors(exc))
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        else:
            messages.success(request, _("Thank you. The service is confirmed."))
        return redirect("demands:confirm", pk=rec.pk)
    return render(request, "demands/confirm.html", {"record": rec, "form": form,
                                                    "on_behalf": record_policy().confirms(request.user, rec)[1]},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "HEAD"])
def record_photo(request, pk: int):
    """A service record's photo, to those who may see the record: the resident served (or staff who confirm on the
    resident's behalf), the member who served, and staff whose scope covers the record's village or community; 404
    to anyone else, exactly like a missing photo. Photos are stored outside MEDIA_ROOT, so this is the only way."""
    from xianfeng.core.media import field_file_response

    rec = get_or_404(ServiceRecord.objects.select_related("demand__resident", "pairing__resident", "member", "org"),
                     pk=pk)
    ensure(allows(request.user, "photo", rec))
    return field_file_response(rec.photo)


@login_required
def mine(request):
    """My claims and services (a member), my demands and the services awaiting my confirmation (a resident)."""
    member = member_of(request.user)
    claims = records = []
    if member is not None:
        claims = list(Claim.objects.filter(member=member).select_related("demand__org").order_by("-claimed_at")[:50])
        records = list(ServiceRecord.objects.filter(member=member).select_related("demand").order_by(
            "-served_on", "-id")[:50])
    own = list(Demand.objects.filter(Q(created_by=request.user) | Q(resident__person_id=request.user.person_id,
                                                                     resident__isnull=False))
               .order_by("-created_at")[:50]) if request.user.is_authenticated else []
    to_confirm = list(ServiceRecord.objects.filter(demand__in=[d.pk for d in own],
                                                   status=ServiceRecord.Status.RECORDED)
                      .select_related("member__person", "demand"))
    return render(request, "demands/mine.html", {"member": member, "claims": claims, "records": records,
                                                 "own": own, "to_confirm": to_confirm})


@login_required
@require_http_methods(["GET", "POST"])
def pairings(request):
    """Staff: the pairings in scope, and a new one."""
    require_any(request.user, "view", Pairing)
    confirmed = Q(records__status=ServiceRecord.Status.CONFIRMED)
    qs = (Pairing.objects.restrict(request.user, "view").select_related("member__person", "org")
          .annotate(services=Count("records", filter=confirmed), minutes=Sum("records__minutes", filter=confirmed),
                    last_served=Max("records__served_on", filter=confirmed))
          .order_by(F("end").desc(nulls_first=True), "-start", "-id"))
    if request.method == "POST" and request.POST.get("action") == "end":
        return _pairing_end(request)
    form = PairingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        member = Member.objects.restrict(request.user, "change").filter(pk=form.cleaned_data["member"]).first()
        if member is None:
            form.add_error("member", _("No such member in your organisations."))
        else:
            try:
                services.pairing_create(org=community_of(member.org), member=member,
                                        household=form.cleaned_data["household"], start=form.cleaned_data["start"],
                                        notes=form.cleaned_data["notes"], actor=request.user)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Pairing created."))
                return redirect("demands:pairings")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "demands/pairings.html", {"page": page, "form": form},
                  status=400 if form.errors else 200)


def _pairing_end(request):
    """End a pairing in the user's `change` scope (today, or the date given)."""
    pk = request.POST.get("pairing", "")
    pairing = get_visible(Pairing, request.user, "change", pk=pk if pk.isdigit() else 0)
    try:
        end = dt.date.fromisoformat(request.POST.get("end") or timezone.localdate().isoformat())
        services.pairing_end(pairing=pairing, end=end, actor=request.user)
    except ValueError:
        messages.error(request, _("The date is not valid."))
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Pairing ended."))
    return redirect("demands:pairings")


def _figures_org(request) -> Organisation:
    org = figures_org(request.user, request.GET.get("org", ""))
    ensure(org is not None)
    return cast(Organisation, org)


@login_required
def figures(request):
    """Demands open / claimed / done, medians, services per member, points — for an organisation and its children."""
    org = _figures_org(request)
    total, children = figures_for(org)
    return render(request, "demands/figures.html", {"org": org, "total": total, "children": children,
                                                    "ancestors": org.ancestors()})


@login_required
def demand_list(request):
    """The demands behind a figure: ?org=<id> (its subtree) and ?figure=recorded|claimed|done — the numerators of
    the registered indicators (demands/indicators.py). Category, status, organisation and dates only: no resident's
    name, phone or address."""
    org = _figures_org(request)
    figure = request.GET.get("figure", "")
    figure = figure if figure in ("recorded", "claimed", "done") else "recorded"
    open_only = request.GET.get("status") == "open"  # ?status=open: waiting to be claimed (the home page's 待办)
    qs = (demand_list_queryset(request.user, org, figure, open_only=open_only).select_related("org")
          .only("id", "category", "status", "created_at", "first_claimed_at", "done_at", "org__name"))
    page = Paginator(qs.order_by("-created_at", "-id"), 50).get_page(request.GET.get("page"))
    return render(request, "demands/demand_list.html", {"org": org, "page": page, "figure": figure,
                                                        "open_only": open_only})


def _local(value):
    return timezone.localtime(value).replace(tzinfo=None) if value else None


@login_required
def export(request):
    """Staff: an organisation subtree's demands, claims, service records and redemptions as one .xlsx (no resident's
    name, phone or address; members by name), audited with the row count."""
    org = _figures_org(request)
    ensure(allows(request.user, "export", org))
    from xianfeng.points.models import Redemption

    demands = Demand.objects.filter(subtree_q("org__path", org.path)).select_related("org").order_by("-created_at")
    claims = (Claim.objects.filter(subtree_q("demand__org__path", org.path))
              .select_related("member__person", "demand").order_by("-claimed_at"))
    records = (ServiceRecord.objects.filter(subtree_q("org__path", org.path))
               .select_related("member__person", "org").order_by("-served_on", "-id"))
    redemptions = (Redemption.objects.filter(subtree_q("member__org__path", org.path))
                   .select_related("member__person", "reward__shop").order_by("-created_at"))
    sheets = [
        Sheet(title="服务需求", headers=["编号", "村社区", "类别", "需求", "户号", "片区", "紧急程度", "状态", "需要人数",
                                     "已认领", "登记时间", "首次认领", "完成时间"],
              rows=((d.pk, d.org.name, d.category, d.description, d.household, d.public_place,
                     d.get_urgency_display(), d.get_status_display(), d.capacity, d.claimed_count,
                     _local(d.created_at), _local(d.first_claimed_at), _local(d.done_at))
                    for d in demands.iterator(chunk_size=2000)), widths={"需求": 40}),
        Sheet(title="认领", headers=["编号", "需求编号", "类别", "党员", "状态", "指派", "认领时间", "开始时间", "结束时间"],
              rows=((c.pk, c.demand_id, c.demand.category, c.member.person.name, c.get_status_display(),
                     "是" if c.assigned_by_id else "", _local(c.claimed_at), _local(c.started_at), _local(c.ended_at))
                    for c in claims.iterator(chunk_size=2000))),
        Sheet(title="服务记录", headers=["编号", "村社区", "需求编号", "结对编号", "党员", "类别", "服务日期", "时长（分钟）",
                                     "状态", "评价", "代为确认", "积分"],
              rows=((r.pk, r.org.name, r.demand_id, r.pairing_id, r.member.person.name, r.category, r.served_on,
                     r.minutes, r.get_status_display(), r.get_rating_display() if r.rating else "",
                     "是" if r.on_behalf else "", r.points) for r in records.iterator(chunk_size=2000))),
        Sheet(title="积分兑换", headers=["编号", "爱心超市", "物品", "党员", "数量", "积分", "时间"],
              rows=((x.pk, x.reward.shop.name, x.reward.name, x.member.person.name, x.quantity, x.points,
                     _local(x.created_at)) for x in redemptions.iterator(chunk_size=2000))),
    ]
    audit_record(by=request.user, action="export", obj=org, summary=f"导出服务需求、认领、服务记录、积分兑换 {org.name}",
                 after={"demands": demands.count(), "claims": claims.count(), "records": records.count(),
                        "redemptions": redemptions.count()})
    return xlsx_response(f"服务需求-{org.name}.xlsx", sheets)


def _unit_in_scope(request, action: str, value) -> Organisation:
    """A unit (not a party organisation) where the user may do `action`: ?org=, else the first of the scope."""
    qs = Organisation.objects.restrict(request.user, action).exclude(kind__in=PARTY_KINDS)
    org = qs.filter(pk=int(value)).first() if str(value or "").isdigit() else qs.order_by("path").first()
    ensure(org is not None)
    return cast(Organisation, org)


@login_required
@require_http_methods(["GET", "POST"])
def categories(request):
    """Secretaries and admins: the demand categories an organisation offers (its own list, or the one it inherits),
    set as a list, or dropped to follow the organisation above again."""
    org = _unit_in_scope(request, "change", request.GET.get("org") or request.POST.get("org"))
    current = category_list(org)
    owner = Organisation.objects.filter(pk=current.owner_id).first() if current.owner_id else None
    form = CategoriesForm(request.POST if request.POST.get("action") == "set" else None,
                          initial={"names": "\n".join(current.names)})
    if request.method == "POST":
        try:
            if request.POST.get("action") == "inherit":
                services.category_list_inherit(org=org, actor=request.user)
                messages.success(request, _("This organisation now follows the categories of the one above it."))
                return redirect(f"{reverse('demands:categories')}?org={org.pk}")
            if form.is_valid():
                services.category_list_set(org=org, names=form.cleaned_data["names"], actor=request.user)
                messages.success(request, _("Categories saved."))
                return redirect(f"{reverse('demands:categories')}?org={org.pk}")
        except services.DemandConflict as exc:
            messages.error(request, _errors(exc))
        except ValidationError as exc:
            if form.is_bound:
                add_service_errors(form, exc)
            else:
                messages.error(request, _errors(exc))
        status = 400
    else:
        status = 200
    children = (Organisation.objects.filter(parent=org).exclude(kind__in=PARTY_KINDS).order_by("path")
                .values_list("pk", "name"))
    return render(request, "demands/categories.html", {
        "org": org, "current": current, "owner": owner, "own": owner is not None and owner.pk == org.pk,
        "form": form, "ancestors": org.ancestors(), "children": list(children[:200]),
    }, status=status)
