"""Every write of the campaigns module, and the reads that have rules (the progress matrix, award results).

Each write is keyword-only, runs in a transaction and leaves an audit row. Views, API, the demo and commands call
these; nothing else writes.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Q
from django.utils import timezone

from xianfeng.core.audit import audit_record, changed, snapshot
from xianfeng.core.ids import normalise_text, parse_phone
from xianfeng.core.policy import require
from xianfeng.core.scoping import path_upper_bound, subtree_q
from xianfeng.core.text import clean_text
from xianfeng.orgs.models import PARTY_KINDS, GuidanceVisit, Member, Organisation, OrgKind, Person, Role

from .models import (
    PARTY_CHECKLIST,
    Advisor,
    AdvisorBatch,
    AdvisorLog,
    AwardCategory,
    AwardRound,
    Bulletin,
    Campaign,
    CampaignPlan,
    CommitteeScore,
    Deliverable,
    DeliverableRecord,
    Drive,
    DriveProgress,
    DriveTarget,
    DualBrandEvaluation,
    FollowUp,
    Meeting,
    Nomination,
    Objection,
    PlanEvent,
    Venture,
    VentureFigure,
    VentureSupport,
    Vote,
)

logger = logging.getLogger(__name__)


def _require(actor: Any, action: str, obj: Any, *, reason: str | None = None) -> None:
    """The policy's check before a write; `actor` None is the system (the demo, management commands, jobs)."""
    if actor is not None:
        require(actor, action, obj, reason=reason)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else timezone.now()


def _in_subtree(org: Organisation, root: Organisation) -> bool:
    return org.path.startswith(root.path)


# ---- campaigns, deliverables, plans -------------------------------------------------------------------------------

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


def required_orgs(campaign: Campaign, kinds: Sequence[str] | None = None):
    """Active organisations in the campaign's subtree of the given kinds (default: any deliverable's kinds)."""
    if kinds is None:
        kinds = sorted({k for d in campaign.deliverables.all() for k in d.org_kinds})
    return Organisation.objects.filter(subtree_q("path", campaign.org.path), kind__in=kinds, is_active=True)


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


@dataclass
class MatrixRow:
    org_id: int
    name: str
    full_name: str
    path: str
    cells: list[str]  # per deliverable: "na", "done", "missing", "overdue", or a plan status
    required: int = 0
    done: int = 0
    overdue: int = 0
    may_record: bool = False  # set by the page for the viewer

    @property
    def laggard(self) -> bool:
        return self.overdue > 0


@dataclass
class Matrix:
    deliverables: list[Deliverable]
    rows: list[MatrixRow] = field(default_factory=list)

    @property
    def laggards(self) -> list[MatrixRow]:
        return [r for r in self.rows if r.laggard]

    def column_totals(self) -> list[tuple[int, int]]:
        """(done, required) per deliverable."""
        totals = [[0, 0] for _ in self.deliverables]
        for row in self.rows:
            for i, cell in enumerate(row.cells):
                if cell != "na":
                    totals[i][1] += 1
                    totals[i][0] += cell in ("done", CampaignPlan.Status.ACCEPTED)
        return [(d, n) for d, n in totals]


def progress_matrix(campaign: Campaign, *, within: Organisation | None = None,
                    today: dt.date | None = None) -> Matrix:
    """Organisations × deliverables for the campaign's subtree (or `within`'s part of it), in three queries.

    A cell is "na" (not required of this kind), "done", "missing", "overdue" (missing after the due date) or, for the
    plan, its status — "overdue" when it is still a draft, returned or absent after the due date. A row with any
    overdue cell is a laggard.
    """
    today = today or timezone.localdate()
    deliverables = list(campaign.deliverables.all())
    kinds = sorted({k for d in deliverables for k in d.org_kinds})
    orgs = Organisation.objects.filter(subtree_q("path", campaign.org.path), kind__in=kinds, is_active=True)
    if within is not None:
        orgs = orgs.filter(subtree_q("path", within.path))
    org_rows = list(orgs.order_by("path").values_list("id", "name", "full_name", "path", "kind"))
    plans = dict(CampaignPlan.objects.filter(campaign=campaign).values_list("org_id", "status"))
    done = set(DeliverableRecord.objects.filter(deliverable__campaign=campaign).values_list("deliverable_id", "org_id"))
    matrix = Matrix(deliverables=deliverables)
    kind_sets = [set(d.org_kinds) for d in deliverables]
    late = [d.due < today for d in deliverables]
    waiting = (CampaignPlan.Status.DRAFT, CampaignPlan.Status.RETURNED, None)
    for org_id, name, full_name, path, kind in org_rows:
        row = MatrixRow(org_id=org_id, name=name, full_name=full_name, path=path, cells=[])
        for i, d in enumerate(deliverables):
            if kind not in kind_sets[i]:
                row.cells.append("na")
                continue
            row.required += 1
            if d.code == Deliverable.PLAN:
                status = plans.get(org_id)
                if status == CampaignPlan.Status.ACCEPTED:
                    row.done += 1
                if status in waiting and late[i]:
                    row.cells.append("overdue")
                    row.overdue += 1
                else:
                    row.cells.append(status or "missing")
            elif (d.pk, org_id) in done:
                row.done += 1
                row.cells.append("done")
            elif late[i]:
                row.cells.append("overdue")
                row.overdue += 1
            else:
                row.cells.append("missing")
        matrix.rows.append(row)
    return matrix


SUBMITTED_STATES = (CampaignPlan.Status.SUBMITTED, CampaignPlan.Status.ACCEPTED)


def plans_submitted_counts(orgs: list[Organisation], *, start: dt.date | None = None,
                           end: dt.date | None = None) -> dict[int, tuple[int, int]]:
    """For each org's subtree: (organisations whose plan is submitted or accepted, organisations required to submit),
    over every campaign that requires a plan and overlaps [start, end]. Three queries whatever the number of orgs."""
    items = Deliverable.objects.filter(code=Deliverable.PLAN).select_related("campaign__org")
    if start is not None:
        items = items.filter(campaign__end__gte=start)
    if end is not None:
        items = items.filter(campaign__start__lte=end)
    required: list[tuple[str, int]] = []  # (org path, 1 if submitted)
    for item in items:
        submitted = set(CampaignPlan.objects.filter(campaign_id=item.campaign_id, status__in=SUBMITTED_STATES)
                        .values_list("org_id", flat=True))
        for org_id, path in (Organisation.objects.filter(subtree_q("path", item.campaign.org.path),
                                                         kind__in=item.org_kinds, is_active=True)
                             .values_list("id", "path")):
            required.append((path, 1 if org_id in submitted else 0))
    required.sort()
    paths = [p for p, _ in required]
    prefix = [0]
    for _, s in required:
        prefix.append(prefix[-1] + s)
    result: dict[int, tuple[int, int]] = {}
    for org in orgs:
        lo = bisect.bisect_left(paths, org.path)
        upper = path_upper_bound(org.path)
        hi = len(paths) if upper is None else bisect.bisect_left(paths, upper)
        if hi > lo:
            result[org.pk] = (prefix[hi] - prefix[lo], hi - lo)
    return result


# ---- meetings and follow-ups ----------------------------------------------------------------------------------------


@transaction.atomic
def meeting_record(*, org: Organisation, kind: str, date: dt.date, title: str, chair: str = "", attendees: str = "",
                   minutes: str = "", campaign: Campaign | None = None,
                   follow_ups: list[dict[str, Any]] | None = None, actor: Any) -> Meeting:
    """A leading-group or standing-committee meeting, with its decisions' follow-ups (each: org, text, due)."""
    _require(actor, "admin", org)
    if campaign is not None:
        _require(actor, "admin", campaign)
    if date > timezone.localdate():
        raise ValidationError({"date": ["会议日期晚于今天"]})
    meeting = Meeting(org=org, kind=kind, date=date, title=clean_text(title, "title", 200), chair=normalise_text(chair),
                      attendees=attendees, minutes=minutes, campaign=campaign)
    meeting.full_clean()
    meeting.save()
    for item in follow_ups or []:
        follow_up_create(meeting=meeting, org=item["org"], text=item["text"], due=item["due"], actor=actor)
    audit_record(by=actor, action="create", obj=meeting, summary=f"会议 {meeting.title}")
    return meeting


@transaction.atomic
def follow_up_create(*, org: Organisation, text: str, due: dt.date, meeting: Meeting | None = None,
                     visit: GuidanceVisit | None = None, actor: Any) -> FollowUp:
    """A follow-up task from a meeting (the actor administers it and `org`) or a guidance visit (the actor may
    change the visit), owned by `org`."""
    if (meeting is None) == (visit is None):
        raise ValidationError({"source": ["后续事项须来自一次会议或一次指导"]})
    if meeting is not None:
        _require(actor, "admin", meeting)
        _require(actor, "admin", org)
    else:
        _require(actor, "change", visit)
    source = meeting if meeting is not None else visit
    assert source is not None
    owner = meeting.org if meeting is not None else visit.contact_point.org  # type: ignore[union-attr]
    if not _in_subtree(org, owner):
        raise ValidationError({"org": ["责任单位须在会议或联系点单位的范围内"]})
    source_date = source.date
    if due < source_date:
        raise ValidationError({"due": ["完成时限早于会议或指导日期"]})
    item = FollowUp(meeting=meeting, visit=visit, org=org, text=clean_text(text, "text", 500), due=due)
    item.full_clean()
    item.save()
    audit_record(by=actor, action="create", obj=item, summary=f"后续事项 {org.name}：{item.text}")
    return item


@transaction.atomic
def follow_up_close(*, follow_up: FollowUp, done_on: dt.date, note: str, actor: Any) -> FollowUp:
    """Mark a follow-up done, with what was done. A done one cannot be closed again."""
    _require(actor, "change", follow_up)
    note = clean_text(note, "note", 500)
    if done_on > timezone.localdate():
        raise ValidationError({"done_on": ["完成日期晚于今天"]})
    if FollowUp.objects.filter(pk=follow_up.pk, done_on__isnull=True).update(done_on=done_on, done_note=note) != 1:
        raise ValidationError({"done_on": ["该事项已落实"]})
    follow_up.refresh_from_db()
    audit_record(by=actor, action="update", obj=follow_up, after={"done_on": str(done_on), "note": note},
                 summary=f"落实后续事项 {follow_up.text}")
    return follow_up


# ---- awards ---------------------------------------------------------------------------------------------------------

DEFAULT_CATEGORIES: list[tuple[str, str, str, int]] = [  # (code, name, nominee kind, quota): 1 + 9
    ("advanced_org", "先进基层党组织", "organisation", 10),
    ("innovation", "务实创新先锋", "member", 10),
    ("prosperity", "强村富民先锋", "member", 10),
    ("harmony", "文明和谐先锋", "member", 10),
    ("service", "为民服务先锋", "member", 10),
    ("enterprise", "创业创新先锋", "member", 10),
    ("integrity", "廉洁自律先锋", "member", 10),
    ("volunteer", "志愿服务先锋", "member", 10),
    ("grid", "网格管理先锋", "member", 10),
    ("youth", "青春建功先锋", "member", 10),
]


class VoteRefused(PermissionDenied):
    """A vote the round does not take: outside the window, by someone who is not a registered resident."""

    def __init__(self, message: str, round: AwardRound | None = None):
        super().__init__(message)
        self.message = message
        self.round = round


class AlreadyVoted(Exception):
    """The voter (this account, or another account of the same person) already voted in this category."""


class RateLimited(Exception):
    """Too many votes from one address in the last hour."""


class ResultsHidden(PermissionDenied):
    """Vote counts are secret until the voting window closes."""


@transaction.atomic
def award_round_create(*, org: Organisation, name: str, vote_start: dt.datetime, vote_end: dt.datetime,
                       categories: list[tuple[str, str, str, int]] | None = None, vote_weight: int = 40,
                       publicity_days: int = 7, votes_per_ip_per_hour: int = 300, actor: Any) -> AwardRound:
    """A round with its categories, each (code, name, nominee kind, quota) (default: 先进基层党组织 + 9 pioneer
    categories), the vote window, the public vote's weight (%) in the final score, the publicity days. The actor
    administers `org`."""
    _require(actor, "admin", org)
    if vote_end <= vote_start:
        raise ValidationError({"vote_end": ["评议结束时间须晚于开始时间"]})
    if not isinstance(vote_weight, int) or not 0 <= vote_weight <= 100:
        raise ValidationError({"vote_weight": ["权重须在0到100之间"]})
    if not isinstance(publicity_days, int) or not 1 <= publicity_days <= 60:
        raise ValidationError({"publicity_days": ["公示天数须在1到60之间"]})
    if not isinstance(votes_per_ip_per_hour, int) or votes_per_ip_per_hour < 0:
        raise ValidationError({"votes_per_ip_per_hour": ["须为非负整数"]})
    rows = list(categories if categories is not None else DEFAULT_CATEGORIES)
    if not rows:
        raise ValidationError({"categories": ["至少设置一个类别"]})
    if len({str(code) for code, *_ in rows}) != len(rows):
        raise ValidationError({"categories": ["类别代码不能重复"]})
    award = AwardRound(org=org, name=clean_text(name, "name", 200), vote_start=vote_start, vote_end=vote_end,
                       vote_weight=vote_weight, publicity_days=publicity_days,
                       votes_per_ip_per_hour=votes_per_ip_per_hour)
    award.full_clean()
    award.save()
    for i, (code, cname, kind, quota) in enumerate(rows):
        category = AwardCategory(round=award, code=code, name=clean_text(cname, "categories", 100), nominee_kind=kind,
                                 quota=quota, order=i)
        if not isinstance(quota, int) or quota < 1:
            raise ValidationError({"categories": [f"类别“{category.name}”的名额须为正整数"]})
        try:
            category.full_clean(exclude=["round"])
        except ValidationError as exc:
            raise ValidationError({"categories": [f"类别“{category.name}”：{'；'.join(exc.messages)}"]}) from None
        category.save()
    audit_record(by=actor, action="create", obj=award, after=snapshot(award), summary=f"新建评创 {award.name}")
    return award


def platform_evidence(org: Organisation) -> dict[str, dict[str, Any]]:
    """The organisation's figures from every registered rate, {key: {label, x, n}} — the nomination's evidence."""
    from xianfeng.core.rates import org_rates

    evidence: dict[str, dict[str, Any]] = {}
    for key, rate in org_rates().items():
        try:
            with transaction.atomic():  # a savepoint: a failing provider must not spoil the caller's transaction
                x, n = rate.compute([org]).get(org.pk, (0, 0))
        except Exception:  # another module's provider failing must not block a nomination
            logger.exception("rate %s failed for organisation %s", key, org.pk)
            continue
        if n:
            evidence[key] = {"label": rate.label, "x": x, "n": n}
    return evidence


@transaction.atomic
def nomination_create(*, category: AwardCategory, nominated_by: Organisation, citation: str,
                      nominee_org: Organisation | None = None, nominee_member: Member | None = None,
                      now: dt.datetime | None = None, evidence: dict | None = None, actor: Any) -> Nomination:
    """An organisation nominates a unit or member of its own subtree, before the vote opens. The evidence is taken
    from the platform's figures for the nominee's organisation unless given (the demo's bulk path gives it). The
    actor may change the nominating organisation, which lies in the round's subtree."""
    _require(actor, "change", nominated_by)
    award = category.round
    if not _in_subtree(nominated_by, award.org):
        raise ValidationError({"nominated_by": ["推荐单位不在本评创范围内"]})
    if award.status != AwardRound.Status.NOMINATING or _now(now) >= award.vote_start:
        raise ValidationError({"category": ["推荐已截止"]})
    if category.nominee_kind == AwardCategory.NomineeKind.ORGANISATION:
        if nominee_org is None or nominee_member is not None:
            raise ValidationError({"nominee_org": ["本类别推荐组织"]})
        subject, name = nominee_org, nominee_org.name
    else:
        if nominee_member is None or nominee_org is not None:
            raise ValidationError({"nominee_member": ["本类别推荐党员"]})
        subject, name = nominee_member.org, nominee_member.person.name
    if not _in_subtree(subject, nominated_by):
        raise ValidationError({"nominee": ["只能推荐本组织范围内的组织或党员"]})
    duplicate = Nomination.objects.filter(category=category, nominee_org=nominee_org, nominee_member=nominee_member)
    if duplicate.exists():
        raise ValidationError({"nominee": ["已被推荐"]})
    nomination = Nomination(category=category, nominated_by=nominated_by, nominee_org=nominee_org,
                            nominee_member=nominee_member, display_name=name, citation=clean_text(citation, "citation", 5000),
                            evidence=evidence if evidence is not None else platform_evidence(subject))
    nomination.full_clean()
    nomination.save()
    audit_record(by=actor, action="create", obj=nomination, summary=f"推荐 {name}（{category.name}）")
    return nomination


@transaction.atomic
def award_round_open_voting(*, award: AwardRound, actor: Any) -> AwardRound:
    """Close nominations: the round shows its nominees and takes votes inside its window."""
    _require(actor, "admin", award)
    if AwardRound.objects.filter(pk=award.pk, status=AwardRound.Status.NOMINATING).update(
            status=AwardRound.Status.VOTING) != 1:
        raise ValidationError({"status": ["评创不在推荐阶段"]})
    award.refresh_from_db()
    audit_record(by=actor, action="update", obj=award, after={"status": award.status}, summary=f"{award.name} 开始群众评议")
    return award


def is_registered_resident(user: Any) -> bool:
    """A signed-in user with a resident role, or whose person is on a residents' roll."""
    if not getattr(user, "is_authenticated", False):
        return False
    if Role.objects.filter(user=user, kind=Role.Kind.RESIDENT).exists():
        return True
    return bool(user.person_id) and Person.objects.filter(pk=user.person_id, resident__isnull=False).exists()


def window_text(award: AwardRound) -> str:
    start = timezone.localtime(award.vote_start)
    end = timezone.localtime(award.vote_end)
    return f"{start:%Y-%m-%d %H:%M} 至 {end:%Y-%m-%d %H:%M}"


def vote_cast(*, nomination: Nomination, user: Any, ip: str | None = None, now: dt.datetime | None = None) -> Vote:
    """One vote by a registered resident for `nomination` inside the round's window.

    Raises VoteRefused (outside the window, not a resident, round not open), RateLimited (too many votes from one
    address this hour), AlreadyVoted (one per account and one per person in each category — so a second account of
    the same person cannot vote again).

    The window and the nomination's state are checked on the objects in hand; everything else is one INSERT … SELECT
    (`_insert_vote`): it inserts only if the voter is a registered resident and the address is under its hourly limit,
    and the unique indexes decide "one vote" (ON CONFLICT DO NOTHING). On PostgreSQL the vote and its audit row are one
    statement; elsewhere two, in one transaction. Only a refused vote costs further queries, to say why. Concurrent
    votes from one address may pass its limit by at most the number of them in flight (the limit is a brake, the
    unique indexes are the rule).
    """
    now = _now(now)
    category = nomination.category
    award = category.round
    if award.status != AwardRound.Status.VOTING or not award.vote_start <= now < award.vote_end:
        raise VoteRefused(f"评议时间为 {window_text(award)}", award)
    if not getattr(user, "is_authenticated", False):
        raise VoteRefused("只有登记的居民可以参加评议", award)
    if nomination.status != Nomination.Status.NOMINATED:
        raise VoteRefused("该推荐对象不在评议之列", award)
    limit = award.votes_per_ip_per_hour if ip else 0
    vote_id = _insert_vote(category_id=category.pk, nomination_id=nomination.pk, user_id=user.pk,
                           person_id=user.person_id, ip=ip, now=now, limit=limit,
                           summary=f"评议投票 {category.name}"[:300])
    if vote_id is None:  # say why, most common reason first
        who = Q(voter=user) | Q(person_id=user.person_id) if user.person_id else Q(voter=user)
        if Vote.objects.filter(who, category=category).exists():
            raise AlreadyVoted(category.pk)
        if not is_registered_resident(user):
            raise VoteRefused("只有登记的居民可以参加评议", award)
        if limit and Vote.objects.filter(ip=ip, at__gte=now - dt.timedelta(hours=1)).count() >= limit:
            raise RateLimited(ip)
        raise AlreadyVoted(category.pk)
    return Vote(pk=vote_id, category=category, nomination=nomination, voter=user, person_id=user.person_id, ip=ip,
                at=now)


def _vote_sql(vendor: str, with_limit: bool) -> tuple[str, str]:
    """(the vote's INSERT … SELECT, the audit row's INSERT) for the backend; cached per (vendor, with_limit)."""
    key = (vendor, with_limit)
    if key not in _VOTE_SQL:
        from django.db import connection

        from xianfeng.core.models import AuditEvent
        from xianfeng.orgs.models import Resident

        q = connection.ops.quote_name
        vote, role, resident = (q(m._meta.db_table) for m in (Vote, Role, Resident))
        audit = q(AuditEvent._meta.db_table)
        # PostgreSQL types the parameters of a SELECT list only when told (NULL and text would not fit).
        pg = vendor == "postgresql"
        ip, person, at = (("CAST(%(ip)s AS inet)", "CAST(%(person)s AS bigint)", "CAST(%(at)s AS timestamptz)")
                          if pg else ("%(ip)s", "%(person)s", "%(at)s"))
        # The table names come from the models' metadata, quoted; every value is a parameter.
        limit = (f" AND (SELECT COUNT(*) FROM (SELECT 1 FROM {vote} WHERE ip = {ip} AND at >= %(since)s "  # noqa: S608
                 f"LIMIT %(limit)s) recent) < %(limit)s") if with_limit else ""
        insert = (f"INSERT INTO {vote} (category_id, nomination_id, voter_id, person_id, ip, at) "  # noqa: S608
                  f"SELECT %(category)s, %(nomination)s, %(voter)s, {person}, {ip}, {at} "
                  f"WHERE (EXISTS (SELECT 1 FROM {role} WHERE user_id = %(voter)s AND kind = 'resident') "
                  f"OR EXISTS (SELECT 1 FROM {resident} WHERE person_id = {person})){limit} "
                  f"ON CONFLICT DO NOTHING RETURNING id")
        columns = f"INSERT INTO {audit} (at, actor_id, action, model, object_id, summary, ip) "
        if pg:
            _VOTE_SQL[key] = (f"WITH v AS ({insert}) {columns}SELECT {at}, %(voter)s, 'create', "  # noqa: S608
                              f"'campaigns.Vote', v.id::text, CAST(%(summary)s AS text), {ip} FROM v "
                              f"RETURNING object_id", "")
        else:
            _VOTE_SQL[key] = (insert, f"{columns}VALUES (%(at)s, %(voter)s, 'create', 'campaigns.Vote', %(id)s, "
                                      f"%(summary)s, %(ip)s)")
    return _VOTE_SQL[key]


_VOTE_SQL: dict[tuple[str, bool], tuple[str, str]] = {}


def _insert_vote(*, category_id: int, nomination_id: int, user_id: int, person_id: int | None, ip: str | None,
                 now: dt.datetime, limit: int, summary: str) -> int | None:
    """Insert the vote (and its audit row) if the rules let it in; its id, or None when it was not inserted."""
    from django.db import connection

    at = connection.ops.adapt_datetimefield_value(now)
    params = {"category": category_id, "nomination": nomination_id, "voter": user_id, "person": person_id,
              "ip": connection.ops.adapt_ipaddressfield_value(ip) if ip else None, "at": at, "limit": limit,
              "since": connection.ops.adapt_datetimefield_value(now - dt.timedelta(hours=1)), "summary": summary}
    vote_sql, audit_sql = _vote_sql(connection.vendor, bool(limit))
    if connection.vendor == "postgresql":
        # One statement is its own transaction (or part of the caller's); a server-side prepared statement on the
        # driver's connection skips parsing and planning it again for every vote.
        import psycopg

        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(vote_sql, params, prepare=True)
            row = cursor.fetchone()
        return None if row is None else int(row[0])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(vote_sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        vote_id = int(row[0])
        cursor.execute(audit_sql, {**params, "id": str(vote_id)})
    return vote_id


def voted_categories(award: AwardRound, user: Any) -> dict[int, int]:
    """{category id: nomination id} the user (or another account of the same person) voted for in this round."""
    if not getattr(user, "is_authenticated", False):
        return {}
    who = Q(voter=user)
    if user.person_id:
        who |= Q(person_id=user.person_id)
    return dict(Vote.objects.filter(who, category__round=award).values_list("category_id", "nomination_id"))


@transaction.atomic
def committee_score(*, nomination: Nomination, score: int, actor: Any) -> CommitteeScore:
    """One committee member's (the actor's: an administrator or inspector over the round) score 0–100 for a nomination, during
    voting or scoring; once per scorer."""
    from .policies import require_scorer

    award = nomination.category.round
    require_scorer(actor, award)
    if award.status not in (AwardRound.Status.VOTING, AwardRound.Status.SCORING):
        raise ValidationError({"score": ["当前不在评审阶段"]})
    if not isinstance(score, int) or not 0 <= score <= 100:
        raise ValidationError({"score": ["评分须为0到100的整数"]})
    try:
        with transaction.atomic():
            row = CommitteeScore.objects.create(nomination=nomination, scorer=actor, score=score)
    except IntegrityError:
        raise ValidationError({"score": ["已评分"]}) from None
    audit_record(by=actor, action="create", obj=row, summary=f"评审打分 {nomination.display_name}：{score}")
    return row


@dataclass
class ResultRow:
    nomination: Nomination
    votes: int
    vote_score: Decimal
    committee: Decimal | None
    final: Decimal


def _q2(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def round_results(award: AwardRound, *, now: dt.datetime | None = None) -> dict[int, list[ResultRow]]:
    """{category id: rows by final score} — votes are secret until the window closes (raises ResultsHidden).

    vote score = votes / the category's most votes × 100; final = w × vote score + (100 − w) % × committee average
    (a nomination no one scored counts 0 there).
    """
    if _now(now) < award.vote_end:
        raise ResultsHidden(f"评议结果将于 {timezone.localtime(award.vote_end):%Y-%m-%d %H:%M} 后公布")
    nominations = (Nomination.objects.filter(category__round=award).select_related("category")
                   .annotate(n_votes=Count("votes", distinct=True), avg_score=Avg("scores__score")))
    by_category: dict[int, list[Nomination]] = defaultdict(list)
    for n in nominations:
        by_category[n.category_id].append(n)
    w = Decimal(award.vote_weight) / 100
    results: dict[int, list[ResultRow]] = {}
    for category_id, items in by_category.items():
        counts = {n.pk: n.n_votes for n in items}  # type: ignore[attr-defined]  # annotated above
        averages = {n.pk: n.avg_score for n in items}  # type: ignore[attr-defined]
        top = max(counts.values(), default=0)
        rows = []
        for n in items:
            vote_score = _q2(Decimal(counts[n.pk]) * 100 / top) if top else Decimal("0.00")
            committee = _q2(averages[n.pk]) if averages[n.pk] is not None else None
            final = _q2(w * vote_score + (1 - w) * (committee or 0))
            rows.append(ResultRow(n, counts[n.pk], vote_score, committee, final))
        rows.sort(key=lambda r: (-r.final, -r.votes, r.nomination.pk))
        results[category_id] = rows
    return results


@transaction.atomic
def award_round_start_publicity(*, award: AwardRound, now: dt.datetime | None = None, actor: Any) -> AwardRound:
    """After the vote: rank each category, mark its top `quota` as proposed winners and publicise them (公示)."""
    _require(actor, "admin", award)
    now = _now(now)
    award = AwardRound.objects.select_for_update().get(pk=award.pk)
    if award.status not in (AwardRound.Status.VOTING, AwardRound.Status.SCORING) or now < award.vote_end:
        raise ValidationError({"status": ["评议结束后才能公示"]})
    quotas = dict(award.categories.values_list("id", "quota"))
    for category_id, rows in round_results(award, now=now).items():
        for rank, row in enumerate(r for r in rows if r.nomination.status != Nomination.Status.DISQUALIFIED):
            n = row.nomination
            n.committee_score, n.final_score = row.committee, row.final
            n.status = Nomination.Status.AWARDED if rank < quotas[category_id] else Nomination.Status.NOT_AWARDED
            n.save(update_fields=["committee_score", "final_score", "status"])
    award.status = AwardRound.Status.PUBLICITY
    award.publicity_start = now
    award.save(update_fields=["status", "publicity_start"])
    audit_record(by=actor, action="update", obj=award, after={"status": award.status}, summary=f"{award.name} 公示")
    return award


def publicity_end(award: AwardRound) -> dt.datetime | None:
    if award.publicity_start is None:
        return None
    return award.publicity_start + dt.timedelta(days=award.publicity_days)


@transaction.atomic
def objection_lodge(*, nomination: Nomination, name: str, contact: str, text: str,
                    now: dt.datetime | None = None) -> Objection:
    """Anyone may object to a proposed winner during publicity; a name and a reachable phone are required."""
    award = nomination.category.round
    now = _now(now)
    end = publicity_end(award)
    if award.status != AwardRound.Status.PUBLICITY or end is None or now >= end:
        raise ValidationError({"nomination": ["不在公示期内"]})
    if nomination.status != Nomination.Status.AWARDED:
        raise ValidationError({"nomination": ["只能对公示的拟表彰对象提出异议"]})
    errors: dict[str, list[str]] = {}
    try:
        phone = parse_phone(contact)
        if not phone:
            errors["contact"] = ["请留下联系电话，以便答复"]
    except ValidationError as exc:
        errors["contact"] = exc.messages
    clean_name = normalise_text(name)
    if not clean_name:
        errors["name"] = ["请填写姓名"]
    elif len(clean_name) > 50:
        errors["name"] = ["姓名过长"]
    body = str(text or "").strip()
    if not body:
        errors["text"] = ["请填写异议内容"]
    elif len(body) > 3000:
        errors["text"] = ["不能超过3000个字符"]
    if errors:
        raise ValidationError(errors)
    objection = Objection.objects.create(nomination=nomination, name=clean_name, contact=phone, text=body)
    audit_record(by=None, action="create", obj=objection, summary=f"公示异议 {nomination.display_name}")
    return objection


@transaction.atomic
def objection_answer(*, objection: Objection, answer: str, upheld: bool, actor: Any) -> Objection:
    """Answer an objection (an administrator of the round); an upheld one disqualifies the nomination."""
    _require(actor, "admin", objection.nomination.category.round)
    answer = clean_text(answer, "answer", 3000)
    if Objection.objects.filter(pk=objection.pk, answered_at__isnull=True).update(
            answer=answer, upheld=upheld, answered_at=timezone.now(),
            answered_by=actor if getattr(actor, "is_authenticated", False) else None) != 1:
        raise ValidationError({"answer": ["该异议已答复"]})
    objection.refresh_from_db()
    if upheld:
        Nomination.objects.filter(pk=objection.nomination_id).update(status=Nomination.Status.DISQUALIFIED)
    audit_record(by=actor, action="update", obj=objection, after={"upheld": upheld},
                 summary=f"答复异议 {objection.nomination.display_name}：{'成立' if upheld else '不成立'}")
    return objection


@transaction.atomic
def award_round_publish(*, award: AwardRound, now: dt.datetime | None = None, actor: Any) -> AwardRound:
    """After publicity, with every objection answered: publish the final list."""
    _require(actor, "admin", award)
    now = _now(now)
    award = AwardRound.objects.select_for_update().get(pk=award.pk)
    end = publicity_end(award)
    if award.status != AwardRound.Status.PUBLICITY or end is None or now < end:
        raise ValidationError({"status": ["公示期满后才能公布"]})
    if Objection.objects.filter(nomination__category__round=award, answered_at__isnull=True).exists():
        raise ValidationError({"status": ["还有异议未答复"]})
    award.status = AwardRound.Status.PUBLISHED
    award.published_at = now
    award.save(update_fields=["status", "published_at"])
    audit_record(by=actor, action="update", obj=award, after={"status": award.status}, summary=f"{award.name} 公布")
    return award


# ---- enterprise advisors ------------------------------------------------------------------------------------------

DEVELOPMENT_GROWTH_MIN = Decimal("8.0")  # 发展强: output grew at least this much (%) and the enterprise paid tax
PARTY_CHECKLIST_MIN = 5  # 党建强: at least this many of the checklist's items met


@transaction.atomic
def advisor_batch_create(*, org: Organisation, name: str, start: dt.date, end: dt.date, actor: Any) -> AdvisorBatch:
    """A batch of advisors placed by `org` (the actor administers it), with their common term."""
    _require(actor, "admin", org)
    if end <= start:
        raise ValidationError({"end": ["任期结束须晚于开始"]})
    batch = AdvisorBatch(org=org, name=clean_text(name, "name", 100), start=start, end=end)
    batch.full_clean()
    batch.save()
    audit_record(by=actor, action="create", obj=batch, summary=f"红领批次 {batch.name}")
    return batch


@transaction.atomic
def advisor_place(*, batch: AdvisorBatch, person: Person, enterprise: Organisation, former_post: str = "",
                  actor: Any) -> Advisor:
    """Place `person` in `enterprise` (a non-public enterprise in the batch's subtree) for the batch's term.

    The actor administers the batch and the enterprise, and may change the person: a person whose organisation is
    outside the actor's scope is refused (PersonOutOfScope, on the ID number) before anything is written."""
    from xianfeng.orgs.services import PersonOutOfScope, person_holder

    from .policies import may_place_person

    _require(actor, "admin", batch)
    _require(actor, "admin", enterprise)
    if not may_place_person(actor, person):
        holder, is_member = person_holder(person)
        raise PersonOutOfScope(person, holder, is_member=is_member)
    if enterprise.kind != OrgKind.ENTERPRISE or not _in_subtree(enterprise, batch.org):
        raise ValidationError({"enterprise": ["红领只能选派到本范围内的非公企业"]})
    if Advisor.objects.filter(batch=batch, enterprise=enterprise).exists():
        raise ValidationError({"enterprise": ["该企业本批次已有红领"]})
    advisor = Advisor(batch=batch, person=person, enterprise=enterprise, former_post=normalise_text(former_post)[:100])
    advisor.full_clean()
    advisor.save()
    audit_record(by=actor, action="create", obj=advisor, summary=f"选派红领 {person.name} → {enterprise.name}")
    return advisor


@transaction.atomic
def advisor_log_record(*, advisor: Advisor, month: dt.date, text: str, hours: int = 0, actor: Any) -> AdvisorLog:
    """The advisor's log for a month inside the term and not in the future; one per month (the actor may change the
    advisor's enterprise)."""
    _require(actor, "change", advisor)
    month = month.replace(day=1)
    batch = advisor.batch
    if month < batch.start.replace(day=1) or month > batch.end or month > timezone.localdate():
        raise ValidationError({"month": ["月份不在任期内或晚于本月"]})
    if AdvisorLog.objects.filter(advisor=advisor, month=month).exists():
        raise ValidationError({"month": ["该月已有工作记录"]})
    log = AdvisorLog(advisor=advisor, month=month, text=clean_text(text, "text", 4000), hours=hours)
    log.full_clean()
    log.save()
    audit_record(by=actor, action="create", obj=log, summary=f"红领工作记录 {advisor.person.name} {month:%Y-%m}")
    return log


def dual_brand_verdict(*, output_growth_pct: Decimal, tax_wan: Decimal, checklist: dict[str, bool]) -> tuple[bool, bool]:
    development = Decimal(output_growth_pct) >= DEVELOPMENT_GROWTH_MIN and Decimal(tax_wan) > 0
    party = sum(1 for code, _ in PARTY_CHECKLIST if checklist.get(code)) >= PARTY_CHECKLIST_MIN
    return development, party


@transaction.atomic
def dual_brand_evaluate(*, enterprise: Organisation, year: int, output_wan: Decimal, output_growth_pct: Decimal,
                        tax_wan: Decimal, employees: int, checklist: dict[str, bool],
                        actor: Any) -> DualBrandEvaluation:
    """The yearly 双强 evaluation: 发展强 and 党建强 decided by the rules above, from the figures and the checklist.

    A checklist with no item met is a valid evaluation (not 党建强); every item is stored as met or not. A year after
    the current one is refused. The actor administers the enterprise."""
    _require(actor, "admin", enterprise)
    unknown = set(checklist) - {code for code, _ in PARTY_CHECKLIST}
    if unknown:
        raise ValidationError({"checklist": [f"未知的清单项：{', '.join(sorted(unknown))}"]})
    if enterprise.kind != OrgKind.ENTERPRISE:
        raise ValidationError({"enterprise": ["只评价非公企业"]})
    this_year = timezone.localdate().year
    if not isinstance(year, int) or isinstance(year, bool) or year > this_year:
        raise ValidationError({"year": [f"不能考评未来的年度：今年是{this_year}年，年度须不晚于{this_year}"]})
    development, party = dual_brand_verdict(output_growth_pct=output_growth_pct, tax_wan=tax_wan, checklist=checklist)
    row = DualBrandEvaluation(enterprise=enterprise, year=year, output_wan=output_wan,
                              output_growth_pct=output_growth_pct, tax_wan=tax_wan, employees=employees,
                              checklist={code: bool(checklist.get(code)) for code, _ in PARTY_CHECKLIST},
                              development_strong=development, party_strong=party)
    row.full_clean()
    row.save()
    audit_record(by=actor, action="create", obj=row, summary=f"双强评价 {enterprise.name} {year}")
    return row


# ---- ventures ----------------------------------------------------------------------------------------------------


@transaction.atomic
def venture_create(*, org: Organisation, name: str, kind: str, founded: dt.date, founders: list[Member] | None = None,
                   description: str = "", actor: Any) -> Venture:
    """A member venture in `org` (the actor may change it)."""
    _require(actor, "change", org)
    venture = Venture(org=org, name=clean_text(name, "name", 200), kind=kind, founded=founded, description=description)
    venture.full_clean()
    venture.save()
    if founders:
        venture.founders.set(founders)
    audit_record(by=actor, action="create", obj=venture, summary=f"创业项目 {venture.name}")
    return venture


@transaction.atomic
def venture_figure_record(*, venture: Venture, date: dt.date, members: int, area_mu: Decimal, households: int,
                          income_per_household_yuan: int = 0, actor: Any) -> VentureFigure:
    """A venture's figures on one date (the actor may change the venture)."""
    _require(actor, "change", venture)
    if date < venture.founded or date > timezone.localdate():
        raise ValidationError({"date": ["日期须在创办之后、今天之前"]})
    if VentureFigure.objects.filter(venture=venture, date=date).exists():
        raise ValidationError({"date": ["该日期已有数据"]})
    row = VentureFigure(venture=venture, date=date, members=members, area_mu=Decimal(area_mu), households=households,
                        income_per_household_yuan=income_per_household_yuan)
    row.full_clean()
    row.save()
    audit_record(by=actor, action="create", obj=row, summary=f"{venture.name} {date} 数据")
    return row


def venture_fund(org: Organisation, actor: Any = None) -> Any:
    """The support fund (创业扶助资金) of `org`, in fen, never below zero."""
    from xianfeng.ledger.models import OwnerType, Unit
    from xianfeng.ledger.services import account_open

    return account_open(name=f"{org.name}创业扶助资金", owner_type=OwnerType.FUND, owner_id=org.pk, unit=Unit.CNY,
                        org=org, floor=0, purpose="venture_fund", actor=actor)


@transaction.atomic
def venture_fund_allocate(*, org: Organisation, amount_fen: int, key: str, actor: Any):
    """Put budget money into `org`'s support fund (from the budget system account); the actor administers `org`."""
    _require(actor, "admin", org)
    from xianfeng.ledger.models import OwnerType, Unit
    from xianfeng.ledger.services import account_open, ledger_post

    budget = account_open(name="财政预算（创业扶助）", owner_type=OwnerType.SYSTEM, owner_id=0, unit=Unit.CNY,
                          purpose="venture_budget", actor=actor)
    return ledger_post(entries=[(budget, -amount_fen), (venture_fund(org, actor), amount_fen)],
                       memo=f"{org.name}创业扶助资金拨付", kind="campaigns.venture_fund", key=key, actor=actor)


@transaction.atomic
def venture_support_record(*, venture: Venture, kind: str, date: dt.date, title: str, amount_fen: int = 0,
                           fund_org: Organisation | None = None, key: str = "", actor: Any) -> VentureSupport:
    """Support given to a venture. A grant moves `amount_fen` from `fund_org`'s support fund to the venture's account
    on the ledger (refused if the fund would go below zero); `key` makes a retried grant post once. The actor may
    change the venture, and for a grant administers the fund's organisation."""
    _require(actor, "change", venture)
    from xianfeng.ledger.models import OwnerType, Unit
    from xianfeng.ledger.services import account_open, ledger_post

    if kind not in VentureSupport.Kind.values:
        raise ValidationError({"kind": ["未知的扶助类型"]})
    support = VentureSupport(venture=venture, kind=kind, date=date, title=clean_text(title, "title", 200))
    if kind == VentureSupport.Kind.GRANT:
        if not isinstance(amount_fen, int) or amount_fen <= 0:
            raise ValidationError({"amount_fen": ["扶助资金须为正数"]})
        if fund_org is None or not _in_subtree(venture.org, fund_org):
            raise ValidationError({"fund_org": ["请选择覆盖该项目的扶助资金"]})
        _require(actor, "admin", fund_org)
        target = account_open(name=f"{venture.name}（扶助）", owner_type=OwnerType.ORGANISATION,
                              owner_id=venture.org_id, unit=Unit.CNY, org=venture.org, purpose=f"venture:{venture.pk}",
                              actor=actor)
        support.amount_fen = amount_fen
        support.ledger_transaction = ledger_post(
            entries=[(venture_fund(fund_org, actor), -amount_fen), (target, amount_fen)],
            memo=f"创业扶助：{venture.name} {support.title}", kind="campaigns.venture_grant",
            key=key or f"venture_support:{venture.pk}:{uuid.uuid4()}", actor=actor)
        if VentureSupport.objects.filter(ledger_transaction=support.ledger_transaction).exists():
            raise ValidationError({"key": ["该笔扶助资金已登记"]})
        support.save()
    else:
        support.save()
    audit_record(by=actor, action="create", obj=support, summary=f"{venture.name} {support.get_kind_display()}")
    return support


# ---- the 100-day drive -------------------------------------------------------------------------------------------


@transaction.atomic
def drive_create(*, org: Organisation, name: str, start: dt.date, end: dt.date,
                 targets: list[tuple[Organisation, str, int]] | None = None, actor: Any) -> Drive:
    """A drive with targets (organisation, metric, number), each organisation in `org`'s subtree; the actor
    administers `org` and each target's organisation."""
    _require(actor, "admin", org)
    if end <= start:
        raise ValidationError({"end": ["结束日期须晚于开始日期"]})
    drive = Drive(org=org, name=clean_text(name, "name", 200), start=start, end=end)
    drive.full_clean()
    drive.save()
    for target_org, metric, number in targets or []:
        drive_target_set(drive=drive, org=target_org, metric=metric, target=number, actor=actor)
    audit_record(by=actor, action="create", obj=drive, summary=f"新建行动 {drive.name}")
    return drive


@transaction.atomic
def drive_target_set(*, drive: Drive, org: Organisation, metric: str, target: int, actor: Any) -> DriveTarget:
    """One target of a drive (the actor administers the drive and the target's organisation)."""
    _require(actor, "admin", drive)
    _require(actor, "admin", org)
    if not _in_subtree(org, drive.org):
        raise ValidationError({"org": ["目标单位不在行动范围内"]})
    if not isinstance(target, int) or target <= 0:
        raise ValidationError({"target": ["目标数须为正整数"]})
    row = DriveTarget(drive=drive, org=org, metric=metric, target=target)
    row.full_clean()
    row.save()
    audit_record(by=actor, action="create", obj=row, summary=f"{drive.name} 目标 {org.name} {row.get_metric_display()}")
    return row


@transaction.atomic
def drive_progress_report(*, target: DriveTarget, date: dt.date, achieved: int, note: str = "", reason: str = "",
                          actor: Any) -> DriveProgress:
    """Report the number achieved so far on a target, as of `date` (inside the drive, not in the future).

    Every report is a new row; none is changed. A report dated before the latest one is refused. One on the latest
    report's date, or with a lower number, is a correction of that report: it needs a `reason` and names the row it
    corrects. The actor may change the target's organisation."""
    _require(actor, "change", target)
    drive = target.drive
    if not isinstance(date, dt.date) or not drive.start <= date <= drive.end or date > timezone.localdate():
        raise ValidationError({"date": ["日期须在行动期间且不晚于今天"]})
    if not isinstance(achieved, int) or isinstance(achieved, bool) or achieved < 0:
        raise ValidationError({"achieved": ["完成数须为非负整数"]})
    note = clean_text(note, "note", 300, required=False)
    reason = clean_text(reason, "reason", 300, required=False)
    latest = (DriveProgress.objects.select_for_update().filter(target=target).order_by("-date", "-id").first())
    corrects = None
    if latest is not None:
        if date < latest.date:
            raise ValidationError({"date": [f"日期早于最近一次报告（{latest.date:%Y-%m-%d}）；"
                                            "如需更正，请按最近日期报告并写明更正原因"]})
        if date == latest.date or achieved < latest.achieved:
            if not reason:
                raise ValidationError({"reason": [f"这是对 {latest.date:%Y-%m-%d} 报告（{latest.achieved}）的更正，"
                                                  "须写明更正原因"]})
            corrects = latest
    if corrects is None and reason:
        raise ValidationError({"reason": ["只有更正（同一日期或数字减少）才填写更正原因"]})
    row = DriveProgress.objects.create(target=target, date=date, achieved=achieved, note=note, corrects=corrects,
                                       reason=reason, by=actor if getattr(actor, "is_authenticated", False) else None)
    summary = f"{drive.name} 进度 {target.org.name} {achieved}/{target.target}"
    if corrects is not None:
        summary += f"（更正 {corrects.date:%Y-%m-%d} 的 {corrects.achieved}：{reason}）"
    audit_record(by=actor, action="create", model="campaigns.DriveProgress", object_id=row.pk, summary=summary)
    return row


@dataclass
class DriveRow:
    target: DriveTarget
    achieved: int
    as_of: dt.date | None
    may_report: bool = False  # set by the page for the viewer
    history: list[DriveProgress] = field(default_factory=list)  # every report, newest first

    @property
    def pct(self) -> int:
        return min(100, round(self.achieved * 100 / self.target.target)) if self.target.target else 0


def drive_progress(drive: Drive, targets=None) -> list[DriveRow]:
    """Each target with its latest report (by date, then entry) and its whole history (two queries)."""
    targets = list((targets if targets is not None else drive.targets.all()).select_related("org"))
    history: dict[int, list[DriveProgress]] = defaultdict(list)
    for report in (DriveProgress.objects.filter(target__in=targets).select_related("by", "corrects")
                   .order_by("target_id", "-date", "-id")):
        history[report.target_id].append(report)
    rows = []
    for t in targets:
        reports = history.get(t.pk, [])
        latest = reports[0] if reports else None
        rows.append(DriveRow(t, latest.achieved if latest else 0, latest.date if latest else None, history=reports))
    return rows


def drive_elapsed_pct(drive: Drive, today: dt.date | None = None) -> int:
    today = today or timezone.localdate()
    total = (drive.end - drive.start).days
    return max(0, min(100, round((today - drive.start).days * 100 / total)))


# ---- bulletins ---------------------------------------------------------------------------------------------------

IMAGE_MAX_BYTES = 5 * 1024 * 1024


def check_image(upload: Any, name: str = "image") -> None:
    """An image a browser can show (JPEG, PNG, GIF, WebP), verified by Pillow, at most 5 MB."""
    from PIL import Image, UnidentifiedImageError

    from xianfeng.core.uploads import UploadRefused, check_upload

    if upload.size > IMAGE_MAX_BYTES:
        raise ValidationError({name: ["图片不能超过5MB"]})
    try:  # the upload gate: pixels counted from the header before anything is decoded (decompression bombs)
        check_upload(upload, filename="image.png", kinds=("image",), max_bytes=IMAGE_MAX_BYTES)
    except UploadRefused as exc:
        raise ValidationError({name: [str(exc)]}) from None
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            fmt = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError({name: ["文件不是有效的图片"]}) from None
    finally:
        upload.seek(0)
    if fmt not in {"JPEG", "PNG", "GIF", "WEBP"}:
        raise ValidationError({name: ["图片须为JPEG、PNG、GIF或WebP格式"]})


@transaction.atomic
def bulletin_create(*, org: Organisation, title: str, body: str, kind: str = Bulletin.Kind.NEWS,
                    issue: int | None = None, image: Any = None, publish: bool = False, actor: Any) -> Bulletin:
    """A news item or briefing (简报 carry an issue number, unique per organisation); the actor may change `org`."""
    _require(actor, "change", org)
    if kind == Bulletin.Kind.BRIEFING and not issue:
        raise ValidationError({"issue": ["简报须有期号"]})
    if image:
        check_image(image)
    if issue and Bulletin.objects.filter(org=org, kind=kind, issue=issue).exists():
        raise ValidationError({"issue": ["该期号已使用"]})
    bulletin = Bulletin(org=org, kind=kind, issue=issue or None, title=clean_text(title, "title", 200),
                        body=clean_text(body, "body", 50_000), author=actor if getattr(actor, "is_authenticated", False) else None)
    if image:
        bulletin.image = image
    bulletin.full_clean(exclude=["image"])
    bulletin.save()
    audit_record(by=actor, action="create", obj=bulletin, summary=f"简报 {bulletin.title}")
    if publish:
        bulletin_publish(bulletin=bulletin, actor=actor)
    return bulletin


@transaction.atomic
def bulletin_publish(*, bulletin: Bulletin, at: dt.datetime | None = None, actor: Any) -> Bulletin:
    """Publish a bulletin (the actor may change its organisation)."""
    _require(actor, "change", bulletin)
    if Bulletin.objects.filter(pk=bulletin.pk, published_at__isnull=True).update(published_at=_now(at)) != 1:
        raise ValidationError({"published_at": ["已发布"]})
    bulletin.refresh_from_db()
    audit_record(by=actor, action="update", obj=bulletin, after={"published_at": str(bulletin.published_at)},
                 summary=f"发布 {bulletin.title}")
    return bulletin


@transaction.atomic
def bulletin_withdraw(*, bulletin: Bulletin, actor: Any) -> Bulletin:
    """Take a published bulletin back (the actor may change its organisation)."""
    _require(actor, "change", bulletin)
    if Bulletin.objects.filter(pk=bulletin.pk, published_at__isnull=False).update(published_at=None) != 1:
        raise ValidationError({"published_at": ["尚未发布"]})
    bulletin.refresh_from_db()
    audit_record(by=actor, action="update", obj=bulletin, after={"published_at": None}, summary=f"撤回 {bulletin.title}")
    return bulletin


def party_kinds() -> list[str]:
    return sorted(PARTY_KINDS)


def latest_figures(ventures) -> dict[int, VentureFigure]:
    """Each venture's most recent figures (one query)."""
    result: dict[int, VentureFigure] = {}
    for row in VentureFigure.objects.filter(venture__in=ventures).order_by("venture_id", "date", "id"):
        result[row.venture_id] = row
    return result

