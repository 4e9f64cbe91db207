"""Every write of the supervision module: plans, the draw, questionnaires and responses, fieldwork records,
findings, the rectification list and the report's edited text.

Keyword-only, atomic, audited. Views, the API, the commands and the demo call these.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from xianfeng.core import policy
from xianfeng.core.audit import audit_record, changed, snapshot
from xianfeng.core.ids import normalise_text
from xianfeng.core.scoping import STAFF_KINDS, subtree_q
from xianfeng.orgs.models import ContactPoint, Member, Membership, Organisation, Role, User

from . import survey
from .draw import KIND_TO_STRATUM, STRATA, DrawError, check_quotas, published_record, run_draw, sha256_of
from .models import (
    AGENDA,
    Draw,
    DrawUnit,
    Finding,
    Inspection,
    InspectionMember,
    Interview,
    Questionnaire,
    RecordReview,
    Rectification,
    RectificationEvent,
    Response,
    Seminar,
    SpotCheck,
    checklist_for,
)

ESCALATE_JOB = "inspections.rectification_due"


def _in_subtree(org: Organisation, root: Organisation, field: str = "org") -> None:
    if org is not None and not org.path.startswith(root.path):
        raise ValidationError({field: ["该单位不在本次点评的范围内"]})


def _check_dates(inspection: Inspection, day: dt.date, field: str = "date") -> None:
    if day is None:
        raise ValidationError({field: ["请填写日期"]})


def _clean_quotas(quotas: Mapping[str, Any] | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, value in (quotas or {}).items():
        if key not in STRATA:
            raise ValidationError({"quotas": [f"未知的抽查类别：{key}"]})
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValidationError({"quotas": [f"{key} 的数量须为整数"]}) from None
        if number < 0 or number > 100_000:
            raise ValidationError({"quotas": [f"{key} 的数量须在0到100000之间"]})
        if number:
            out[key] = number
    return out


# ---- the plan -----------------------------------------------------------------------------------------------------


@transaction.atomic
def inspection_create(*, org: Organisation, name: str, group_name: str, start: dt.date, end: dt.date,
                      leader: User, members: Iterable[User] = (), quotas: Mapping[str, int] | None = None,
                      exclude_months: int = 0, agenda: list[str] | None = None, actor: Any = None,
                      **extra: Any) -> Inspection:
    """Plan an inspection of `org`'s subtree by a group (the leader and members). Raises ValidationError."""
    policy.require(actor, "inspect", org)
    allowed = {"authority", "campaign", "reported_by", "questionnaires_issued", "satisfaction_mode",
               "interval_method", "strata_population"}
    unknown = set(extra) - allowed
    if unknown:
        raise ValidationError(f"未知的字段：{', '.join(sorted(unknown))}")
    agenda = list(agenda) if agenda is not None else [k for k, _ in AGENDA]
    bad = [a for a in agenda if a not in dict(AGENDA)]
    if bad:
        raise ValidationError({"agenda": [f"未知的议程：{', '.join(bad)}"]})
    inspection = Inspection(org=org, name=normalise_text(name), group_name=normalise_text(group_name), start=start,
                            end=end, agenda=agenda, quotas=_clean_quotas(quotas if quotas is not None
                                                                         else Inspection._meta.get_field("quotas").default()),
                            exclude_months=exclude_months,
                            created_by=actor if getattr(actor, "is_authenticated", False) else None, **extra)
    errors = {}
    if start and end and end < start:
        errors["end"] = ["结束日期早于开始日期"]
    if errors:
        raise ValidationError(errors)
    inspection.full_clean()
    inspection.save()
    InspectionMember.objects.create(inspection=inspection, user=leader, role=InspectionMember.Role.LEADER)
    for user in members:
        if user.pk != leader.pk:
            InspectionMember.objects.get_or_create(inspection=inspection, user=user)
    audit_record(by=actor, action="create", obj=inspection, after=snapshot(inspection),
                 summary=f"新增现场点评 {inspection.name}")
    return inspection


@transaction.atomic
def inspection_update(*, inspection: Inspection, actor: Any = None, **fields: Any) -> Inspection:
    policy.require(actor, "inspect", inspection)
    allowed = {"name", "group_name", "authority", "campaign", "reported_by", "start", "end", "status", "agenda",
               "quotas", "exclude_months", "questionnaires_issued", "satisfaction_mode", "interval_method",
               "strata_population"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"不能修改的字段：{', '.join(sorted(unknown))}")
    if "quotas" in fields:
        fields["quotas"] = _clean_quotas(fields["quotas"])
        if hasattr(inspection, "draw") and Draw.objects.filter(inspection=inspection).exists():
            raise ValidationError({"quotas": ["名录已冻结，不能再修改随机检查数"]})
    if "strata_population" in fields:
        pop = fields["strata_population"] or {}
        if not isinstance(pop, Mapping) or any(not isinstance(v, (int, float)) or v < 0 for v in pop.values()):
            raise ValidationError({"strata_population": ["各层总体规模须为非负数"]})
    before = snapshot(inspection)
    for key, value in fields.items():
        setattr(inspection, key, value)
    inspection.full_clean()
    inspection.save()
    b, a = changed(before, snapshot(inspection))
    if a:
        audit_record(by=actor, action="update", obj=inspection, before=b, after=a, summary=f"修改现场点评 {inspection.name}")
    return inspection


@transaction.atomic
def spot_check_add(*, inspection: Inspection, org: Organisation, date: dt.date, notes: str = "",
                   actor: Any = None) -> SpotCheck:
    policy.require(actor, "inspect", inspection)
    _in_subtree(org, inspection.org)
    if SpotCheck.objects.filter(inspection=inspection, org=org).exists():
        raise ValidationError({"org": ["该单位已在实地抽查名单中"]})
    check = SpotCheck.objects.create(inspection=inspection, org=org, date=date, notes=notes.strip())
    audit_record(by=actor, action="create", obj=check, summary=f"实地抽查 {org.name}")
    return check


# ---- the draw -----------------------------------------------------------------------------------------------------


def inspector_ties(user: User, root: Organisation) -> list[str]:
    """Paths of organisations `user` is tied to (回避): where the person is or was a member, where the person holds
    a contact point, where the user holds a role other than inspector. Ties at or above `root` are ignored (they
    would exclude everything)."""
    paths: set[str] = set()
    person_id = user.person_id
    if person_id:
        member = Member.objects.filter(person_id=person_id).first()
        if member is not None:
            paths.update(Membership.objects.filter(member=member).values_list("org__path", flat=True))
            paths.add(member.org.path)
            if member.managing_org_id:
                paths.add(member.managing_org.path)
        paths.update(ContactPoint.objects.filter(leader_id=person_id).values_list("org__path", flat=True))
    paths.update(Role.objects.filter(user=user).exclude(kind=Role.Kind.INSPECTOR).values_list("org__path", flat=True))
    return sorted(p for p in paths if len(p) > len(root.path))


def conflicting_codes(tie_paths: list[str], frame_units: list[tuple[str, str]]) -> list[str]:
    """Frame units (code, path) tied to any of `tie_paths`: the unit contains the tie (the person belongs inside
    it) or the tie contains the unit (a contact point on a town covers its villages)."""
    if not tie_paths:
        return []
    out = []
    for code, path in frame_units:
        if any(t.startswith(path) or path.startswith(t) for t in tie_paths):
            out.append(code)
    return out


def recently_inspected(root: Organisation, *, months: int, today: dt.date) -> set[str]:
    """Codes of units drawn by a published draw, or spot-checked, in an inspection that ended within `months`."""
    if months <= 0:
        return set()
    since = today - dt.timedelta(days=round(months * 30.44))
    drawn = DrawUnit.objects.filter(draw__status=Draw.Status.PUBLISHED, draw__inspection__end__gte=since).filter(
        subtree_q("org__path", root.path)).values_list("org__code", flat=True)
    spot = SpotCheck.objects.filter(inspection__end__gte=since).filter(subtree_q("org__path", root.path)).values_list(
        "org__code", flat=True)
    return set(drawn) | set(spot)


def draw_frame(inspection: Inspection, *, today: dt.date | None = None) -> tuple[list[list[str]], list[str],
                                                                                    list[tuple[str, str]]]:
    """The frame of the inspection's subtree: ([[code, stratum]] sorted, excluded codes, [(code, path)])."""
    today = today or timezone.localdate()
    kinds = [k for stratum in inspection.quotas for k in STRATA.get(stratum, ())]
    rows = (Organisation.objects.descendants_of(inspection.org, include_self=False)
            .filter(kind__in=kinds, is_active=True).order_by("code").values_list("code", "kind", "path"))
    excluded = recently_inspected(inspection.org, months=inspection.exclude_months, today=today)
    frame, units = [], []
    for code, kind, path in rows:
        if code in excluded:
            continue
        frame.append([code, KIND_TO_STRATUM[kind]])
        units.append((code, path))
    return frame, sorted(excluded), units


@transaction.atomic
def draw_freeze(*, inspection: Inspection, actor: Any = None, today: dt.date | None = None) -> Draw:
    """Freeze the unit list for the draw and publish its SHA-256 (before the seed is known). Quotas larger than a
    stratum are refused here, before anything is published. A frozen, unpublished draw is frozen afresh."""
    policy.require(actor, "inspect", inspection)
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    existing = Draw.objects.filter(inspection=inspection).first()
    if existing is not None and existing.status == Draw.Status.PUBLISHED:
        raise ValidationError("抽查结果已公布，不能重新冻结名录")
    if not inspection.quotas:
        raise ValidationError({"quotas": ["请先设定各类单位的随机检查数"]})
    frame, excluded, units = draw_frame(inspection, today=today)
    try:
        check_quotas(frame, inspection.quotas)
    except DrawError as exc:
        raise ValidationError({"quotas": [str(exc)]}) from None
    pool = list(InspectionMember.objects.filter(inspection=inspection).select_related("user").order_by("user_id"))
    inspectors = [[str(m.user_id), conflicting_codes(inspector_ties(m.user, inspection.org), units)] for m in pool]
    if existing is not None:
        existing.delete()
    draw = Draw.objects.create(
        inspection=inspection, frame=frame, frame_sha256=sha256_of(frame), quotas=dict(inspection.quotas),
        excluded=excluded, inspectors=inspectors,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(by=actor, action="create", obj=draw, summary=f"冻结抽查名录 {inspection.name}",
                 after={"frame_sha256": draw.frame_sha256, "units": len(frame), "excluded": len(excluded)})
    return draw


@transaction.atomic
def draw_publish(*, draw: Draw, seed: str, seed_source: str = "", actor: Any = None) -> Draw:
    """Run the draw with the announced `seed` and publish the result with every input's hash. Raises
    ValidationError (an empty seed, a quota no longer possible) and changes nothing then."""
    policy.require(actor, "inspect", draw)
    draw = Draw.objects.select_for_update().get(pk=draw.pk)
    if draw.status == Draw.Status.PUBLISHED:
        raise ValidationError("抽查结果已公布")
    seed = normalise_text(seed)
    if not seed or len(seed) > 200:
        raise ValidationError({"seed": ["请填写事先公布的随机种子（1到200个字符）"]})
    try:
        result = run_draw(frame=draw.frame, quotas=draw.quotas, seed=seed, inspectors=draw.inspectors)
    except DrawError as exc:
        raise ValidationError({"seed": [str(exc)]}) from None
    record = published_record(frame=draw.frame, quotas=draw.quotas, seed=seed, inspectors=draw.inspectors,
                              result=result)
    record["inspection"] = {"id": draw.inspection_id, "name": draw.inspection.name,
                            "frozen_at": draw.frozen_at.isoformat(), "seed_source": seed_source}
    draw.seed, draw.seed_source = seed, normalise_text(seed_source)[:200]
    draw.result = result.as_dict()
    draw.result_sha256 = record["hashes"]["result"]
    draw.record = record
    draw.status = Draw.Status.PUBLISHED
    draw.published_at = timezone.now()
    draw.save()
    codes = [c for stratum in sorted(result.selected) for c in result.selected[stratum]]
    orgs = {o.code: o for o in Organisation.objects.filter(code__in=codes)}
    DrawUnit.objects.bulk_create([
        DrawUnit(draw=draw, org=orgs[code], stratum=stratum, position=i,
                 inspector_id=int(result.assignments[code]) if code in result.assignments else None)
        for stratum in sorted(result.selected) for i, code in enumerate(result.selected[stratum], start=1)
    ])
    audit_record(by=actor, action="create", obj=draw, summary=f"公布抽查结果 {draw.inspection.name}",
                 after={"seed": seed, "result_sha256": draw.result_sha256})
    return draw


# ---- questionnaires and responses ---------------------------------------------------------------------------------


@transaction.atomic
def questionnaire_import(*, inspection: Inspection, data: bytes, filename: str, actor: Any = None) -> Questionnaire:
    """Import an XLSForm. Raises ValidationError listing pyxform's and our messages (sheet and row); nothing is kept."""
    policy.require(actor, "inspect", inspection)
    try:
        form = survey.import_xlsform(data, filename=filename)
    except survey.FormError as exc:
        raise ValidationError({"file": exc.messages}) from None
    if not survey.questions(form):
        raise ValidationError({"file": ["表单中没有题目"]})
    q = Questionnaire.objects.create(inspection=inspection, title=(form["title"] or filename)[:200], form=form,
                                     source=Questionnaire.Source.XLSFORM, filename=filename[:200],
                                     created_by=actor if getattr(actor, "is_authenticated", False) else None)
    audit_record(by=actor, action="import", obj=q, summary=f"导入问卷 {q.title}",
                 after={"sha256": hashlib.sha256(data).hexdigest(), "questions": len(survey.questions(form))})
    return q


@transaction.atomic
def questionnaire_create(*, inspection: Inspection, title: str, actor: Any = None) -> Questionnaire:
    policy.require(actor, "inspect", inspection)
    title = normalise_text(title)
    if not title:
        raise ValidationError({"title": ["请填写问卷标题"]})
    q = Questionnaire.objects.create(inspection=inspection, title=title[:200], form=survey.empty_form(title),
                                     created_by=actor if getattr(actor, "is_authenticated", False) else None)
    audit_record(by=actor, action="create", obj=q, summary=f"新建问卷 {q.title}")
    return q


def _edit_form(questionnaire: Questionnaire, change, *, actor: Any, summary: str) -> Questionnaire:
    """Apply `change(form) -> form` to a questionnaire without responses (answers would no longer match the form)."""
    policy.require(actor, "inspect", questionnaire)
    questionnaire = Questionnaire.objects.select_for_update().get(pk=questionnaire.pk)
    if questionnaire.responses.exists():
        raise ValidationError("问卷已有答卷，不能再修改题目")
    try:
        questionnaire.form = change(questionnaire.form)
    except survey.FormError as exc:
        raise ValidationError({"__all__": exc.messages}) from None
    questionnaire.save(update_fields=["form"])
    audit_record(by=actor, action="update", obj=questionnaire, summary=summary)
    return questionnaire


@transaction.atomic
def questionnaire_add_question(*, questionnaire: Questionnaire, actor: Any = None, **fields: Any) -> Questionnaire:
    """Append a question built in the UI."""
    return _edit_form(questionnaire, lambda form: survey.add_question(form, **fields), actor=actor,
                      summary=f"问卷增加题目 {fields.get('name')}")


@transaction.atomic
def questionnaire_move_question(*, questionnaire: Questionnaire, name: str, offset: int,
                                actor: Any = None) -> Questionnaire:
    return _edit_form(questionnaire, lambda form: survey.move_question(form, name=name, offset=offset), actor=actor,
                      summary=f"问卷题目 {name} {'上移' if offset < 0 else '下移'}")


@transaction.atomic
def questionnaire_remove_question(*, questionnaire: Questionnaire, name: str, actor: Any = None) -> Questionnaire:
    return _edit_form(questionnaire, lambda form: survey.remove_question(form, name=name), actor=actor,
                      summary=f"问卷删除题目 {name}")


@transaction.atomic
def questionnaire_set_rate(*, questionnaire: Questionnaire, rate: str, question: str, positive: list[str],
                           weights: str | Mapping[str, float] = "", actor: Any = None) -> Questionnaire:
    policy.require(actor, "inspect", questionnaire)
    try:
        config = survey.rate_config(questionnaire.form, rate=rate, question=question, positive=positive,
                                    weights=weights)
    except survey.FormError as exc:
        raise ValidationError({"rate": exc.messages}) from None
    form = dict(questionnaire.form)
    form["rates"] = {**form.get("rates", {}), rate: config}
    questionnaire.form = form
    questionnaire.save(update_fields=["form"])
    audit_record(by=actor, action="update", obj=questionnaire, summary=f"设定问卷比率 {rate}", after=config)
    return questionnaire


def stratum_of(unit: Organisation | None, inspection: Inspection) -> str:
    if unit is None:
        return ""
    drawn = DrawUnit.objects.filter(draw__inspection=inspection, org=unit).values_list("stratum", flat=True).first()
    return drawn or KIND_TO_STRATUM.get(unit.kind, unit.kind)


def response_submit(*, questionnaire: Questionnaire, answers: Mapping[str, Any], respondent_type: str, method: str,
                    client_key: str, unit: Organisation | None = None, stratum: str = "",
                    started_at: dt.datetime | None = None, actor: Any = None, lang: str = "zh",
                    today: dt.date | None = None) -> tuple[Response, bool]:
    """Store one filled questionnaire. `client_key` (made by the phone when the form is opened) makes a resubmission
    after a dropped connection change nothing: returns (the response, created?). Raises ValidationError with
    {question: [reason]} for answers that break the form (type, choice, required, constraint)."""
    policy.require(actor, "inspect", questionnaire)
    key = str(client_key or "").strip()
    if not key or len(key) > 64:
        raise ValidationError({"client_key": ["缺少答卷标识（1到64个字符）"]})
    existing = Response.objects.filter(questionnaire=questionnaire, client_key=key).first()
    if existing is not None:
        return existing, False
    errors: dict[str, list[str]] = {}
    from .models import Method, RespondentType

    if respondent_type not in RespondentType.values:
        errors["respondent_type"] = ["请选择受访对象（党员或群众）"]
    if method not in Method.values:
        errors["method"] = ["请选择调查方式"]
    if unit is not None and not unit.path.startswith(questionnaire.inspection.org.path):
        errors["unit"] = ["该单位不在本次点评的范围内"]
    if not isinstance(answers, Mapping):
        raise ValidationError({"answers": ["答案格式不正确"]})
    clean, answer_errors = survey.clean_answers(questionnaire.form, answers, lang=lang, today=today)
    errors.update(answer_errors)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            response = Response.objects.create(
                questionnaire=questionnaire, inspection=questionnaire.inspection, unit=unit,
                stratum=(stratum or stratum_of(unit, questionnaire.inspection))[:30], respondent_type=respondent_type,
                method=method, answers=clean, client_key=key, started_at=started_at,
                submitted_by=actor if getattr(actor, "is_authenticated", False) else None)
            audit_record(by=actor, action="create", obj=response, summary=f"提交问卷 {questionnaire.title}")
    except IntegrityError:  # the same key raced in from a second tab
        return Response.objects.get(questionnaire=questionnaire, client_key=key), False
    return response, True


def responses_bulk_create(*, questionnaire: Questionnaire, rows: list[dict[str, Any]], actor: Any = None) -> int:
    """The bulk path (demo, paper questionnaires typed in afterwards): every row checked by the same rules as
    response_submit, written with bulk_create and one audit row. Raises ValidationError listing every bad row;
    nothing is written then."""
    policy.require(actor, "inspect", questionnaire)
    errors = []
    objects = []
    inspection = questionnaire.inspection
    keys = set()
    for i, row in enumerate(rows, start=1):
        clean, problems = survey.clean_answers(questionnaire.form, row["answers"], today=row.get("today"))
        unit = row.get("unit")
        if unit is not None and not unit.path.startswith(inspection.org.path):
            problems["unit"] = ["该单位不在本次点评的范围内"]
        if row["client_key"] in keys:
            problems["client_key"] = ["答卷标识重复"]
        keys.add(row["client_key"])
        if problems:
            errors.append(f"第{i}份：" + "；".join(f"{k} {'，'.join(v)}" for k, v in problems.items()))
            continue
        objects.append(Response(questionnaire=questionnaire, inspection=inspection, unit=unit,
                                stratum=row.get("stratum", ""), respondent_type=row["respondent_type"],
                                method=row["method"], answers=clean, client_key=row["client_key"],
                                submitted_by=actor if getattr(actor, "is_authenticated", False) else None))
    if Response.objects.filter(questionnaire=questionnaire, client_key__in=keys).exists():
        errors.append("部分答卷已存在")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        Response.objects.bulk_create(objects, batch_size=1000)
        audit_record(by=actor, action="import", model="inspections.Response",
                     summary=f"批量录入问卷 {questionnaire.title} {len(objects)} 份", after={"created": len(objects)})
    return len(objects)


# ---- fieldwork records --------------------------------------------------------------------------------------------


@transaction.atomic
def interview_record(*, inspection: Inspection, respondent_type: str, method: str, date: dt.date,
                     unit: Organisation | None = None, who: str = "", place: str = "", notes: str = "",
                     actor: Any = None) -> Interview:
    policy.require(actor, "inspect", inspection)
    if unit is not None:
        _in_subtree(unit, inspection.org, "unit")
    interview = Interview(inspection=inspection, unit=unit, respondent_type=respondent_type, method=method,
                          date=date, who=normalise_text(who), place=normalise_text(place), notes=notes.strip(),
                          recorded_by=actor if getattr(actor, "is_authenticated", False) else None)
    interview.full_clean()
    interview.save()
    audit_record(by=actor, action="create", obj=interview, summary=f"走访记录 {inspection.name}")
    return interview


@transaction.atomic
def record_review_record(*, inspection: Inspection, unit: Organisation, date: dt.date, checked: Iterable[str],
                         evidence: str = "", notes: str = "", actor: Any = None) -> RecordReview:
    """A records review with the checklist for the unit's type: `checked` names the items found in order."""
    policy.require(actor, "inspect", inspection)
    _in_subtree(unit, inspection.org, "unit")
    items = checklist_for(unit.kind)
    keys = {k for k, _ in items}
    checked = set(checked)
    unknown = checked - keys
    if unknown:
        raise ValidationError({"checked": [f"清单中没有：{', '.join(sorted(unknown))}"]})
    review = RecordReview(inspection=inspection, unit=unit, date=date, checklist={k: k in checked for k, _ in items},
                          evidence=evidence.strip(), notes=notes.strip(),
                          reviewed_by=actor if getattr(actor, "is_authenticated", False) else None)
    review.full_clean()
    review.save()
    audit_record(by=actor, action="create", obj=review, summary=f"查阅台账 {unit.name}")
    return review


@transaction.atomic
def seminar_record(*, inspection: Inspection, title: str, date: dt.date, members: int = 0, residents: int = 0,
                   unit: Organisation | None = None, attendance: str = "", notes: str = "", actor: Any = None) -> Seminar:
    policy.require(actor, "inspect", inspection)
    if unit is not None:
        _in_subtree(unit, inspection.org, "unit")
    if members < 0 or residents < 0:
        raise ValidationError({"members": ["人数不能为负"]})
    seminar = Seminar(inspection=inspection, title=normalise_text(title), date=date, members=members,
                      residents=residents, unit=unit, attendance=attendance.strip(), notes=notes.strip())
    seminar.full_clean()
    seminar.save()
    audit_record(by=actor, action="create", obj=seminar, summary=f"座谈会 {seminar.title}")
    return seminar


# ---- findings -----------------------------------------------------------------------------------------------------


@transaction.atomic
def findings_draft(*, inspection: Inspection, actor: Any = None, today: dt.date | None = None) -> list[Finding]:
    """Draft findings from the data (analysis.draft_findings). Drafts not yet accepted or dropped are replaced;
    the inspector's accepted and dropped findings stay as they are."""
    policy.require(actor, "inspect", inspection)
    from .analysis import draft_findings

    Finding.objects.filter(inspection=inspection, status=Finding.Status.DRAFT).delete()
    kept = set(Finding.objects.filter(inspection=inspection).values_list("kind", flat=True))
    created = []
    for position, draft in enumerate(draft_findings(inspection, today=today), start=1):
        if draft["kind"] in kept:
            continue
        created.append(Finding.objects.create(inspection=inspection, position=position, **draft))
    audit_record(by=actor, action="create", model="inspections.Finding", object_id=inspection.pk,
                 summary=f"根据数据起草问题 {len(created)} 条", after={"kinds": [f.kind for f in created]})
    return created


@transaction.atomic
def finding_add(*, inspection: Inspection, title: str, text: str, recommendation: str = "",
                kind: str = Finding.Kind.OTHER, actor: Any = None) -> Finding:
    policy.require(actor, "inspect", inspection)
    last = Finding.objects.filter(inspection=inspection).order_by("-position").values_list("position", flat=True).first()
    finding = Finding(inspection=inspection, kind=kind, title=normalise_text(title), text=text.strip(),
                      recommendation=recommendation.strip(), status=Finding.Status.ACCEPTED,
                      position=(last or 0) + 1)
    finding.full_clean()
    finding.save()
    audit_record(by=actor, action="create", obj=finding, summary=f"新增问题 {finding.title}")
    return finding


@transaction.atomic
def finding_update(*, finding: Finding, actor: Any = None, **fields: Any) -> Finding:
    """Edit a finding's text, or accept or drop it (status)."""
    policy.require(actor, "inspect", finding)
    allowed = {"title", "text", "recommendation", "status"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"不能修改的字段：{', '.join(sorted(unknown))}")
    before = snapshot(finding)
    for key, value in fields.items():
        setattr(finding, key, value.strip() if isinstance(value, str) else value)
    finding.full_clean()
    finding.save()
    b, a = changed(before, snapshot(finding))
    if a:
        audit_record(by=actor, action="update", obj=finding, before=b, after=a, summary=f"修改问题 {finding.title}")
    return finding


# ---- rectification ------------------------------------------------------------------------------------------------


def staff_of(org: Organisation) -> list[User]:
    """The users who answer for `org`: secretaries and administrators on it, else on its nearest ancestor that has
    any (so a task on a unit without an account of its own reaches the town)."""
    prefixes = [org.path[:i] for i in range(len(org.path), 0, -4)]
    roles = (Role.objects.filter(kind__in=STAFF_KINDS, org__path__in=prefixes).select_related("user", "org")
             .filter(user__is_active=True))
    by_path: dict[str, list[User]] = {}
    for role in roles:
        by_path.setdefault(role.org.path, []).append(role.user)
    for prefix in prefixes:
        if prefix in by_path:
            return sorted({u.pk: u for u in by_path[prefix]}.values(), key=lambda u: u.pk)
    return []


def _notify(users: Iterable[User], *, kind: str, subject: str, body: str, link: str, key: str) -> None:
    from xianfeng.notify.services import notify

    for user in users:
        notify(to=user, kind=kind, subject=subject, body=body, link=link, key=key)


def _task_link(rectification: Rectification) -> str:
    from django.urls import reverse

    return reverse("inspections:rectification_detail", args=[rectification.pk])


@transaction.atomic
def rectification_create(*, finding: Finding, org: Organisation, task: str, deadline: dt.date, actor: Any = None,
                         today: dt.date | None = None) -> Rectification:
    """Put a task on the rectification list: the organisation's staff are notified, and a job is due at the
    deadline to escalate it if it is still open then."""
    policy.require(actor, "inspect", finding)
    from xianfeng.jobs.services import job_schedule

    today = today or timezone.localdate()
    inspection = finding.inspection
    errors = {}
    if finding.status == Finding.Status.DROPPED:
        errors["finding"] = ["已舍弃的问题不能下达整改任务"]
    if not org.path.startswith(inspection.org.path):
        errors["org"] = ["责任单位不在本次点评的范围内"]
    if not normalise_text(task):
        errors["task"] = ["请填写整改任务"]
    if deadline is None or deadline < today:
        errors["deadline"] = ["整改时限不能早于今天"]
    if errors:
        raise ValidationError(errors)
    item = Rectification.objects.create(finding=finding, inspection=inspection, org=org, task=task.strip(),
                                        deadline=deadline)
    RectificationEvent.objects.create(rectification=item, action=RectificationEvent.Action.CREATED,
                                      by=actor if getattr(actor, "is_authenticated", False) else None, note=item.task)
    due = timezone.make_aware(dt.datetime.combine(deadline + dt.timedelta(days=1), dt.time(8, 0)))
    job_schedule(name=ESCALATE_JOB, args={"rectification_id": item.pk}, due_at=due,
                 key=f"{ESCALATE_JOB}:{item.pk}")
    _notify(staff_of(org), kind="inspections.rectification", subject=f"整改任务：{inspection.name}",
            body=f"{item.task}\n整改时限：{deadline:%Y-%m-%d}", link=_task_link(item), key=f"rectification:{item.pk}:created")
    audit_record(by=actor, action="create", obj=item, after=snapshot(item), summary=f"下达整改任务 {org.name}")
    return item


@transaction.atomic
def rectification_report(*, rectification: Rectification, report: str, evidence: str = "",
                         actor: Any = None) -> Rectification:
    """The organisation reports what it did, with evidence; the task waits for the inspector's check."""
    policy.require(actor, "report", rectification)
    item = Rectification.objects.select_for_update().get(pk=rectification.pk)
    if item.status != Rectification.Status.OPEN:
        raise ValidationError("只有整改中的任务可以报告整改情况")
    if not normalise_text(report):
        raise ValidationError({"report": ["请填写整改情况"]})
    item.report, item.evidence = report.strip(), evidence.strip()
    item.status = Rectification.Status.REPORTED
    item.reported_at = timezone.now()
    item.save()
    RectificationEvent.objects.create(rectification=item, action=RectificationEvent.Action.REPORTED,
                                      by=actor if getattr(actor, "is_authenticated", False) else None, note=item.report)
    leaders = [m.user for m in item.inspection.group.select_related("user").filter(role=InspectionMember.Role.LEADER)]
    _notify(leaders, kind="inspections.rectification", subject=f"整改情况待核查：{item.org.name}",
            body=item.report[:500], link=_task_link(item), key=f"rectification:{item.pk}:reported:{item.reported_at:%s}")
    audit_record(by=actor, action="update", obj=item, summary=f"报告整改情况 {item.org.name}")
    return item


@transaction.atomic
def rectification_verify(*, rectification: Rectification, accept: bool, note: str = "", actor: Any = None) -> Rectification:
    """The inspector checks a reported task: accepted closes it (销号), otherwise it goes back with the reason."""
    policy.require(actor, "verify", rectification)
    item = Rectification.objects.select_for_update().get(pk=rectification.pk)
    if item.status != Rectification.Status.REPORTED:
        raise ValidationError("只有已报告的任务可以核查")
    if not accept and not normalise_text(note):
        raise ValidationError({"note": ["退回时请写明原因"]})
    actor = actor if getattr(actor, "is_authenticated", False) else None
    if accept:
        item.status = Rectification.Status.CLOSED
        item.closed_at = timezone.now()
        RectificationEvent.objects.create(rectification=item, action=RectificationEvent.Action.CLOSED, by=actor,
                                          note=note.strip())
    else:
        item.status = Rectification.Status.OPEN
        RectificationEvent.objects.create(rectification=item, action=RectificationEvent.Action.RETURNED, by=actor,
                                          note=note.strip())
        _notify(staff_of(item.org), kind="inspections.rectification", subject=f"整改任务被退回：{item.org.name}",
                body=note.strip(), link=_task_link(item),
                key=f"rectification:{item.pk}:returned:{item.events.count()}")
    item.save()
    audit_record(by=actor, action="update", obj=item, summary=f"{'销号' if accept else '退回'}整改任务 {item.org.name}")
    return item


@transaction.atomic
def rectification_escalate(*, rectification_id: int, today: dt.date | None = None) -> bool:
    """Escalate one task if it is open past its deadline and not escalated yet: the organisation's staff and the
    level above are notified, and the group leader. Safe to run twice (the conditional UPDATE decides)."""
    today = today or timezone.localdate()
    now = timezone.now()
    updated = Rectification.objects.filter(pk=rectification_id, deadline__lt=today, escalated_at__isnull=True).exclude(
        status=Rectification.Status.CLOSED).update(escalated_at=now)
    if updated != 1:
        return False
    item = Rectification.objects.select_related("org", "inspection").get(pk=rectification_id)
    RectificationEvent.objects.create(rectification=item, action=RectificationEvent.Action.ESCALATED,
                                      note=f"逾期（时限 {item.deadline:%Y-%m-%d}）")
    users = {u.pk: u for u in staff_of(item.org)}
    if item.org.parent_id:
        users.update({u.pk: u for u in staff_of(item.org.parent)})
    for m in item.inspection.group.select_related("user").filter(role=InspectionMember.Role.LEADER):
        users[m.user.pk] = m.user
    _notify(users.values(), kind="inspections.rectification_overdue", subject=f"整改任务逾期：{item.org.name}",
            body=f"{item.task}\n整改时限：{item.deadline:%Y-%m-%d}", link=_task_link(item),
            key=f"rectification:{item.pk}:escalated")
    audit_record(by=None, action="update", obj=item, summary=f"整改任务逾期督办 {item.org.name}")
    return True


def rectifications_escalate_overdue(*, today: dt.date | None = None) -> int:
    """Escalate every overdue task not escalated yet (the daily sweep behind the per-task jobs)."""
    today = today or timezone.localdate()
    ids = list(Rectification.objects.overdue(today).filter(escalated_at__isnull=True).values_list("pk", flat=True))
    return sum(rectification_escalate(rectification_id=pk, today=today) for pk in ids)


# ---- the report ---------------------------------------------------------------------------------------------------

REPORT_SECTION_KEYS = ("intro", "practices", "achievements", "problems", "recommendations")


@transaction.atomic
def report_section_save(*, inspection: Inspection, key: str, text: str, actor: Any = None) -> Inspection:
    """Keep the inspector's edited text of one report section (empty text goes back to the draft from the data)."""
    policy.require(actor, "inspect", inspection)
    if key not in REPORT_SECTION_KEYS:
        raise ValidationError({"key": [f"未知的报告部分：{key}"]})
    if len(text) > 20_000:
        raise ValidationError({"text": ["内容过长（上限20000字）"]})
    locked = Inspection.objects.select_for_update().get(pk=inspection.pk)
    sections = dict(locked.report_sections or {})
    before = sections.get(key, "")
    text = text.replace("\r\n", "\n").strip()
    if text:
        sections[key] = text
    else:
        sections.pop(key, None)
    locked.report_sections = inspection.report_sections = sections
    locked.save(update_fields=["report_sections"])
    audit_record(by=actor, action="update", obj=inspection, before={key: before}, after={key: text},
                 summary=f"编辑报告 {key}")
    return inspection


def in_group(user: Any, inspection: Inspection) -> bool:
    pk = getattr(user, "pk", None)
    return pk is not None and InspectionMember.objects.filter(inspection=inspection, user_id=pk).exists()

