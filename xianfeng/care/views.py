"""Care pages: the duty console (polled every 2 s), alerts, the one-tap acknowledgement, funds, cases, devices,
figures — and the device gateway's HTTPS ingress."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponseNotAllowed, JsonResponse
from django.http.request import RawPostDataException
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from xianfeng.core import policy
from xianfeng.core.audit import audit_record
from xianfeng.core.excel import xlsx_response
from xianfeng.core.forms import add_service_errors
from xianfeng.core.ids import parse_id_number
from xianfeng.core.scoping import subtree_q
from xianfeng.ledger.services import LedgerError
from xianfeng.notify.models import Delivery
from xianfeng.orgs.models import Member, Organisation, OrgKind

from . import figures as fig
from . import services
from .forms import (
    ActionForm,
    AllocateForm,
    CarersForm,
    CaseForm,
    ContactForm,
    DeviceForm,
    DisbursementForm,
    PeriodForm,
    PolicyForm,
    ResolveForm,
)
from .models import Alert, CareCase, CareFund, Device, DeviceContact, DeviceEvent, Disbursement, EscalationPolicy

CONSOLE_POLL_SECONDS = 2
HEADER_SERIAL, HEADER_TS, HEADER_NONCE, HEADER_SIG = (
    "X-Device-Serial", "X-Device-Timestamp", "X-Device-Nonce", "X-Device-Signature")


def _errors(request, exc: ValidationError) -> None:
    messages.error(request, "；".join(exc.messages))


# ------------------------------------------------------------------------------------------------------ duty console


def _open_alerts(user):
    return (Alert.objects.restrict(user, "view").filter(status__in=Alert.OPEN_STATES)
            .select_related("device__holder", "org", "acknowledged_by__person").order_by("status", "raised_at"))


def _console_context(request) -> dict:
    now = timezone.now()
    alerts = list(_open_alerts(request.user)[:200])
    User = get_user_model()
    called_ids = {u for a in alerts for lv in a.chain for u in lv.get("users", [])}
    names = {u.pk: services.display_name(u) for u in User.objects.filter(pk__in=called_ids).select_related("person")}
    for a in alerts:
        a.elapsed = int((now - a.raised_at).total_seconds())
        level = next((lv for lv in a.chain if lv["level"] == a.current_level), None)
        a.called_label = level["label"] if level else ""
        a.called_names = "、".join(names.get(u, "?") for u in (level["users"] if level else []))
        a.may_respond = policy.allows(request.user, "respond", a)
    since = timezone.localdate() - dt.timedelta(days=29)
    scoped = Alert.objects.restrict(request.user, "view")
    return {"alerts": alerts, "now": now, "poll_seconds": CONSOLE_POLL_SECONDS,
            "month": fig.figures(scoped, start=since, now=now),
            "offline": fig.offline_count(Device.objects.restrict(request.user, "view"))}


@login_required
def console(request):
    return render(request, "care/console.html", _console_context(request))


@login_required
def console_rows(request):
    return render(request, "care/_console_rows.html", _console_context(request))


# ------------------------------------------------------------------------------------------------------------ alerts


@login_required
def alert_list(request):
    """Alerts in scope, newest first: ?within=<org id> (the subtree), ?calls=1 presses and test presses only,
    ?ack_within=60|180 those acknowledged within that many seconds — the records behind the registered indicators
    care.ack_60s / ack_180s (care/indicators.py)."""
    from .indicators import ACK60, ACK180, CALLS

    policy.require_any(request.user, "view", Alert)
    qs = Alert.objects.restrict(request.user, "view").select_related("org", "device")
    within = request.GET.get("within", "")
    org = None
    if within:
        policy.ensure(within.isdigit() and len(within) < 19)
        org = policy.get_visible(Organisation, request.user, "view", pk=int(within))
        qs = qs.filter(subtree_q("org__path", org.path))
    measure = {"60": ACK60, "180": ACK180}.get(request.GET.get("ack_within", ""))
    if measure is not None:
        qs = qs.filter(pk__in=measure.records().values("pk"))
    elif request.GET.get("calls") == "1":
        qs = qs.filter(pk__in=CALLS.records().values("pk"))
    page = Paginator(qs.order_by("-raised_at", "-id"), 50).get_page(request.GET.get("page"))
    return render(request, "care/alert_list.html", {"page": page, "within": org,
                                                    "ack_within": request.GET.get("ack_within", "")})


def _alert_or_404(request, pk: int) -> Alert:
    return policy.get_visible(Alert.objects.select_related("device__holder", "org"), request.user, "view", pk=pk)


def _alert_context(alert: Alert) -> dict:
    deliveries = (Delivery.objects.filter(notification__key__startswith=f"care.alert:{alert.pk}:step:")
                  .select_related("notification__recipient").order_by("created_at", "id"))
    return {"alert": alert, "events": alert.events.select_related("by"), "steps": alert.steps.all(),
            "deliveries": deliveries, "resolve_form": ResolveForm()}


@login_required
def alert_detail(request, pk: int):
    alert = _alert_or_404(request, pk)
    context = _alert_context(alert)
    context["may_respond"] = policy.allows(request.user, "respond", alert)
    return render(request, "care/alert_detail.html", context)


def _do(request, alert: Alert, user, action: str) -> None:
    """Acknowledge, arrive or resolve as `user`; the service's refusal becomes a message."""
    policy.ensure(action in ("ack", "arrive", "resolve"))
    try:
        if action == "ack":
            services.alert_acknowledge(alert=alert, actor=user)
            messages.success(request, _("Acknowledged. Please go now."))
        elif action == "arrive":
            services.alert_arrive(alert=alert, actor=user)
            messages.success(request, _("Arrival recorded."))
        elif action == "resolve":
            form = ResolveForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Choose an outcome."))
                return
            services.alert_resolve(alert=alert, actor=user, outcome=form.cleaned_data["outcome"],
                                   notes=form.cleaned_data["notes"])
            messages.success(request, _("The alert is resolved."))
    except ValidationError as exc:
        _errors(request, exc)


@login_required
@require_POST
def alert_action(request, pk: int, action: str):
    alert = _alert_or_404(request, pk)
    policy.require(request.user, "respond", alert)
    _do(request, alert, request.user, action)
    return redirect("care:alert_detail", pk=alert.pk)


def ack(request, token: str):
    """The one-tap link in a responder's SMS: the token names the alert and the responder, so no sign-in is needed.
    GET only shows the alert (link previews must not acknowledge); the big button POSTs."""
    found = services.ack_token_read(token)
    if found is None:
        return render(request, "care/ack_invalid.html", status=404)
    alert = Alert.objects.select_related("device__holder", "acknowledged_by").filter(pk=found[0]).first()
    user = get_user_model().objects.filter(pk=found[1], is_active=True).first()
    if alert is None or user is None or user.pk not in alert.chain_users():
        return render(request, "care/ack_invalid.html", status=404)
    if request.method == "POST":
        _do(request, alert, user, request.POST.get("action", "ack"))
        return redirect("care:ack", token=token)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    alert.elapsed = int((timezone.now() - alert.raised_at).total_seconds())
    return render(request, "care/ack.html", {"alert": alert, "responder": user, "token": token,
                                             "resolve_form": ResolveForm(),
                                             "mine": alert.acknowledged_by_id == user.pk})


# ------------------------------------------------------------------------------------------------------------- funds


@login_required
def fund_list(request):
    funds = CareFund.objects.restrict(request.user, "view").select_related("org", "account", "owner", "parent")
    return render(request, "care/fund_list.html", {"funds": funds})


@login_required
def fund_detail(request, pk: int):
    fund = policy.get_visible(CareFund.objects.select_related("org", "account"), request.user, "view", pk=pk)
    period = PeriodForm(request.GET or None)
    start, end = period.period()
    entries = Paginator(services.fund_statement(fund, start=start, end=end).order_by("-id"), 50).get_page(
        request.GET.get("page"))
    children = fund.children.select_related("account", "org")
    disbursements = fund.disbursements.select_related("case__member__person", "requested_by").order_by(
        "-requested_at")[:50]
    for d in disbursements:
        d.may_review = d.status == Disbursement.Status.REQUESTED and policy.allows(request.user, "review", d)
        d.may_decide = d.status == Disbursement.Status.REVIEWED and policy.allows(request.user, "decide", d)
    may_manage = policy.allows(request.user, "allocate", fund)
    return render(request, "care/fund_detail.html", {
        "fund": fund, "period": period, "page": entries, "children": children, "disbursements": disbursements,
        "may_manage": may_manage, "may_export": policy.allows(request.user, "export", fund),
        "allocate_form": AllocateForm(children=children, initial={"token": secrets.token_hex(16)})
        if may_manage and children else None,
    })


@login_required
def fund_statement_xlsx(request, pk: int):
    fund = policy.get_visible(CareFund.objects.select_related("org"), request.user, "view", pk=pk)
    policy.require(request.user, "export", fund)
    start, end = PeriodForm(request.GET or None).period()
    sheet = services.fund_statement_sheet(fund, start=start, end=end, actor=request.user)
    return xlsx_response(f"{fund.name}对账单.xlsx", [sheet])


@login_required
@require_POST
def fund_allocate(request, pk: int):
    fund = policy.get_visible(CareFund, request.user, "view", pk=pk)
    form = AllocateForm(request.POST, children=fund.children.all())
    if not form.is_valid():
        messages.error(request, "；".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("care:fund_detail", pk=fund.pk)
    try:
        services.fund_allocate(source=fund, target=form.cleaned_data["target"], amount=form.cleaned_data["amount"],
                               memo=form.cleaned_data["memo"], key=form.cleaned_data["token"], actor=request.user)
        messages.success(request, _("Allocated."))
    except (ValidationError, LedgerError) as exc:
        _errors(request, exc)
    return redirect("care:fund_detail", pk=fund.pk)


@login_required
@require_POST
def disbursement_action(request, pk: int, action: str):
    d = policy.get_visible(Disbursement.objects.select_related("fund", "case__org"), request.user, "view", pk=pk)
    policy.ensure(action in ("review", "decide"))
    approve = request.POST.get("decision") == "approve"
    note = request.POST.get("note", "")
    try:
        if action == "review":
            services.disbursement_review(disbursement=d, actor=request.user, approve=approve, note=note)
        else:
            services.disbursement_decide(disbursement=d, actor=request.user, approve=approve, note=note)
        messages.success(request, _("Saved."))
    except ValidationError as exc:
        _errors(request, exc)
    if request.POST.get("back") == "case":
        return redirect("care:case_detail", pk=d.case_id)
    return redirect("care:fund_detail", pk=d.fund_id)


# ------------------------------------------------------------------------------------------------------------- cases


@login_required
def case_list(request):
    today = timezone.localdate()
    qs = CareCase.objects.restrict(request.user, "view").open().select_related("member__person", "org")
    overdue_only = request.GET.get("overdue") == "1"
    if overdue_only:
        qs = qs.filter(next_visit_due__lt=today)
    q = (request.GET.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(member__person__name__icontains=q) | Q(org__name__icontains=q))
    page = Paginator(qs.order_by("next_visit_due", "id"), 50).get_page(request.GET.get("page"))
    return render(request, "care/case_list.html", {
        "page": page, "today": today, "overdue_only": overdue_only, "q": q,
        "may_add": Organisation.objects.restrict(request.user, "change").exists(),
        "overdue_count": CareCase.objects.restrict(request.user, "view").overdue(today).count(),
    })


@login_required
def case_detail(request, pk: int):
    case = policy.get_visible(CareCase.objects.select_related("member__person", "org"), request.user, "view", pk=pk)
    prefixes = [case.org.path[:i] for i in range(4, len(case.org.path) + 1, 4)]
    funds = CareFund.objects.filter(org__path__in=prefixes).order_by("-org__path")
    may_care = policy.allows(request.user, "care", case)
    action_form = ActionForm(initial={"date": timezone.localdate(), "kind": "visit"})
    disbursement_form = DisbursementForm(funds=funds)
    if request.method == "POST":
        policy.require(request.user, "care", case)
        what = request.POST.get("form")
        try:
            if what == "action":
                action_form = ActionForm(request.POST)
                if action_form.is_valid():
                    services.action_record(case=case, actor=request.user, **action_form.cleaned_data)
                    messages.success(request, _("Recorded."))
                    return redirect("care:case_detail", pk=case.pk)
            elif what == "disbursement":
                disbursement_form = DisbursementForm(request.POST, funds=funds)
                if disbursement_form.is_valid():
                    services.disbursement_request(case=case, actor=request.user, **disbursement_form.cleaned_data)
                    messages.success(request, _("The request is sent for review."))
                    return redirect("care:case_detail", pk=case.pk)
        except ValidationError as exc:
            _errors(request, exc)
    disbursements = list(case.disbursements.select_related("fund", "requested_by"))
    for d in disbursements:
        d.may_review = d.status == Disbursement.Status.REQUESTED and policy.allows(request.user, "review", d)
        d.may_decide = d.status == Disbursement.Status.REVIEWED and policy.allows(request.user, "decide", d)
    return render(request, "care/case_detail.html", {
        "case": case, "actions": case.actions.select_related("recorded_by")[:100], "may_care": may_care,
        "action_form": action_form, "disbursement_form": disbursement_form, "disbursements": disbursements,
        "devices": case.devices.all(), "overdue": case.next_visit_due < timezone.localdate(),
        "carers": case.carers.all(), "carers_form": policy.allows(request.user, "change", case),
        "carer_names": " ".join(case.carers.order_by("username").values_list("username", flat=True)),
    })


@login_required
def case_new(request):
    """Put a member in need under care: found by ID number among the members in the user's scope."""
    orgs = Organisation.objects.restrict(request.user, "change")
    policy.ensure(orgs.exists())
    form = CaseForm(request.POST or None, orgs=orgs)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        member = None
        try:
            number = parse_id_number(data["id_number"]).number
        except ValidationError:
            form.add_error("id_number", _("Not a valid ID number."))
        else:
            member = Member.objects.restrict(request.user, "change").filter(person__id_number=number).first()
            if member is None:
                form.add_error("id_number", _("No member with this ID number in your organisations."))
        if member is not None:
            try:
                case = services.case_open(member=member, org=data["org"], reason=data["reason"], actor=request.user,
                                          carers=data["carers"], visit_every_days=data["visit_every_days"],
                                          next_visit_due=data["next_visit_due"], notes=data["notes"])
            except ValidationError as exc:
                if hasattr(exc, "error_dict") and "member" in exc.error_dict:
                    exc = ValidationError({"id_number" if k == "member" else k: v
                                           for k, v in exc.message_dict.items()})
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The member is under care."))
                return redirect("care:case_detail", pk=case.pk)
    return render(request, "care/case_form.html", {"form": form}, status=400 if form.is_bound else 200)


@login_required
@require_POST
def case_carers(request, pk: int):
    case = policy.get_visible(CareCase, request.user, "change", pk=pk)
    form = CarersForm(request.POST)
    if form.is_valid():
        try:
            services.case_carers_set(case=case, carers=form.cleaned_data["carers"], actor=request.user)
            messages.success(request, _("Saved."))
        except ValidationError as exc:
            _errors(request, exc)
    else:
        messages.error(request, "；".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("care:case_detail", pk=case.pk)


# ----------------------------------------------------------------------------------------------------------- devices


@login_required
def device_list(request):
    qs = Device.objects.restrict(request.user, "view").select_related("holder", "org")
    state = request.GET.get("state")
    if state == "offline":
        qs = qs.offline()
    page = Paginator(qs.order_by("serial"), 50).get_page(request.GET.get("page"))
    return render(request, "care/device_list.html", {
        "page": page, "state": state or "", "may_add": Organisation.objects.restrict(request.user, "change").exists()})


def _device_context(request, device: Device, **forms) -> dict:
    may_change = policy.allows(request.user, "change", device)
    show_secret = request.GET.get("secret") == "1" and may_change
    if show_secret:
        audit_record(by=request.user, action="unmask", obj=device, summary=f"查看设备 {device.serial} 的签名密钥")
    return {
        "device": device, "contacts": device.contacts.select_related("user__person"),
        "alerts": device.alerts.order_by("-raised_at")[:20], "events": device.events.order_by("-received_at")[:20],
        "show_secret": show_secret, "may_change": may_change,
        "contact_form": forms.get("contact_form") or (ContactForm() if may_change else None),
    }


@login_required
def device_detail(request, pk: int):
    device = policy.get_visible(Device.objects.select_related("holder", "org", "policy"), request.user, "view", pk=pk)
    return render(request, "care/device_detail.html", _device_context(request, device))


def _device_form(request, *, data=None, initial=None, editing=False) -> DeviceForm:
    return DeviceForm(data, initial=initial, editing=editing,
                      cases=policy.visible(CareCase.objects.open(), request.user, "change").select_related("member__person"),
                      orgs=Organisation.objects.restrict(request.user, "change").filter(
                          kind__in=[OrgKind.VILLAGE, OrgKind.COMMUNITY]),
                      policies=EscalationPolicy.objects.restrict(request.user, "view").select_related("org"))


@login_required
def device_new(request):
    """Register a device for a member under care (staff over the community)."""
    policy.ensure(Organisation.objects.restrict(request.user, "change").exists())
    form = _device_form(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            device = services.device_register(
                serial=data["serial"], model=data["model"], holder=data["case"].member.person, case=data["case"],
                org=data["org"], address=data["address"], grid=data["grid"],
                heartbeat_minutes=data["heartbeat_minutes"], policy=data["policy"], actor=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The device is registered. Give its signing key to the installer."))
            return redirect(reverse("care:device_detail", args=[device.pk]) + "?secret=1")
    return render(request, "care/device_form.html", {"form": form, "device": None},
                  status=400 if form.is_bound else 200)


@login_required
def device_edit(request, pk: int):
    device = policy.get_visible(Device.objects.select_related("org"), request.user, "change", pk=pk)
    initial = {"model": device.model, "address": device.address, "grid": device.grid, "policy": device.policy_id,
               "heartbeat_minutes": device.heartbeat_minutes, "is_active": device.is_active}
    form = _device_form(request, data=request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.device_update(device=device, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("care:device_detail", pk=device.pk)
    return render(request, "care/device_form.html", {"form": form, "device": device},
                  status=400 if form.is_bound else 200)


@login_required
@require_POST
def device_contact(request, pk: int):
    """Add a responder to the device's chain (levels 1–2), or remove one (`remove` = the contact's id)."""
    device = policy.get_visible(Device.objects.select_related("org"), request.user, "change", pk=pk)
    if request.POST.get("remove"):
        contact = policy.get_or_404(DeviceContact.objects.filter(device=device), pk=request.POST["remove"])
        services.device_contact_remove(contact=contact, actor=request.user)
        messages.success(request, _("Removed."))
        return redirect("care:device_detail", pk=device.pk)
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            services.device_contact_add(device=device, user=form.cleaned_data["username"], actor=request.user,
                                        level=form.cleaned_data["level"], relation=form.cleaned_data["relation"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Added."))
            return redirect("care:device_detail", pk=device.pk)
    return render(request, "care/device_detail.html", _device_context(request, device, contact_form=form),
                  status=400)


# ---------------------------------------------------------------------------------------------------------- policies


@login_required
def policy_list(request):
    policies = (EscalationPolicy.objects.restrict(request.user, "view").select_related("org")
                .order_by("org__path", "-is_default", "name"))
    return render(request, "care/policy_list.html", {
        "policies": policies, "may_add": Organisation.objects.restrict(request.user, "change").exists()})


def _policy_orgs(request):
    return Organisation.objects.restrict(request.user, "change").filter(
        kind__in=[OrgKind.COUNTY, OrgKind.TOWN, OrgKind.STREET, OrgKind.VILLAGE, OrgKind.COMMUNITY])


@login_required
def policy_new(request):
    policy.ensure(Organisation.objects.restrict(request.user, "change").exists())
    form = PolicyForm(request.POST or None, orgs=_policy_orgs(request), initial={"channels": ["in_app", "sms"]})
    return _policy_save(request, form, None)


@login_required
def policy_edit(request, pk: int):
    chain = policy.get_visible(EscalationPolicy.objects.select_related("org"), request.user, "change", pk=pk)
    initial = {"name": chain.name, "ack_timeout_seconds": chain.ack_timeout_seconds,
               "repeat_seconds": chain.repeat_seconds, "channels": chain.channels, "is_default": chain.is_default}
    form = PolicyForm(request.POST or None, initial=initial, editing=True)
    return _policy_save(request, form, chain)


def _policy_save(request, form: PolicyForm, chain: EscalationPolicy | None):
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        org: Any = data.pop("org", None) or getattr(chain, "org", None)
        try:
            services.policy_save(org=org, policy=chain, actor=request.user, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved. Alerts raised from now on follow it."))
            return redirect("care:policy_list")
    return render(request, "care/policy_form.html", {"form": form, "policy": chain},
                  status=400 if form.is_bound else 200)


# ----------------------------------------------------------------------------------------------------------- figures


@login_required
def figures_page(request):
    period = PeriodForm(request.GET or None)
    # every call by default, and every call in n: the registered indicators care.ack_60s / ack_180s, as the
    # cockpit, the rates panel and the inspection report count them
    start, end = period.period()
    alerts = Alert.objects.restrict(request.user, "view")
    devices = Device.objects.restrict(request.user, "view")
    total = fig.figures(alerts, start=start, end=end, every_call=True)
    rows = fig.figures_by_org(alerts, devices, start=start, end=end, every_call=True)
    return render(request, "care/figures.html", {
        "period": period, "start": start, "end": end, "total": total, "rows": rows,
        "outcomes": [(label, total.outcomes.get(value, 0)) for value, label in Alert.Outcome.choices],
        "offline": fig.offline_count(devices), "target_60": fig.TARGET_60 * 100, "target_180": fig.TARGET_180 * 100,
    })


# ----------------------------------------------------------------------------------------------------------- ingress


@csrf_exempt
def ingress(request):
    """POST from a device gateway: the JSON event as the body, signed per device (see services.ingest)."""
    if request.method != "POST":
        return JsonResponse({"detail": "POST only"}, status=405)
    serial = request.headers.get(HEADER_SERIAL)
    try:  # the size cap MQTT has too, checked on the declared length before the body is read
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    refused = services.refuse_oversize(size=declared, serial=serial, source=DeviceEvent.Source.HTTP)
    if refused is not None:
        return JsonResponse(refused.as_json(), status=refused.status)
    try:
        body = request.body
    except RawPostDataException:  # a browser form post, already parsed by a middleware: not a device's JSON event
        return JsonResponse({"detail": "expected a JSON body"}, status=400)
    refused = services.refuse_oversize(size=len(body), serial=serial, source=DeviceEvent.Source.HTTP)
    if refused is not None:
        return JsonResponse(refused.as_json(), status=refused.status)
    result = services.ingest(serial=request.headers.get(HEADER_SERIAL), body=body,
                             timestamp=request.headers.get(HEADER_TS), nonce=request.headers.get(HEADER_NONCE),
                             signature=request.headers.get(HEADER_SIG), source=DeviceEvent.Source.HTTP)
    return JsonResponse(result.as_json(), status=result.status)


def gateway_headers(envelope: dict, serial: str) -> dict:
    """The HTTP headers for a signed envelope (services.signed_envelope), as Django's test client takes them."""
    return {"HTTP_X_DEVICE_SERIAL": serial, "HTTP_X_DEVICE_TIMESTAMP": envelope["ts"],
            "HTTP_X_DEVICE_NONCE": envelope["nonce"], "HTTP_X_DEVICE_SIGNATURE": envelope["sig"]}

