"""Campaigns, their deliverables and the organisations' plans; the progress matrix and the plan rate."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from xianfeng.core.audit import audit_record, changed, snapshot
from xianfeng.core.text import clean_text
from xianfeng.orgs.models import Organisation, OrgKind

from ..models import (
    Campaign,
    CampaignPlan,
    Deliverable,
    DeliverableRecord,
    PlanEvent,
)
from .common import _in_subtree, _require

PLAN_DOCUMENT_TYPES = {  # extension → the magic bytes such a file starts with
    ".pdf": (b"%PDF",),
    ".docx": (b"PK\x03\x04",),
    ".odt": (b"PK\x03\x04",),
    ".wps": (b"\xd0\xcf\x11\xe0",),
    ".doc": (b"\xd0\xcf\x11\xe0",),
}

PLAN_FILE_MAX_BYTES = 20 * 1024 * 1024


def check_document(upload: Any, name: str = "file") -> None:
    """A plan file must be a document (PDF, Word, WPS, ODF) by both its name and its first bytes."""
    filename = str(getattr(upload, "name", "") or "").lower()
    ext = filename[filename.rfind("."):] if "." in filename else ""
    if ext not in PLAN_DOCUMENT_TYPES:
        raise ValidationError({name: ["方案文件须为文档（PDF、Word、WPS或ODT）"]})
    if upload.size > PLAN_FILE_MAX_BYTES:
        raise ValidationError({name: ["方案文件不能超过20MB"]})
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if not any(head.startswith(magic) for magic in PLAN_DOCUMENT_TYPES[ext]):
        raise ValidationError({name: ["文件内容不是有效的文档"]})
    if ext == ".docx":  # a zip: its members' real inflated size is bounded too (zip bombs)
        from xianfeng.core.uploads import UploadRefused, check_upload

        try:
            check_upload(upload, filename=filename, kinds=("docx",), max_bytes=PLAN_FILE_MAX_BYTES)
        except UploadRefused as exc:
            raise ValidationError({name: [str(exc)]}) from None


@transaction.atomic
def campaign_create(*, name: str, org: Organisation, start: dt.date, implement_from: dt.date,
                    evaluate_from: dt.date, end: dt.date, deliverables: list[dict[str, Any]] | None = None,
                    description: str = "", actor: Any) -> Campaign:
    """A campaign over `org`'s subtree (the actor administers `org`). Each deliverable: code, name, org_kinds (list of
    OrgKind), due."""
    _require(actor, "admin", org)
    if not start <= implement_from <= evaluate_from <= end:
        raise ValidationError({"end": ["阶段日期须依次为：开始 ≤ 实施 ≤ 评估 ≤ 结束"]})
    campaign = Campaign(name=clean_text(name, "name", 200), org=org, start=start, implement_from=implement_from,
                        evaluate_from=evaluate_from, end=end, description=description)
    campaign.full_clean()
    campaign.save()
    codes = [str(d.get("code") or "") for d in deliverables or []]
    if len(set(codes)) != len(codes):
        raise ValidationError({"deliverables": ["交付物代码不能重复"]})
    for i, d in enumerate(deliverables or []):
        _deliverable_save(campaign, d, order=i)
    audit_record(by=actor, action="create", obj=campaign, after=snapshot(campaign), summary=f"新建活动 {campaign.name}")
    return campaign


def _deliverable_save(campaign: Campaign, d: dict[str, Any], *, order: int) -> Deliverable:
    kinds = list(d.get("org_kinds") or [])
    bad = [k for k in kinds if k not in OrgKind.values]
    if bad or not kinds:
        raise ValidationError({"deliverables": [f"交付物“{d.get('name')}”的适用组织类型不正确"]})
    due = d.get("due")
    if not isinstance(due, dt.date) or not campaign.start <= due <= campaign.end:
        raise ValidationError({"deliverables": [f"交付物“{d.get('name')}”的截止日期不在活动期间"]})
    item = Deliverable(campaign=campaign, code=str(d.get("code") or ""), name=clean_text(d.get("name"), "deliverables", 100),
                       org_kinds=kinds, due=due, order=order)
    try:
        item.full_clean()
    except ValidationError as exc:
        raise ValidationError({"deliverables": [f"交付物“{item.name}”：{'；'.join(exc.messages)}"]}) from None
    item.save()
    return item


@transaction.atomic
def deliverable_add(*, campaign: Campaign, code: str, name: str, org_kinds: list[str], due: dt.date,
                    actor: Any) -> Deliverable:
    """One more deliverable for a campaign that has not closed; its code is unique within the campaign."""
    _require(actor, "admin", campaign)
    if campaign.phase == Campaign.Phase.CLOSED:
        raise ValidationError({"campaign": ["活动已结束"]})
    if campaign.deliverables.filter(code=code).exists():
        raise ValidationError({"code": ["该代码已使用"]})
    order = (campaign.deliverables.order_by("-order").values_list("order", flat=True).first() or 0) + 1
    item = _deliverable_save(campaign, {"code": code, "name": name, "org_kinds": org_kinds, "due": due}, order=order)
    audit_record(by=actor, action="create", obj=item, after=snapshot(item), summary=f"{campaign.name} 新增交付物 {item.name}")
    return item

CAMPAIGN_EDITABLE = ("name", "description", "start", "implement_from", "evaluate_from", "end")


@transaction.atomic
def campaign_update(*, campaign: Campaign, actor: Any, **changes: Any) -> Campaign:
    """Change a campaign's name, description or phase dates; every deliverable's due date must stay inside it."""
    _require(actor, "admin", campaign)
    unknown = set(changes) - set(CAMPAIGN_EDITABLE)
    if unknown:
        raise ValidationError({"__all__": [f"不能修改：{', '.join(sorted(unknown))}"]})
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    before = snapshot(campaign, list(CAMPAIGN_EDITABLE))
    for key, value in changes.items():
        setattr(campaign, key, value)
    campaign.name = clean_text(campaign.name, "name", 200)
    if not campaign.start <= campaign.implement_from <= campaign.evaluate_from <= campaign.end:
        raise ValidationError({"end": ["阶段日期须依次为：开始 ≤ 实施 ≤ 评估 ≤ 结束"]})
    outside = [d.name for d in campaign.deliverables.all() if not campaign.start <= d.due <= campaign.end]
    if outside:
        raise ValidationError({"end": [f"交付物截止日期不在活动期间：{'、'.join(outside)}"]})
    campaign.full_clean()
    campaign.save()
    b, a = changed(before, snapshot(campaign, list(CAMPAIGN_EDITABLE)))
    if a:
        audit_record(by=actor, action="update", obj=campaign, before=b, after=a, summary=f"修改活动 {campaign.name}")
    return campaign

PHASE_ORDER: list[str] = [Campaign.Phase.DEPLOY, Campaign.Phase.IMPLEMENT, Campaign.Phase.EVALUATE, Campaign.Phase.CLOSED]


@transaction.atomic
def campaign_advance(*, campaign: Campaign, actor: Any) -> Campaign:
    """Move the campaign to its next phase (deploy → implement → evaluate → closed)."""
    _require(actor, "admin", campaign)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    index = PHASE_ORDER.index(campaign.phase)
    if index == len(PHASE_ORDER) - 1:
        raise ValidationError({"phase": ["活动已结束"]})
    before = campaign.phase
    campaign.phase = PHASE_ORDER[index + 1]
    campaign.save(update_fields=["phase"])
    audit_record(by=actor, action="update", obj=campaign, before={"phase": before}, after={"phase": campaign.phase},
                 summary=f"活动 {campaign.name} 进入{campaign.get_phase_display()}阶段")
    return campaign


def _plan_deliverable(campaign: Campaign) -> Deliverable:
    item = campaign.deliverables.filter(code=Deliverable.PLAN).first()
    if item is None:
        raise ValidationError({"campaign": ["该活动不要求报送活动方案"]})
    return item


def _event(plan: CampaignPlan, by: Any, note: str = "") -> None:
    PlanEvent.objects.create(plan=plan, status=plan.status, by=by if getattr(by, "is_authenticated", False) else None,
                             note=note[:500])


@transaction.atomic
def plan_save(*, campaign: Campaign, org: Organisation, title: str, text: str = "", file: Any = None,
              actor: Any) -> CampaignPlan:
    """Create or edit an organisation's plan while it is a draft or has been returned (the actor may change `org`)."""
    _require(actor, "change", org)
    item = _plan_deliverable(campaign)
    if org.kind not in item.org_kinds or not _in_subtree(org, campaign.org):
        raise ValidationError({"org": ["该组织不在本活动要求报送方案的范围内"]})
    if campaign.phase == Campaign.Phase.CLOSED:
        raise ValidationError({"campaign": ["活动已结束"]})
    if file:
        check_document(file)
    plan = CampaignPlan.objects.select_for_update().filter(campaign=campaign, org=org).first()
    if plan is None:
        plan = CampaignPlan(campaign=campaign, org=org)
    elif plan.status not in (CampaignPlan.Status.DRAFT, CampaignPlan.Status.RETURNED):
        raise ValidationError({"status": [f"方案{plan.get_status_display()}，不能修改"]})
    plan.title = clean_text(title, "title", 200)
    plan.text = str(text or "")
    if file:
        plan.file = file
    plan.full_clean(exclude=["file"])
    created = plan.pk is None
    plan.save()
    if created:
        _event(plan, actor)
    audit_record(by=actor, action="create" if created else "update", obj=plan, summary=f"活动方案 {org.name}")
    return plan


def _transition(plan: CampaignPlan, frm: tuple[str, ...], to: str, **fields: Any) -> CampaignPlan:
    if CampaignPlan.objects.filter(pk=plan.pk, status__in=frm).update(status=to, **fields) != 1:
        plan.refresh_from_db()
        raise ValidationError({"status": [f"方案当前为“{plan.get_status_display()}”，不能执行此操作"]})
    plan.refresh_from_db()
    return plan


@transaction.atomic
def plan_submit(*, plan: CampaignPlan, actor: Any) -> CampaignPlan:
    """Draft or returned → submitted (报送). A plan needs its text or a file."""
    _require(actor, "change", plan)
    if not plan.text.strip() and not plan.file:
        raise ValidationError({"text": ["请填写方案内容或上传方案文件"]})
    plan = _transition(plan, (CampaignPlan.Status.DRAFT, CampaignPlan.Status.RETURNED), CampaignPlan.Status.SUBMITTED,
                       submitted_at=timezone.now())
    _event(plan, actor)
    audit_record(by=actor, action="update", obj=plan, after={"status": plan.status}, summary=f"报送活动方案 {plan.org}")
    return plan


@transaction.atomic
def plan_return(*, plan: CampaignPlan, note: str, actor: Any) -> CampaignPlan:
    """Submitted → returned, with the reason the organisation must address (an administrator over it)."""
    _require(actor, "admin", plan)
    note = clean_text(note, "note", 500)
    plan = _transition(plan, (CampaignPlan.Status.SUBMITTED,), CampaignPlan.Status.RETURNED,
                       reviewed_at=timezone.now(), review_note=note)
    _event(plan, actor, note)
    audit_record(by=actor, action="update", obj=plan, after={"status": plan.status, "note": note},
                 summary=f"退回活动方案 {plan.org}")
    return plan


@transaction.atomic
def plan_accept(*, plan: CampaignPlan, note: str = "", actor: Any) -> CampaignPlan:
    """Submitted → accepted (审定), by an administrator over the organisation."""
    _require(actor, "admin", plan)
    note = clean_text(note, "note", 500, required=False)
    plan = _transition(plan, (CampaignPlan.Status.SUBMITTED,), CampaignPlan.Status.ACCEPTED,
                       reviewed_at=timezone.now(), review_note=note)
    _event(plan, actor, note)
    audit_record(by=actor, action="update", obj=plan, after={"status": plan.status}, summary=f"审定活动方案 {plan.org}")
    return plan


@transaction.atomic
def deliverable_record(*, deliverable: Deliverable, org: Organisation, done_on: dt.date, note: str = "",
                       actor: Any) -> DeliverableRecord:
    """Record that `org` delivered `deliverable` (for the plan, use the plan services)."""
    _require(actor, "change", org)
    if deliverable.code == Deliverable.PLAN:
        raise ValidationError({"deliverable": ["活动方案通过报送和审定办理"]})
    if org.kind not in deliverable.org_kinds or not _in_subtree(org, deliverable.campaign.org):
        raise ValidationError({"org": ["该组织不需要完成此项"]})
    if done_on > timezone.localdate():
        raise ValidationError({"done_on": ["完成日期晚于今天"]})
    record = DeliverableRecord(deliverable=deliverable, org=org, done_on=done_on, note=clean_text(note, "note", 300,
                               required=False), recorded_by=actor if getattr(actor, "is_authenticated", False) else None)
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        raise ValidationError({"deliverable": ["已记录完成"]}) from None
    audit_record(by=actor, action="create", obj=record, summary=f"{org.name} 完成 {deliverable.name}")
    return record


