"""Pages for the 100-day drive: drives, targets and progress."""

from __future__ import annotations

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xianfeng.core.forms import add_service_errors
from xianfeng.core.policy import allows, get_visible, visible

from .. import selectors, services
from ..forms import (
    DriveForm,
    DriveReportForm,
    DriveTargetForm,
)
from ..models import (
    Drive,
    DriveTarget,
)
from ..policies import LEAD_KINDS, orgs_for
from .common import Invalid, _create, _lead_orgs, _page, _posted_org_in, _rows, _run


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
    rows = selectors.drive_progress(drive, targets)
    for row in rows:
        row.may_report = allows(request.user, "change", row.target)
    target_form = None
    if allows(request.user, "admin", drive):
        target_form = DriveTargetForm(orgs=orgs_for(request.user, "admin", LEAD_KINDS))
    context = {"drive": drive, "rows": rows, "elapsed": selectors.drive_elapsed_pct(drive), "form": form,
               "target_form": target_form}
    return render(request, "campaigns/drive_detail.html", context, status=status)


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
