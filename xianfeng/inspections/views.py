"""Pages of the supervision module, phone first. Thin: parse → restrict → service → render.

Inspections are read through `Inspection.objects.restrict(user, "inspect")` (inspectors and county
administrators over the inspected subtree); rectification tasks also through `restrict(user, "change")` for the
responsible organisation's staff. Out of scope answers 404 exactly like missing. The draw and the rectification
list are also published without signing in (一公开).
"""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods

from xianfeng.core import policy
from xianfeng.core.audit import audit_record
from xianfeng.core.excel import Sheet, content_disposition, xlsx_response
from xianfeng.core.forms import add_service_errors
from xianfeng.core.frontdoor import page_call
from xianfeng.orgs.models import Organisation, User

from . import analysis, charts, forms, selectors, services, survey
from . import report as report_builder
from .draw import STRATUM_LABELS
from .models import (
    Draw,
    DrawUnit,
    Finding,
    Inspection,
    Interview,
    Questionnaire,
    RecordReview,
    Rectification,
    Seminar,
    SpotCheck,
    checklist_for,
)

PAGE_SIZE = 50


def _inspection(request, pk: int) -> Inspection:
    return policy.get_visible(Inspection.objects.select_related("org"), request.user, "inspect", pk=pk)


def _questionnaire(request, qid: int) -> Questionnaire:
    return policy.get_visible(Questionnaire.objects.select_related("inspection__org"), request.user, "inspect",
                              pk=qid)


def _org(request, code: str, action: str = "view") -> Organisation | None:
    code = (code or "").strip().upper()
    if not code:
        return None
    return policy.visible(Organisation, request.user, action).filter(code=code).first()


# ---- list, new, detail, plan --------------------------------------------------------------------------------------


@login_required
@require_GET
def inspection_list(request):
    policy.require_any(request.user, "inspect", Inspection)
    qs = policy.visible(Inspection.objects.select_related("org"), request.user, "inspect").order_by("-start", "-id")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "inspections/list.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def inspection_new(request):
    policy.require_any(request.user, "inspect", Inspection)
    form = forms.InspectionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            org = _org(request, data["org_code"], "inspect")
            names = [n.strip() for n in data["members"].replace("，", ",").split(",") if n.strip()]
            members = list(User.objects.filter(username__in=names, is_active=True))
            missing = sorted(set(names) - {u.username for u in members})
            if org is None:
                form.add_error("org_code", pgettext("inspections", "No organisation with this code in your scope."))
            elif missing:
                form.add_error("members", pgettext("inspections", "Unknown usernames: %(names)s") % {"names": ", ".join(missing)})
            else:
                try:
                    inspection = services.inspection_create(
                        org=org, name=data["name"], group_name=data["group_name"], start=data["start"],
                        end=data["end"], leader=request.user, members=members, reported_by=data["reported_by"],
                        actor=request.user)
                except ValidationError as exc:
                    add_service_errors(form, exc)
                else:
                    return redirect("inspections:detail", pk=inspection.pk)
        status = 400
    return render(request, "inspections/new.html", {"form": form}, status=status)


@login_required
@require_GET
def inspection_detail(request, pk: int):
    inspection = _inspection(request, pk)
    draw = Draw.objects.filter(inspection=inspection).first()
    context = {
        "inspection": inspection,
        "group": inspection.group.select_related("user").order_by("role", "id"),
        "draw": draw,
        "spot_checks": SpotCheck.objects.filter(inspection=inspection).select_related("org"),
        "counts": selectors.inspection_counts(inspection),
        "quotas": [(STRATUM_LABELS.get(k, k), v) for k, v in inspection.quotas.items()],
    }
    return render(request, "inspections/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def inspection_plan(request, pk: int):
    inspection = _inspection(request, pk)
    q = inspection.quotas
    initial = {f"quota_{k}": q.get(k, 0) for k in ("village_community", "enterprise", "social", "hospital", "school")}
    initial.update(exclude_months=inspection.exclude_months, questionnaires_issued=inspection.questionnaires_issued,
                   satisfaction_mode=inspection.satisfaction_mode, interval_method=inspection.interval_method,
                   agenda=inspection.agenda)
    plan_form = forms.PlanForm(request.POST if request.POST.get("form") == "plan" else None, initial=initial)
    spot_form = forms.SpotCheckForm(request.POST if request.POST.get("form") == "spot" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if request.POST.get("form") == "plan" and plan_form.is_valid():
            d = plan_form.cleaned_data
            fields = {"exclude_months": d["exclude_months"], "questionnaires_issued": d["questionnaires_issued"],
                      "satisfaction_mode": d["satisfaction_mode"], "interval_method": d["interval_method"],
                      "agenda": d["agenda"]}
            quotas = {k.removeprefix("quota_"): v or 0 for k, v in d.items() if k.startswith("quota_")}
            if quotas != {k: inspection.quotas.get(k, 0) for k in quotas}:
                fields["quotas"] = quotas
            try:
                services.inspection_update(inspection=inspection, actor=request.user, **fields)
            except ValidationError as exc:
                add_service_errors(plan_form, exc)
            else:
                messages.success(request, pgettext("inspections", "The plan was saved."))
                return redirect("inspections:plan", pk=pk)
        elif request.POST.get("form") == "spot" and spot_form.is_valid():
            d = spot_form.cleaned_data
            org = _org(request, d["org_code"])
            if org is None:
                spot_form.add_error("org_code", pgettext("inspections", "No organisation with this code in your scope."))
            else:
                try:
                    services.spot_check_add(inspection=inspection, org=org, date=d["date"], notes=d["notes"],
                                            actor=request.user)
                except ValidationError as exc:
                    add_service_errors(spot_form, exc)
                else:
                    messages.success(request, pgettext("inspections", "The spot check was added."))
                    return redirect("inspections:plan", pk=pk)
    return render(request, "inspections/plan.html", {
        "inspection": inspection, "plan_form": plan_form, "spot_form": spot_form,
        "spot_checks": SpotCheck.objects.filter(inspection=inspection).select_related("org"),
    }, status=status)


# ---- the draw -----------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def draw_page(request, pk: int):
    inspection = _inspection(request, pk)
    draw = Draw.objects.filter(inspection=inspection).first()
    seed_form = forms.SeedForm(request.POST if request.POST.get("action") == "publish" else None)
    status = 200
    if request.method == "POST":
        status = 400
        try:
            if request.POST.get("action") == "freeze":
                services.draw_freeze(inspection=inspection, actor=request.user)
                messages.success(request, pgettext("inspections", "The unit list is frozen and its SHA-256 published."))
                return redirect("inspections:draw", pk=pk)
            if request.POST.get("action") == "publish" and draw is not None and seed_form.is_valid():
                services.draw_publish(draw=draw, actor=request.user, **seed_form.cleaned_data)
                messages.success(request, pgettext("inspections", "The draw was made and published."))
                return redirect("inspections:draw", pk=pk)
        except ValidationError as exc:
            if request.POST.get("action") == "publish":
                add_service_errors(seed_form, exc)
            else:
                messages.error(request, "；".join(exc.messages))
    units = DrawUnit.objects.filter(draw=draw).select_related("org", "inspector") if draw else []
    return render(request, "inspections/draw.html", {
        "inspection": inspection, "draw": draw, "seed_form": seed_form, "units": units,
        "frame_size": len(draw.frame) if draw else 0,
    }, status=status)


@require_GET
def public_draw(request, pk: int):
    draw = policy.get_or_404(Draw.objects.select_related("inspection__org").filter(status=Draw.Status.PUBLISHED), pk=pk)
    units = DrawUnit.objects.filter(draw=draw).select_related("org", "inspector")
    return render(request, "inspections/public_draw.html", {"draw": draw, "units": units})


@require_GET
def public_draw_json(request, pk: int):
    draw = policy.get_or_404(Draw.objects.filter(status=Draw.Status.PUBLISHED), pk=pk)
    response = JsonResponse(draw.record, json_dumps_params={"ensure_ascii": False, "indent": 1})
    response["Content-Disposition"] = content_disposition(f"draw-{draw.pk}.json")
    return response


# ---- questionnaires -----------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def questionnaire_list(request, pk: int):
    inspection = _inspection(request, pk)
    import_form = forms.ImportForm(request.POST if request.POST.get("form") == "import" else None,
                                   request.FILES if request.POST.get("form") == "import" else None)
    new_form = forms.NewQuestionnaireForm(request.POST if request.POST.get("form") == "new" else None)
    status = 200
    if request.method == "POST":
        status = 400
        try:
            if request.POST.get("form") == "import" and import_form.is_valid():
                upload = import_form.cleaned_data["file"]
                if upload.size > survey.MAX_UPLOAD_BYTES:
                    raise ValidationError({"file": [pgettext("inspections", "The file is too large (5 MB at most).")]})
                q = services.questionnaire_import(inspection=inspection, data=upload.read(), filename=upload.name,
                                                  actor=request.user)
                messages.success(request, pgettext("inspections", "The questionnaire was imported."))
                return redirect("inspections:questionnaire", qid=q.pk)
            if request.POST.get("form") == "new" and new_form.is_valid():
                q = services.questionnaire_create(inspection=inspection, title=new_form.cleaned_data["title"],
                                                  actor=request.user)
                return redirect("inspections:questionnaire", qid=q.pk)
        except ValidationError as exc:
            add_service_errors(import_form if request.POST.get("form") == "import" else new_form, exc)
    items = Questionnaire.objects.filter(inspection=inspection).annotate(n=Count("responses")).order_by("id")
    return render(request, "inspections/questionnaires.html", {
        "inspection": inspection, "items": items, "import_form": import_form, "new_form": new_form,
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def questionnaire_detail(request, qid: int):
    q = _questionnaire(request, qid)
    question_form = forms.QuestionForm(request.POST if request.POST.get("form") == "question" else None)
    rate_form = forms.RateForm(request.POST if request.POST.get("form") == "rate" else None)
    status = 200
    edit_errors: list[str] = []
    if request.method == "POST":
        status = 400
        try:
            if request.POST.get("form") in ("move", "remove"):
                name = request.POST.get("name", "")
                if request.POST["form"] == "remove":
                    services.questionnaire_remove_question(questionnaire=q, name=name, actor=request.user)
                    messages.success(request, pgettext("inspections", "The question was removed."))
                else:
                    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""), 0)
                    services.questionnaire_move_question(questionnaire=q, name=name, offset=offset, actor=request.user)
                return redirect("inspections:questionnaire", qid=q.pk)
            if request.POST.get("form") == "question" and question_form.is_valid():
                services.questionnaire_add_question(questionnaire=q, actor=request.user, **question_form.cleaned_data)
                messages.success(request, pgettext("inspections", "The question was added."))
                return redirect("inspections:questionnaire", qid=q.pk)
            if request.POST.get("form") == "rate" and rate_form.is_valid():
                d = rate_form.cleaned_data
                services.questionnaire_set_rate(questionnaire=q, rate=d["rate"], question=d["question"],
                                                positive=d["positive"].split(), weights=d["weights"], actor=request.user)
                messages.success(request, pgettext("inspections", "The rate was set."))
                return redirect("inspections:questionnaire", qid=q.pk)
        except ValidationError as exc:
            if request.POST.get("form") in ("move", "remove"):
                edit_errors = exc.messages
            else:
                add_service_errors(question_form if request.POST.get("form") == "question" else rate_form, exc)
    return render(request, "inspections/questionnaire.html", {
        "q": q, "inspection": q.inspection, "form_def": q.form, "question_form": question_form, "rate_form": rate_form,
        "responses": q.responses.count(), "edit_errors": edit_errors,
    }, status=status)


def _fill_texts() -> dict[str, str]:
    """The fill page's messages for fill.js, handed over with json_script (translated text is data, never script)."""
    return {
        "required": pgettext("inspections", "This question must be answered."),
        "integer": pgettext("inspections", "Enter a whole number."),
        "number": pgettext("inspections", "Enter a number."),
        "constraint": pgettext("inspections", "The answer is outside what this question allows."),
        "respondent": pgettext("inspections", "Respondent"),
        "method": pgettext("inspections", "Method"),
        "unit": pgettext("inspections", "Unit"),
        "no_unit": pgettext("inspections", "(not in a drawn unit)"),
        "respondent_section": pgettext("inspections", "Who and how"),
        "next": pgettext("inspections", "Next"),
        "submit": pgettext("inspections", "Submit"),
        "sent": pgettext("inspections", "Submitted. You can start the next questionnaire."),
        "queued": pgettext("inspections", "No connection: the questionnaire is kept on this phone and will be sent when "
                                          "the connection returns."),
        "sent_later": pgettext("inspections", "A questionnaire kept on this phone has now been sent."),
        "rejected": pgettext("inspections", "A questionnaire kept on this phone was refused by the server; please fill it "
                                            "in again."),
        "fix_errors": pgettext("inspections", "Please correct the marked answers."),
        "server_error": pgettext("inspections", "The server could not take the questionnaire; it is kept here. Try again."),
        "draft_restored": pgettext("inspections", "Your unfinished questionnaire was restored."),
    }


@login_required
@require_GET
def questionnaire_fill(request, qid: int):
    """The phone page: one section per screen; answers kept in the browser until the server has them."""
    q = _questionnaire(request, qid)
    inspection = q.inspection
    units = list(Organisation.objects.filter(pk__in=DrawUnit.objects.filter(draw__inspection=inspection)
                                             .values("org_id")).order_by("code").values("id", "name"))
    lang = "en" if (request.LANGUAGE_CODE or "").startswith("en") else "zh"
    from django.middleware.csrf import get_token

    from .models import Method, RespondentType

    conf = {
        "questionnaire": q.pk, "lang": lang, "submit_url": reverse("inspections-response-list"),
        "csrf": get_token(request), "units": units,
        "respondent_types": [[RespondentType.MEMBER, pgettext("inspections", "Member")],
                             [RespondentType.RESIDENT, pgettext("inspections", "Resident")]],
        "methods": [[Method.DOOR_TO_DOOR, pgettext("inspections", "Door to door")],
                    [Method.STREET, pgettext("inspections", "Street interview")],
                    [Method.SEMINAR, pgettext("inspections", "Seminar")]],
    }
    return render(request, "inspections/fill.html", {"q": q, "inspection": inspection, "form_json": q.form,
                                                     "conf": conf, "texts": _fill_texts()})


def _answer_text(form_def: dict, question: dict, value) -> str:
    if value in (None, "", []):
        return ""
    if question["type"] in ("select_one", "select_multiple"):
        labels = {c["name"]: survey.label(c["label"], "zh") for c in form_def["choices"].get(question["list"], [])}
        values = value if isinstance(value, list) else [value]
        return "、".join(labels.get(v) or str(v) for v in values)
    return str(value)


@login_required
@require_GET
def responses_export(request, qid: int, fmt: str):
    """All responses as .xlsx or CSV (answers as their labels); the export is audited."""
    q = _questionnaire(request, qid)
    questions = [x for x in survey.questions(q.form) if x["type"] != "note"]
    header = ["编号", "提交时间", "单位", "层", "对象", "方式"] + [x["name"] for x in questions]
    rows = []
    for r in q.responses.select_related("unit").order_by("id"):
        rows.append([r.pk, timezone.localtime(r.submitted_at).strftime("%Y-%m-%d %H:%M"),
                     r.unit.name if r.unit else "", STRATUM_LABELS.get(r.stratum, r.stratum),
                     r.get_respondent_type_display(), r.get_method_display()]
                    + [_answer_text(q.form, x, r.answers.get(x["name"])) for x in questions])
    audit_record(by=request.user, action="export", obj=q, summary=f"导出问卷答卷 {q.title}（{len(rows)}份，{fmt}）")
    filename = f"{q.title}-答卷.{fmt}"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["'" + c if isinstance(c, str) and c[:1] in "=+-@" else c for c in row])
        response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition(filename)
        return response
    return xlsx_response(filename, [Sheet(title="答卷", headers=header, rows=rows)])


# ---- fieldwork ----------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def fieldwork(request, pk: int):
    inspection = _inspection(request, pk)
    kind = request.POST.get("form")
    interview_form = forms.InterviewForm(request.POST if kind == "interview" else None)
    review_form = forms.RecordReviewForm(request.POST if kind == "review" else None)
    seminar_form = forms.SeminarForm(request.POST if kind == "seminar" else None)
    status = 200
    if request.method == "POST":
        status = 400
        form = {"interview": interview_form, "review": review_form, "seminar": seminar_form}.get(kind)
        if form is not None and form.is_valid():
            d = dict(form.cleaned_data)
            code = d.pop("unit_code", "")
            unit = _org(request, code)
            if code and unit is None:
                form.add_error("unit_code", pgettext("inspections", "No organisation with this code in your scope."))
            else:
                try:
                    if kind == "interview":
                        services.interview_record(inspection=inspection, unit=unit, actor=request.user, **d)
                    elif kind == "review":
                        assert unit is not None  # the review form requires a unit code
                        services.record_review_record(inspection=inspection, unit=unit, actor=request.user, **d)
                    else:
                        services.seminar_record(inspection=inspection, unit=unit, actor=request.user, **d)
                except ValidationError as exc:
                    add_service_errors(form, exc)
                else:
                    messages.success(request, pgettext("inspections", "Recorded."))
                    return redirect(reverse("inspections:fieldwork", args=[pk]) + f"#{kind}")
    reviews = list(RecordReview.objects.filter(inspection=inspection).select_related("unit"))
    for review in reviews:
        labels = dict(checklist_for(review.unit.kind))
        review.items = [(labels.get(k, k), v) for k, v in review.checklist.items()]
    return render(request, "inspections/fieldwork.html", {
        "inspection": inspection, "interview_form": interview_form, "review_form": review_form,
        "seminar_form": seminar_form,
        "interviews": Paginator(Interview.objects.filter(inspection=inspection).select_related("unit"), PAGE_SIZE)
        .get_page(request.GET.get("page")),
        "reviews": reviews, "seminars": Seminar.objects.filter(inspection=inspection).select_related("unit"),
    }, status=status)


# ---- rates and funnels --------------------------------------------------------------------------------------------


@login_required
@require_GET
def rates_page(request, pk: int):
    inspection = _inspection(request, pk)
    funnels = analysis.org_funnels(inspection)
    for f in funnels:
        f["svg"] = charts.funnel_svg(f["funnel"], title=f["label"], names=f["names"])
    return render(request, "inspections/rates.html", {
        "inspection": inspection, "rates": analysis.survey_rates(inspection), "funnels": funnels,
    })


@login_required
@require_GET
def funnel_svg(request, pk: int, key: str):
    inspection = _inspection(request, pk)
    found = analysis.org_funnels(inspection, keys=[key])
    policy.ensure(bool(found))  # an unknown rate
    f = found[0]
    return HttpResponse(charts.funnel_svg(f["funnel"], title=f["label"], names=f["names"]),
                        content_type="image/svg+xml; charset=utf-8")


# ---- findings and rectification -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def findings_page(request, pk: int):
    inspection = _inspection(request, pk)
    action = request.POST.get("action")
    new_form = forms.FindingForm(request.POST if action == "add" else None)
    task_forms: dict[int, forms.RectificationForm] = {}
    status = 200
    if request.method == "POST":
        status = 400
        try:
            if action == "draft":
                created = services.findings_draft(inspection=inspection, actor=request.user)
                messages.success(request, pgettext("inspections", "%(n)d findings were drafted from the data.") % {"n": len(created)})
                return redirect("inspections:findings", pk=pk)
            if action == "add" and new_form.is_valid():
                services.finding_add(inspection=inspection, actor=request.user, **new_form.cleaned_data)
                return redirect("inspections:findings", pk=pk)
            finding = Finding.objects.filter(inspection=inspection, pk=request.POST.get("finding") or 0).first()
            if finding is not None and action in ("accept", "drop", "edit"):
                if action == "edit":
                    edit = forms.FindingForm(request.POST)
                    if edit.is_valid():
                        services.finding_update(finding=finding, actor=request.user, **edit.cleaned_data)
                        return redirect("inspections:findings", pk=pk)
                    messages.error(request, pgettext("inspections", "The finding needs a title and details."))
                else:
                    services.finding_update(finding=finding, actor=request.user,
                                            status=Finding.Status.ACCEPTED if action == "accept"
                                            else Finding.Status.DROPPED)
                    return redirect("inspections:findings", pk=pk)
            if finding is not None and action == "task":
                form = forms.RectificationForm(request.POST)
                task_forms[finding.pk] = form
                if form.is_valid():
                    d = form.cleaned_data
                    org = _org(request, d["org_code"])
                    if org is None:
                        form.add_error("org_code", pgettext("inspections", "No organisation with this code in your scope."))
                    else:
                        try:
                            services.rectification_create(finding=finding, org=org, task=d["task"],
                                                          deadline=d["deadline"], actor=request.user)
                        except ValidationError as exc:
                            add_service_errors(form, exc)
                        else:
                            messages.success(request, pgettext("inspections", "The task was put on the rectification list."))
                            return redirect("inspections:findings", pk=pk)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
    findings = list(Finding.objects.filter(inspection=inspection).annotate(n_tasks=Count("rectifications")))
    for f in findings:
        f.task_form = task_forms.get(f.pk) or forms.RectificationForm()
        f.edit_form = forms.FindingForm(initial={"title": f.title, "text": f.text, "recommendation": f.recommendation})
    return render(request, "inspections/findings.html", {"inspection": inspection, "findings": findings,
                                                         "new_form": new_form}, status=status)


@login_required
@require_GET
def rectification_list(request, pk: int):
    inspection = _inspection(request, pk)
    items = Rectification.objects.filter(inspection=inspection).select_related("org", "finding")
    today = timezone.localdate()
    return render(request, "inspections/rectifications.html", {"inspection": inspection, "items": items,
                                                                "today": today})


@login_required
@require_GET
def my_rectifications(request):
    """The tasks the user answers for (staff over the task's organisation) or verifies (inspectors of its
    inspection): the rectification policy's `view`."""
    items = (policy.visible(Rectification.objects.select_related("org", "inspection"), request.user, "view")
             .order_by("status", "deadline", "id"))
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "inspections/my_rectifications.html", {"page": page, "today": timezone.localdate()})


def _visible_rectification(request, pk: int) -> tuple[Rectification, bool, bool]:
    """The task (inspections/policies.py), whether the user may verify it (inspects the inspection) and report on it
    (staff of the organisation that must act)."""
    item = policy.get_visible(Rectification.objects.select_related("org", "inspection__org", "finding"),
                              request.user, pk=pk)
    return item, policy.allows(request.user, "verify", item), policy.allows(request.user, "report", item)


@login_required
@require_http_methods(["GET", "POST"])
def rectification_detail(request, pk: int):
    item, inspects, answers_for = _visible_rectification(request, pk)
    action = request.POST.get("action")
    report_form = forms.ReportBackForm(request.POST if action == "report" else None)
    verify_form = forms.VerifyForm(request.POST if action == "verify" else None)
    status = 200
    if request.method == "POST":
        # reporting is for the organisation's staff, verifying for the inspectors: anything else is a 404
        policy.ensure((action == "report" and answers_for) or (action == "verify" and inspects))
        status = 400
        if action == "report" and report_form.is_valid():
            if page_call(request, services.rectification_report, form=report_form, rectification=item,
                         actor=request.user, **report_form.cleaned_data):
                messages.success(request, pgettext("inspections", "Your report was sent for verification."))
                return redirect("inspections:rectification_detail", pk=pk)
        elif action == "verify" and verify_form.is_valid():
            d = verify_form.cleaned_data
            if page_call(request, services.rectification_verify, form=verify_form, rectification=item,
                         accept=d["decision"] == "close", note=d["note"], actor=request.user):
                return redirect("inspections:rectification_detail", pk=pk)
    return render(request, "inspections/rectification.html", {
        "item": item, "events": item.events.select_related("by"), "inspects": inspects, "answers_for": answers_for,
        "report_form": report_form, "verify_form": verify_form, "today": timezone.localdate(),
    }, status=status)


@require_GET
def public_rectifications(request, pk: int):
    """The published rectification list of an inspection (一公开): tasks, deadlines and states; no reports' text."""
    inspection = policy.get_or_404(Inspection.objects.select_related("org"), pk=pk)
    items = selectors.public_rectifications(inspection)
    policy.ensure(items.exists())  # published once it has tasks
    return render(request, "inspections/public_rectifications.html", {"inspection": inspection, "items": items,
                                                                       "today": timezone.localdate()})


# ---- the report ---------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def report_page(request, pk: int):
    inspection = _inspection(request, pk)
    if request.method == "POST":
        key = request.POST.get("key", "")
        try:
            services.report_section_save(inspection=inspection, key=key, text=request.POST.get("text", ""),
                                         actor=request.user)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, pgettext("inspections", "The section was saved."))
        return redirect(reverse("inspections:report", args=[pk]) + f"#section-{key}")
    rep = report_builder.build(inspection, with_funnels=False)
    labels = {"intro": pgettext("inspections", "Introduction"), "practices": "一、基本做法", "achievements": "二、主要特点和成效",
              "problems": "三、意见和建议（问题）", "recommendations": "三、意见和建议（建议）"}
    sections = [{"key": k, "label": labels[k], "text": rep.sections[k], "edited": bool(inspection.report_sections.get(k)),
                 "draft": rep.drafts[k]} for k in services.REPORT_SECTION_KEYS]
    return render(request, "inspections/report.html", {"inspection": inspection, "report": rep,
                                                       "sections": sections})


@login_required
@require_GET
def report_download(request, pk: int, fmt: str):
    inspection = _inspection(request, pk)
    policy.ensure(fmt in ("docx", "pdf", "html"))
    content, content_type = report_builder.render(report_builder.build(inspection), fmt)
    audit_record(by=request.user, action="export", obj=inspection, summary=f"导出报告 {inspection.name}（{fmt}）")
    response = HttpResponse(content, content_type=content_type)
    if fmt != "html":
        response["Content-Disposition"] = content_disposition(f"{inspection.name}.{fmt}")
    return response

