"""Pages of the point-to-point service: the demand board, a demand, claim / assign / close, recording and
confirming a service, pairings, the figures, the export.

Thin: parse → restrict (xianfeng.demands.access) → call a service → render. A demand the user may not see answers 404
exactly like a missing one; the board and every page below "claimer" level show no resident's name, phone or address.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xianfeng.core.audit import audit_record
from xianfeng.core.excel import Sheet, xlsx_response
from xianfeng.core.forms import add_service_errors
from xianfeng.core.scoping import can, scope_paths, subtree_q
from xianfeng.orgs.models import PARTY_KINDS, Member, Organisation, Role

from . import services
from .access import access, board_queryset, community_of, community_paths, member_of, near
from .figures import figures_for
from .forms import ConfirmForm, DemandForm, FilterForm, PairingForm, RecordForm
from .models import Claim, Demand, Pairing, ServiceRecord
from .suggest import suggest

PAGE_SIZE = 30


def _errors(exc: ValidationError) -> str:
    return "；".join(exc.messages)


def _demand_or_404(user, pk) -> tuple[Demand, str]:
    demand = Demand.objects.select_related("org", "resident__person", "created_by").filter(pk=pk).first()
    level = access(user, demand) if demand is not None else None
    if level is None:
        raise Http404
    return demand, level


def filter_board(qs, form: FilterForm):
    data = form.cleaned_data if form.is_valid() else {}
    status = data.get("status") or Demand.Status.OPEN
    qs = qs.filter(status=status)
    if data.get("category"):
        qs = qs.filter(category=data["category"])
    if data.get("urgency"):
        qs = qs.filter(urgency=data["urgency"])
    if data.get("days"):
        qs = qs.filter(created_at__gte=timezone.now() - dt.timedelta(days=data["days"]))
    if data.get("when"):
        qs = qs.filter(preferred_times__icontains=data["when"])
    if data.get("lat") is not None and data.get("lng") is not None and data.get("km"):
        qs = near(qs, data["lat"], data["lng"], data["km"])
    return qs


@login_required
def board(request):
    """Open demands of the user's communities (and, for staff, of the scope): category, area, time — no one's name."""
    form = FilterForm(request.GET or None)
    qs = filter_board(board_queryset(request.user), form).select_related("org").order_by("-created_at", "-id")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    member = member_of(request.user)
    return render(request, "demands/board.html", {
        "form": form, "page": page, "member": member,
        "may_create": _create_orgs(request.user) is not None or _resident_org(request.user) is not None,
    })


def _create_orgs(user):
    """Communities/villages where the user may record demands as staff, or None."""
    paths = scope_paths(user, "change")
    if paths is not None and not paths:
        return None
    qs = Organisation.objects.exclude(kind__in=PARTY_KINDS).filter(kind__in=["community", "village"])
    if paths is not None:
        q = subtree_q("path", paths[0])
        for p in paths[1:]:
            q |= subtree_q("path", p)
        qs = qs.filter(q)
    return qs.order_by("path")


def _resident_org(user) -> Organisation | None:
    role = Role.objects.filter(user=user, kind=Role.Kind.RESIDENT).select_related("org").first()
    return role.org if role else None


@login_required
@require_http_methods(["GET", "POST"])
def create(request):
    """Staff record a demand for one of their communities; a resident posts his own need to his community."""
    orgs = _create_orgs(request.user)
    resident_org = _resident_org(request.user) if orgs is None else None
    if orgs is None and resident_org is None:
        raise Http404
    form = DemandForm(request.POST or None, orgs=orgs)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        org = data.pop("org", None) or resident_org
        resident = getattr(getattr(request.user, "person", None), "resident", None) if resident_org else None
        try:
            demand = services.demand_create(org=org, by=request.user, resident=resident,
                                            source="staff" if orgs is not None else "resident", **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The need has been recorded."))
            return redirect("demands:detail", pk=demand.pk)
    return render(request, "demands/create.html", {"form": form}, status=400 if form.errors else 200)


def _detail_context(request, demand: Demand, level: str) -> dict:
    member = member_of(request.user)
    my_claim = None
    if member is not None:
        my_claim = Claim.objects.filter(demand=demand, member=member, status__in=Claim.ACTIVE).first()
    in_community = member is not None and any(
        demand.org.path.startswith(p) or p.startswith(demand.org.path) for p in community_paths(request.user))
    staff_change = can(request.user, "change", demand.org)
    show_person = level in ("staff", "owner", "claimer")
    records = demand.records.select_related("member__person").order_by("-served_on", "-id") if level != "public" else []
    ctx = {
        "demand": demand, "level": level, "my_claim": my_claim, "show_person": show_person,
        "may_claim": in_community and my_claim is None and demand.status == Demand.Status.OPEN,
        "staff_change": staff_change, "records": records,
        "claims": demand.claims.select_related("member__person").order_by("-claimed_at") if level == "staff" else [],
        "suggestions": suggest(demand) if staff_change and demand.status == Demand.Status.OPEN else [],
    }
    if level == "claimer" and demand.resident_id:
        # The claimer sees the resident's phone to arrange the visit: an unmasked view, audited.
        audit_record(by=request.user, action="unmask", obj=demand, summary="认领党员查看居民联系方式")
        ctx["phone"] = demand.resident.person.phone
    elif demand.resident_id and show_person:
        ctx["phone"] = demand.resident.person.phone_masked
    return ctx


@login_required
def detail(request, pk: int):
    demand, level = _demand_or_404(request.user, pk)
    return render(request, "demands/detail.html", _detail_context(request, demand, level))


def _conflict(request, demand, level, message: str, status: int):
    messages.error(request, message)
    return render(request, "demands/detail.html", _detail_context(request, demand, level), status=status)


@login_required
@require_POST
def claim(request, pk: int):
    demand, level = _demand_or_404(request.user, pk)
    member = member_of(request.user)
    if member is None:
        return _conflict(request, demand, level, _("Only party members can claim demands."), 403)
    try:
        services.demand_claim(demand=demand, member=member, by=request.user)
    except services.DemandConflict as exc:
        demand.refresh_from_db()
        return _conflict(request, demand, level, _errors(exc), 409)
    except ValidationError as exc:
        return _conflict(request, demand, level, _errors(exc), 400)
    messages.success(request, _("Claimed. The resident's contact details are now shown below."))
    return redirect("demands:detail", pk=pk)


@login_required
@require_POST
def assign(request, pk: int):
    demand, level = _demand_or_404(request.user, pk)
    if not can(request.user, "change", demand.org):
        raise Http404
    member = Member.objects.filter(pk=request.POST.get("member") or 0).select_related("org", "managing_org").first() \
        if str(request.POST.get("member", "")).isdigit() else None
    if member is None:
        return _conflict(request, demand, level, _("Choose a member."), 400)
    try:
        services.demand_claim(demand=demand, member=member, by=request.user, assigned=True)
    except services.DemandConflict as exc:
        demand.refresh_from_db()
        return _conflict(request, demand, level, _errors(exc), 409)
    except ValidationError as exc:
        return _conflict(request, demand, level, _errors(exc), 400)
    messages.success(request, _("Assigned."))
    return redirect("demands:detail", pk=pk)


@login_required
@require_POST
def close(request, pk: int):
    demand, level = _demand_or_404(request.user, pk)
    if not can(request.user, "change", demand.org):
        raise Http404
    try:
        services.demand_close(demand=demand, reason=request.POST.get("reason", ""), by=request.user)
    except services.DemandConflict as exc:
        return _conflict(request, demand, level, _errors(exc), 409)
    except ValidationError as exc:
        return _conflict(request, demand, level, _errors(exc), 400)
    messages.success(request, _("The demand is closed."))
    return redirect("demands:detail", pk=pk)


@login_required
@require_POST
def withdraw(request, pk: int):
    demand, level = _demand_or_404(request.user, pk)
    member = member_of(request.user)
    claim_ = Claim.objects.filter(demand=demand, member=member, status__in=Claim.ACTIVE).first() if member else None
    if claim_ is None:
        raise Http404
    services.claim_withdraw(claim=claim_, by=request.user)
    messages.success(request, _("You have given the claim up."))
    return redirect("demands:board")


@login_required
@require_http_methods(["GET", "POST"])
def record(request, pk: int):
    """The claiming member records a service done for the demand."""
    demand, level = _demand_or_404(request.user, pk)
    member = member_of(request.user)
    if member is None or not Claim.objects.filter(demand=demand, member=member, status__in=Claim.ACTIVE).exists():
        raise Http404
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
                                    by=request.user)
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
    rec = ServiceRecord.objects.select_related("demand__org", "demand__resident", "pairing__resident",
                                               "member__person", "org").filter(pk=pk).first()
    if rec is None or not services.may_confirm(user, rec)[0]:
        raise Http404
    return rec


@login_required
@require_http_methods(["GET", "POST"])
def confirm(request, pk: int):
    """The resident (or community staff, on the resident's behalf) confirms and rates a service."""
    rec = _record_or_404(request.user, pk)
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rec = services.service_confirm(record=rec, by=request.user, **form.cleaned_data)
        except services.AlreadyConfirmed as exc:
            messages.info(request, _errors(exc))
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        else:
            messages.success(request, _("Thank you. The service is confirmed."))
        return redirect("demands:confirm", pk=rec.pk)
    return render(request, "demands/confirm.html", {"record": rec, "form": form,
                                                    "on_behalf": services.may_confirm(request.user, rec)[1]},
                  status=400 if form.errors else 200)


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
    if scope_paths(request.user, "view") == []:
        raise Http404
    qs = Pairing.objects.restrict(request.user, "view").select_related("member__person", "org").order_by(
        "end", "-start")
    form = PairingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        member = Member.objects.restrict(request.user, "change").filter(pk=form.cleaned_data["member"]).first()
        if member is None:
            form.add_error("member", _("No such member in your organisations."))
        else:
            try:
                services.pairing_create(org=community_of(member.org), member=member,
                                        household=form.cleaned_data["household"], start=form.cleaned_data["start"],
                                        notes=form.cleaned_data["notes"], by=request.user)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Pairing created."))
                return redirect("demands:pairings")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "demands/pairings.html", {"page": page, "form": form},
                  status=400 if form.errors else 200)


def _figures_org(request) -> Organisation:
    paths = scope_paths(request.user, "view")
    org_id = request.GET.get("org", "")
    if org_id.isdigit():
        org = Organisation.objects.restrict(request.user, "view").filter(pk=int(org_id)).first()
        if org is None:
            raise Http404
        return org
    if paths is None:
        org = Organisation.objects.filter(parent__isnull=True).order_by("path").first()
    elif paths:
        org = Organisation.objects.filter(path=paths[0]).first()
    else:
        org = None
    if org is None:
        raise Http404
    return org


@login_required
def figures(request):
    """Demands open / claimed / done, medians, services per member, points — for an organisation and its children."""
    org = _figures_org(request)
    total, children = figures_for(org)
    return render(request, "demands/figures.html", {"org": org, "total": total, "children": children,
                                                    "ancestors": org.ancestors()})


@login_required
def export(request):
    """Staff: the demands of an organisation subtree as .xlsx (no personal data beyond the household; audited)."""
    org = _figures_org(request)
    if not can(request.user, "export", org):
        raise Http404
    qs = Demand.objects.filter(subtree_q("org__path", org.path)).select_related("org").order_by("-created_at")
    rows = ((d.pk, d.org.name, d.get_category_display(), d.description, d.household, d.public_place,
             d.get_urgency_display(), d.get_status_display(), d.capacity, d.claimed_count,
             timezone.localtime(d.created_at).replace(tzinfo=None),
             timezone.localtime(d.first_claimed_at).replace(tzinfo=None) if d.first_claimed_at else None,
             timezone.localtime(d.done_at).replace(tzinfo=None) if d.done_at else None)
            for d in qs.iterator(chunk_size=2000))
    audit_record(by=request.user, action="export", obj=org, summary=f"导出服务需求 {org.name}")
    headers = ["编号", "村社区", "类别", "需求", "户号", "片区", "紧急程度", "状态", "需要人数", "已认领",
               "登记时间", "首次认领", "完成时间"]
    return xlsx_response(f"服务需求-{org.name}.xlsx", [Sheet(title="服务需求", headers=headers, rows=rows,
                                                            widths={"需求": 40})])
