"""Every write of the pledges module: the pledge cycle, progress, evaluation, resident supervision, moderation,
formulaic detection, resident sign-up and reminders.

Services are keyword-only and atomic; each state change is a conditional UPDATE (`… WHERE status IN (allowed)`, the
row count checked), so two reviewers acting at once cannot both move a pledge, and leaves a PledgeEvent and an audit
row. A forbidden move raises PledgeError (a ValidationError: 400 with the reason, nothing changed).
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, F
from django.utils import timezone

from xianfeng.core.audit import audit_record
from xianfeng.core.ids import normalise_text, parse_phone
from xianfeng.core.policy import allows, policy_for, require, require_any
from xianfeng.core.scoping import clear_scope_cache
from xianfeng.core.text import clean_text
from xianfeng.orgs.models import Member, Organisation, OrgKind, Person, Resident, Role, User

from . import formulaic
from .models import (
    OPEN_STATES,
    BoardStamp,
    Comment,
    CommentReport,
    Milestone,
    ModerationAction,
    PeerRating,
    Photo,
    Pledge,
    PledgeEvent,
    PledgeItem,
    PledgeRound,
    Rating,
    SensitiveWord,
    SignupCode,
    Status,
    TemplateCluster,
)
from .policies import OWN, PEER, REVIEW, PledgePolicy

MAX_ITEMS = 10

PLEDGES: PledgePolicy = policy_for(Pledge)  # type: ignore[assignment]


def setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


class PledgeError(ValidationError):
    """A move the rules forbid (evaluate a draft, approve your own pledge …): answered 400 with the reason."""


class AlreadyRated(Exception):
    """A second rating of the same pledge by the same person: answered 409."""


# --- who may do what (the rules are the pledge policy's, policies.py) ------------------------------------------------


def is_owner(pledge: Pledge, user: Any) -> bool:
    """The member who made the pledge, or the organisation's own secretary for an organisation's pledge."""
    return PLEDGES.allows(user, OWN, pledge)


def is_reviewer(pledge: Pledge, user: Any) -> bool:
    """Who reviews, publishes, confirms and evaluates (not the one who made the pledge)."""
    return PLEDGES.allows(user, REVIEW, pledge)


def _require_owner(pledge: Pledge, actor: Any) -> None:
    if not is_owner(pledge, actor):
        raise PledgeError("只有承诺人本人可以这样做")


def _require_reviewer(pledge: Pledge, actor: Any) -> None:
    if is_owner(pledge, actor) or (pledge.member_id is None and pledge.created_by_id == getattr(actor, "pk", None)):
        raise PledgeError("不能审定或评价自己的承诺")
    if not is_reviewer(pledge, actor):
        raise PledgeError("只有所在党组织的书记或管理员可以这样做")


# --- the public board's version ----------------------------------------------------------------------------------------


def board_touch(org_id: int) -> None:
    """Count one change of `org_id`'s pledges for the public boards (its own and every ancestor's, which sum over
    their subtree). Call inside the transaction that makes the change: the row is then committed with it. The
    insert-if-missing comes before the increment, so two first writes at once still count twice."""
    if BoardStamp.objects.filter(org_id=org_id).update(version=F("version") + 1) == 0:
        BoardStamp.objects.bulk_create([BoardStamp(org_id=org_id, version=0)], ignore_conflicts=True)
        BoardStamp.objects.filter(org_id=org_id).update(version=F("version") + 1)


def board_touch_many(org_ids: Iterable[int]) -> None:
    """board_touch for many organisations at once (bulk writers such as the demo). Call inside their transaction."""
    ids = sorted(set(org_ids))
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        BoardStamp.objects.bulk_create([BoardStamp(org_id=i, version=0) for i in chunk], ignore_conflicts=True)
        BoardStamp.objects.filter(org_id__in=chunk).update(version=F("version") + 1)


def board_version(path: str) -> tuple[int, int]:
    """(sum of the change counters, number of counters) over the subtree at `path`: grows with every pledge write
    in the subtree, so it keys the board's cached pages. One range query on the organisations' unique path index,
    written as SQL because it runs on every board request and the ORM's compilation would cost more than it."""
    from django.db import connection

    from xianfeng.core.scoping import path_upper_bound

    upper = path_upper_bound(path)
    sql = (f"SELECT COALESCE(SUM(s.version), 0), COUNT(*) FROM {BoardStamp._meta.db_table} s "  # noqa: S608 (names)
           f"JOIN {Organisation._meta.db_table} o ON o.id = s.org_id WHERE o.path >= %s"
           + (" AND o.path < %s" if upper is not None else ""))
    with connection.cursor() as cursor:
        cursor.execute(sql, [path, upper] if upper is not None else [path])
        version, count = cursor.fetchone()
    return int(version), int(count)


def board_org(org_id: int) -> tuple[str, str] | None:
    """(path, name) of an active organisation, or None: the board's first lookup, as plain SQL for the same reason."""
    from django.db import connection

    if not 0 < org_id < 2**63:
        return None
    sql = f"SELECT path, name FROM {Organisation._meta.db_table} WHERE id = %s AND is_active = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [org_id, True])
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def _move(pledge: Pledge, *, allowed: Iterable[str], to: str, action: str, by: Any, reason: str = "",
          **fields: Any) -> Pledge:
    """Move `pledge` to `to` if it is in one of `allowed` (decided by a conditional UPDATE); one event, one audit row."""
    allowed = tuple(allowed)
    if pledge.status not in allowed:
        raise PledgeError(f"“{Status(pledge.status).label}”状态的承诺不能{action}")
    before = pledge.status
    updated = Pledge.objects.filter(pk=pledge.pk, status=before).update(status=to, updated_at=timezone.now(), **fields)
    if updated != 1:
        raise PledgeError("承诺状态已被他人更改，请刷新后重试")
    pledge.status = to
    for key, value in fields.items():
        if not isinstance(value, F):
            setattr(pledge, key, value)
    PledgeEvent.objects.create(pledge=pledge, by=by if getattr(by, "is_authenticated", False) else None,
                               action=action, from_status=before, to_status=to, reason=reason[:500])
    board_touch(pledge.org_id)
    audit_record(by=by, action="update", obj=pledge, before={"status": before}, after={"status": to},
                 summary=f"{action} 承诺#{pledge.pk}" + (f"：{reason[:100]}" if reason else ""))
    return pledge


# --- rounds ----------------------------------------------------------------------------------------------------------


@transaction.atomic
def round_create(*, name: str, year: int, org: Organisation, start: dt.date, end: dt.date, actor: Any = None,
                 weight_residents: int = 40, weight_peers: int = 30, weight_org: int = 30,
                 template_min_members: int = 5, specificity_threshold: float = 0.4) -> PledgeRound:
    """A round of pledges; the three weights are percentages adding up to 100. `actor` must be able to change
    `org`; None is the system (the demo and the province seeding commands)."""
    if actor is not None:
        require(actor, "change", PledgeRound(org=org), reason="只能为自己管理的组织发起承诺批次")
    if weight_residents + weight_peers + weight_org != 100:
        raise ValidationError({"weight_org": ["三项评价权重之和须为100"]})
    pledge_round = PledgeRound(name=clean_text(name, "name", 100), year=year, org=org, start=start, end=end,
                               weight_residents=weight_residents, weight_peers=weight_peers, weight_org=weight_org,
                               template_min_members=template_min_members,
                               specificity_threshold=specificity_threshold)
    pledge_round.full_clean()
    if end < start:
        raise ValidationError({"end": ["结束日期早于开始日期"]})
    pledge_round.save()
    audit_record(by=actor, action="create", obj=pledge_round, summary=f"新建承诺批次 {pledge_round.name}")
    return pledge_round


# --- drafting --------------------------------------------------------------------------------------------------------


def clean_items(items: Sequence[dict], pledge_round: PledgeRound) -> list[PledgeItem]:
    """Validate the items of a pledge: 1..10, each with a kind, a text, an optional positive target with its unit,
    and a due date inside the round. Raises ValidationError naming the item."""
    if not items:
        raise ValidationError({"items": ["至少填写一项承诺"]})
    if len(items) > MAX_ITEMS:
        raise ValidationError({"items": [f"最多{MAX_ITEMS}项承诺"]})
    errors: list[str] = []
    cleaned: list[PledgeItem] = []
    for i, raw in enumerate(items, start=1):
        problems = []
        kind = raw.get("kind")
        if kind not in PledgeItem.Kind.values:
            problems.append("请选择承诺类别")
        text = normalise_text(raw.get("text"))
        if len(text) < 4:
            problems.append("承诺内容至少4个字")
        elif len(text) > 300:
            problems.append("承诺内容不能超过300字")
        value = raw.get("target_value")
        unit = normalise_text(raw.get("target_unit"))
        if value in ("", None):
            value = None
        else:
            try:
                value = decimal.Decimal(str(value))
                if not value.is_finite() or value <= 0 or value >= 10**10:
                    raise decimal.InvalidOperation
                value = value.quantize(decimal.Decimal("0.01"))
            except (decimal.InvalidOperation, ValueError):
                problems.append("目标数须为正数")
                value = None
            if value is not None and not unit:
                problems.append("填写了目标数就要填写单位")
        if len(unit) > 10:
            problems.append("单位不能超过10个字")
        due = raw.get("due_date")
        if isinstance(due, str):
            try:
                due = dt.date.fromisoformat(due)
            except ValueError:
                due = None
        if not isinstance(due, dt.date):
            problems.append("请填写完成期限")
        elif not pledge_round.start <= due <= pledge_round.end:
            problems.append(f"完成期限须在{pledge_round.start:%Y-%m-%d}至{pledge_round.end:%Y-%m-%d}之间")
        if problems:
            errors.append(f"第{i}项：{'；'.join(problems)}")
            continue
        assert isinstance(kind, str) and isinstance(due, dt.date)  # checked above
        cleaned.append(PledgeItem(position=i, kind=kind, text=text, target_value=value, target_unit=unit,
                                  due_date=due, specificity=formulaic.specificity(text)))
    if errors:
        raise ValidationError({"items": errors})
    return cleaned


def _save_items(pledge: Pledge, items: list[PledgeItem]) -> None:
    for item in items:
        item.pledge = pledge
    PledgeItem.objects.bulk_create(items)
    pledge.due_date = max(item.due_date for item in items)
    pledge.specificity = round(sum(item.specificity or 0 for item in items) / len(items), 3)
    Pledge.objects.filter(pk=pledge.pk).update(due_date=pledge.due_date, specificity=pledge.specificity)


@transaction.atomic
def pledge_create(*, round: PledgeRound, items: Sequence[dict], actor: Any, member: Member | None = None,
                  org: Organisation | None = None, title: str = "") -> Pledge:
    """A draft pledge: a member's own (`member`, made by that member) or an organisation's (`org`, made by someone
    who may change it). Raises ValidationError."""
    if not round.is_open:
        raise PledgeError("该批次已停止接受承诺")
    if (member is None) == (org is None):
        raise ValidationError("承诺须属于一名党员或一个党组织")
    if member is not None:
        if getattr(actor, "person_id", None) != member.person_id:
            raise PledgeError("只能为自己作出承诺")
        if member.status == Member.Status.LEFT:
            raise PledgeError("已转出的党员不能作出承诺")
        if Pledge.objects.filter(round=round, member=member).exists():
            raise ValidationError({"round": ["本批次已有你的承诺，请修改原承诺"]})
        org = member.org
    elif org is None or not allows(actor, "change", org):
        raise PledgeError("只能为自己管理的党组织作出组织承诺")
    cleaned = clean_items(items, round)
    pledge = Pledge.objects.create(round=round, member=member, org=org,
                                   title=clean_text(title, "title", 100, required=False),
                                   created_by=actor if getattr(actor, "is_authenticated", False) else None)
    _save_items(pledge, cleaned)
    PledgeEvent.objects.create(pledge=pledge, by=pledge.created_by, action="起草", to_status=Status.DRAFT)
    board_touch(pledge.org_id)
    audit_record(by=actor, action="create", obj=pledge, summary=f"起草承诺 {pledge.owner_name}")
    return pledge


@transaction.atomic
def pledge_update(*, pledge: Pledge, items: Sequence[dict], actor: Any, title: str | None = None) -> Pledge:
    """Rewrite a draft or returned pledge's items (and title)."""
    _require_owner(pledge, actor)
    if pledge.status not in (Status.DRAFT, Status.RETURNED):
        raise PledgeError("只有草稿或被退回的承诺可以修改")
    cleaned = clean_items(items, pledge.round)
    if Pledge.objects.filter(pk=pledge.pk, status=pledge.status).update(updated_at=timezone.now()) != 1:
        raise PledgeError("承诺状态已被他人更改，请刷新后重试")
    pledge.items.all().delete()
    if title is not None:
        pledge.title = clean_text(title, "title", 100, required=False)
        Pledge.objects.filter(pk=pledge.pk).update(title=pledge.title)
    _save_items(pledge, cleaned)
    board_touch(pledge.org_id)
    audit_record(by=actor, action="update", obj=pledge, summary=f"修改承诺#{pledge.pk}")
    return pledge


@transaction.atomic
def pledge_submit(*, pledge: Pledge, actor: Any) -> Pledge:
    """Draft (or returned) → submitted for the branch's review; the formulaic flag is set for the reviewer to see."""
    _require_owner(pledge, actor)
    PledgeItem.objects.filter(pledge=pledge).update(review=PledgeItem.Review.PENDING, review_note="")
    flag_formulaic(pledge=pledge)
    return _move(pledge, allowed=(Status.DRAFT, Status.RETURNED), to=Status.SUBMITTED, action="提交审定", by=actor,
                 return_reason="")


# --- review (审定) and publication (示诺) ----------------------------------------------------------------------------


@transaction.atomic
def item_review(*, item: PledgeItem, ok: bool, actor: Any, note: str = "") -> PledgeItem:
    """The reviewer's verdict on one item of a submitted pledge; a returned item needs the reason (vague, not
    feasible …)."""
    pledge = item.pledge
    _require_reviewer(pledge, actor)
    if pledge.status != Status.SUBMITTED:
        raise PledgeError("只能审定待审定的承诺")
    note = clean_text(note, "note", 300, required=not ok)
    item.review = PledgeItem.Review.OK if ok else PledgeItem.Review.RETURNED
    item.review_note = note
    item.save(update_fields=["review", "review_note"])
    audit_record(by=actor, action="update", obj=item, after={"review": item.review, "note": note},
                 summary=f"审定承诺事项#{item.pk}")
    return item


@transaction.atomic
def pledge_return(*, pledge: Pledge, reason: str, actor: Any) -> Pledge:
    """Submitted → returned, with the reason the member sees."""
    _require_reviewer(pledge, actor)
    reason = clean_text(reason, "reason", 500)
    return _move(pledge, allowed=(Status.SUBMITTED,), to=Status.RETURNED, action="退回", by=actor, reason=reason,
                 return_reason=reason)


@transaction.atomic
def pledge_approve(*, pledge: Pledge, actor: Any) -> Pledge:
    """Submitted → approved. Refused while an item is marked returned (return the pledge instead); items not yet
    looked at are approved with it."""
    _require_reviewer(pledge, actor)
    if pledge.items.filter(review=PledgeItem.Review.RETURNED).exists():
        raise PledgeError("有事项被退回，请退回承诺让本人修改")
    moved = _move(pledge, allowed=(Status.SUBMITTED,), to=Status.APPROVED, action="审定通过", by=actor)
    pledge.items.filter(review=PledgeItem.Review.PENDING).update(review=PledgeItem.Review.OK)
    return moved


@transaction.atomic
def pledge_publish(*, pledge: Pledge, actor: Any, on: dt.date | None = None) -> Pledge:
    """Approved → published (示诺): from now on it is on the public board."""
    _require_reviewer(pledge, actor)
    return _move(pledge, allowed=(Status.APPROVED,), to=Status.PUBLISHED, action="公示", by=actor,
                 published_on=on or timezone.localdate())


# --- carrying it out (践诺) -------------------------------------------------------------------------------------------


def clean_photo(upload: Any) -> tuple[int, int]:
    """(width, height) of an uploaded photo; ValidationError {"photos": …} if it is too big or not an image."""
    from PIL import Image, UnidentifiedImageError

    from xianfeng.core.uploads import UploadRefused, check_upload

    limit = int(setting("PLEDGES_PHOTO_MAX_BYTES", 5 * 1024 * 1024))
    name = getattr(upload, "name", "photo")
    if getattr(upload, "size", 0) > limit:
        from django.template.defaultfilters import filesizeformat

        raise ValidationError({"photos": [f"{name}：照片不能超过{filesizeformat(limit)}"]})
    try:  # the upload gate: pixels counted from the header before anything is decoded (decompression bombs)
        check_upload(upload, filename="photo.jpg", kinds=("image",), max_bytes=limit)
        upload.seek(0)
        with Image.open(upload) as image:
            image.verify()
            fmt, size = image.format, image.size
    except UploadRefused as exc:
        raise ValidationError({"photos": [f"{name}：{exc}"]}) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError({"photos": [f"{name}：不是有效的图片（支持 JPEG、PNG、WebP）"]}) from None
    finally:
        upload.seek(0)
    if fmt not in ("JPEG", "PNG", "WEBP", "GIF"):
        raise ValidationError({"photos": [f"{name}：不支持的图片格式 {fmt}"]})
    return size


def _save_photos(pledge: Pledge, photos: Sequence[Any], by: Any, milestone: Milestone | None = None) -> None:
    if len(photos) > 9:
        raise ValidationError({"photos": ["一次最多上传9张照片"]})
    sizes = [clean_photo(p) for p in photos]  # all checked before any is stored
    for upload, (width, height) in zip(photos, sizes, strict=True):
        Photo.objects.create(pledge=pledge, milestone=milestone, image=upload, width=width, height=height,
                             uploaded_by=by if getattr(by, "is_authenticated", False) else None)


@transaction.atomic
def milestone_record(*, pledge: Pledge, percent: int, text: str, actor: Any, date: dt.date | None = None,
                     item: PledgeItem | None = None, photos: Sequence[Any] = ()) -> Milestone:
    """A dated progress update (台账) with its percentage and evidence; the first one moves a published pledge to
    in progress. Progress may not go backwards."""
    _require_owner(pledge, actor)
    if pledge.status not in (Status.PUBLISHED, Status.IN_PROGRESS):
        raise PledgeError("只有已公示或践诺中的承诺可以记录进展")
    try:
        percent = int(percent)
    except (TypeError, ValueError):
        raise ValidationError({"percent": ["进度须为0到100的整数"]}) from None
    if not 0 <= percent <= 100:
        raise ValidationError({"percent": ["进度须为0到100的整数"]})
    if percent < pledge.progress:
        raise ValidationError({"percent": [f"进度不能低于已记录的{pledge.progress}%"]})
    text = clean_text(text, "text", 500)
    date = date or timezone.localdate()
    if date > timezone.localdate():
        raise ValidationError({"date": ["日期不能晚于今天"]})
    if item is not None and item.pledge_id != pledge.pk:
        raise ValidationError({"item": ["事项不属于这条承诺"]})
    if pledge.status == Status.PUBLISHED:
        _move(pledge, allowed=(Status.PUBLISHED,), to=Status.IN_PROGRESS, action="开始践诺", by=actor)
    Pledge.objects.filter(pk=pledge.pk).update(progress=percent)
    pledge.progress = percent
    board_touch(pledge.org_id)
    milestone = Milestone.objects.create(pledge=pledge, item=item, date=date, percent=percent, text=text,
                                         recorded_by=actor if getattr(actor, "is_authenticated", False) else None)
    _save_photos(pledge, photos, actor, milestone)
    audit_record(by=actor, action="create", obj=milestone, summary=f"记录承诺#{pledge.pk}进展 {percent}%")
    return milestone


@transaction.atomic
def pledge_claim(*, pledge: Pledge, evidence: str, actor: Any, on: dt.date | None = None,
                 photos: Sequence[Any] = ()) -> Pledge:
    """The member reports the pledge carried out (践诺), with evidence, date and photos; the secretary confirms."""
    _require_owner(pledge, actor)
    evidence = clean_text(evidence, "evidence", 2000, min_length=4, multiline=True)
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise ValidationError({"on": ["日期不能晚于今天"]})
    moved = _move(pledge, allowed=(Status.PUBLISHED, Status.IN_PROGRESS), to=Status.CLAIMED, action="申报践诺", by=actor,
                  evidence=evidence)
    Milestone.objects.create(pledge=pledge, date=on, percent=100, text=f"申报践诺：{evidence}"[:500],
                             recorded_by=actor if getattr(actor, "is_authenticated", False) else None)
    _save_photos(pledge, photos, actor)
    return moved


@transaction.atomic
def pledge_confirm(*, pledge: Pledge, actor: Any, on: dt.date | None = None) -> Pledge:
    """Claimed → fulfilled, confirmed by the secretary."""
    _require_reviewer(pledge, actor)
    return _move(pledge, allowed=(Status.CLAIMED,), to=Status.FULFILLED, action="确认践诺", by=actor,
                 fulfilled_on=on or timezone.localdate(), confirmed_by=actor, progress=100)


@transaction.atomic
def pledge_reject_claim(*, pledge: Pledge, reason: str, actor: Any) -> Pledge:
    """Claimed → in progress again: the evidence is not enough (the reason is recorded)."""
    _require_reviewer(pledge, actor)
    reason = clean_text(reason, "reason", 500)
    return _move(pledge, allowed=(Status.CLAIMED,), to=Status.IN_PROGRESS, action="退回践诺申报", by=actor,
                 reason=reason)


@transaction.atomic
def pledge_not_fulfilled(*, pledge: Pledge, explanation: str, actor: Any) -> Pledge:
    """A published pledge that was not carried out, with the public explanation the board shows."""
    _require_reviewer(pledge, actor)
    explanation = clean_text(explanation, "explanation", 2000, min_length=4, multiline=True)
    return _move(pledge, allowed=OPEN_STATES, to=Status.NOT_FULFILLED, action="认定未践诺", by=actor,
                 reason=explanation, explanation=explanation)


# --- evaluation (评诺) and recognition (奖诺) -------------------------------------------------------------------------


def resident_score(pledge: Pledge) -> tuple[float | None, int]:
    """Residents' score (满意 100, 基本满意 75, 不满意 55, averaged) and the number of ratings."""
    counts = dict(pledge.ratings.values_list("value").annotate(n=Count("id")).order_by())
    n = sum(counts.values())
    if not n:
        return None, 0
    return sum(Rating.SCORES[Rating.Value(v)] * c for v, c in counts.items()) / n, n


def combined_score(round: PledgeRound, residents: float | None, peers: float | None, org: float) -> float:
    """The weighted score; a side with no ratings drops out and the other weights are scaled up to 100 %."""
    parts = [(round.weight_residents, residents), (round.weight_peers, peers), (round.weight_org, org)]
    present = [(w, s) for w, s in parts if s is not None and w > 0]
    total_weight = sum(w for w, _ in present)
    if not total_weight:
        return float(org)
    return round_half(sum(w * s for w, s in present) / total_weight)


def round_half(value: float) -> float:
    return float(decimal.Decimal(str(value)).quantize(decimal.Decimal("0.1"), rounding=decimal.ROUND_HALF_UP))


@transaction.atomic
def pledge_evaluate(*, pledge: Pledge, org_score: Any, actor: Any) -> Pledge:
    """Fulfilled or not fulfilled → evaluated: residents' ratings, members' peer ratings and the organisation's
    score (0–100) are combined with the round's weights; ranks within the branch are recomputed."""
    _require_reviewer(pledge, actor)
    try:
        org_score = float(org_score)
    except (TypeError, ValueError):
        raise ValidationError({"org_score": ["组织评分须为0到100的数"]}) from None
    if not 0 <= org_score <= 100:
        raise ValidationError({"org_score": ["组织评分须为0到100的数"]})
    residents, _ = resident_score(pledge)
    peers = pledge.peer_ratings.aggregate(v=Avg("score"))["v"]
    total = combined_score(pledge.round, residents, peers, org_score)
    moved = _move(pledge, allowed=(Status.FULFILLED, Status.NOT_FULFILLED), to=Status.EVALUATED, action="评诺", by=actor,
                  score_residents=None if residents is None else round_half(residents),
                  score_peers=None if peers is None else round_half(peers), score_org=org_score, score_total=total)
    rank_branch(round=pledge.round, org=pledge.org)
    moved.rank_in_branch = Pledge.objects.filter(pk=pledge.pk).values_list("rank_in_branch", flat=True).get()
    return moved


def rank_branch(*, round: PledgeRound, org: Organisation) -> None:
    """Rank the evaluated members' pledges of one branch by total score (ties share a rank). Call in a transaction."""
    rows = list(Pledge.objects.filter(round=round, org=org, member__isnull=False, score_total__isnull=False)
                .order_by("-score_total", "id").values_list("id", "score_total"))
    rank, previous = 0, None
    for position, (pk, score) in enumerate(rows, start=1):
        if score != previous:
            rank, previous = position, score
        Pledge.objects.filter(pk=pk).exclude(rank_in_branch=rank).update(rank_in_branch=rank)


@transaction.atomic
def pledge_recognise(*, pledge: Pledge, actor: Any, reason: str = "") -> Pledge:
    """Evaluated → recognised (奖诺): on the published list of recognised pledges."""
    _require_reviewer(pledge, actor)
    return _move(pledge, allowed=(Status.EVALUATED,), to=Status.RECOGNISED, action="奖诺", by=actor,
                 reason=clean_text(reason, "reason", 500, required=False))


@transaction.atomic
def pledge_close(*, pledge: Pledge, actor: Any, reason: str = "") -> Pledge:
    """Evaluated → closed without recognition."""
    _require_reviewer(pledge, actor)
    return _move(pledge, allowed=(Status.EVALUATED,), to=Status.CLOSED, action="结束", by=actor,
                 reason=clean_text(reason, "reason", 500, required=False))


# --- ratings ----------------------------------------------------------------------------------------------------------


def is_resident(user: Any) -> bool:
    return getattr(user, "is_authenticated", False) and Role.objects.filter(user=user, kind=Role.Kind.RESIDENT).exists()


RATABLE_STATES = (Status.PUBLISHED, Status.IN_PROGRESS, Status.CLAIMED, Status.FULFILLED, Status.NOT_FULFILLED)


def rating_post(*, pledge: Pledge, actor: Any, value: str) -> Rating:
    """A resident's one rating of a published pledge. The unique constraint decides a race: the loser gets
    AlreadyRated (409), never a second row."""
    if not is_resident(actor):
        raise PledgeError("只有注册居民可以评价承诺")
    if value not in Rating.Value.values:
        raise ValidationError({"value": ["请选择满意、基本满意或不满意"]})
    if pledge.status not in RATABLE_STATES:
        raise PledgeError("这条承诺现在不接受评价")
    if is_owner(pledge, actor):
        raise PledgeError("不能评价自己的承诺")
    try:
        with transaction.atomic():
            rating = Rating.objects.create(pledge=pledge, user=actor, value=value)
    except IntegrityError:
        raise AlreadyRated() from None
    audit_record(by=actor, action="create", obj=rating, summary=f"群众评价承诺#{pledge.pk} {rating.get_value_display()}")
    return rating


@transaction.atomic
def peer_rating_post(*, pledge: Pledge, actor: Any, score: Any) -> PeerRating:
    """A member of the same branch scores a colleague's pledge (0–100), once."""
    require(actor, PEER, pledge)
    rater = Member.objects.filter(person_id=getattr(actor, "person_id", None) or 0).first()
    if rater is None or rater.org_id != pledge.org_id or pledge.member_id is None:
        raise PledgeError("只有同一支部的党员可以互评")
    if rater.pk == pledge.member_id:
        raise PledgeError("不能给自己的承诺评分")
    if pledge.status not in (Status.FULFILLED, Status.NOT_FULFILLED):
        raise PledgeError("承诺完成或认定未践诺后才能互评")
    try:
        score = int(score)
    except (TypeError, ValueError):
        raise ValidationError({"score": ["评分须为0到100的整数"]}) from None
    if not 0 <= score <= 100:
        raise ValidationError({"score": ["评分须为0到100的整数"]})
    try:
        with transaction.atomic():
            rating = PeerRating.objects.create(pledge=pledge, rater=rater, score=score)
    except IntegrityError:
        raise AlreadyRated() from None
    audit_record(by=actor, action="create", obj=rating, summary=f"党员互评承诺#{pledge.pk}")
    return rating


# --- comments and moderation -------------------------------------------------------------------------------------------


def sensitive_hits(text: str) -> list[str]:
    words = SensitiveWord.objects.values_list("word", flat=True)
    return [w for w in words if w and w in text]


def comment_rate_limited(user: Any, now: dt.datetime | None = None) -> bool:
    """More than PLEDGES_COMMENT_LIMIT comments by `user` within PLEDGES_COMMENT_WINDOW seconds."""
    now = now or timezone.now()
    window = dt.timedelta(seconds=int(setting("PLEDGES_COMMENT_WINDOW", 600)))
    limit = int(setting("PLEDGES_COMMENT_LIMIT", 5))
    return Comment.objects.filter(author=user, created_at__gte=now - window).count() >= limit


@transaction.atomic
def comment_post(*, pledge: Pledge, actor: Any, text: str, agreed: bool) -> Comment:
    """A signed-in user's comment on a public pledge, after agreeing to the civility rules. Refused: a text with a
    word on the sensitive list, more than the rate limit allows. Stored as typed; shown as text."""
    if not getattr(actor, "is_authenticated", False):
        raise PledgeError("请先登录")
    if not agreed:
        raise ValidationError({"agreed": ["请先阅读并同意文明评论规则"]})
    if not pledge.is_public:
        raise PledgeError("这条承诺尚未公示")
    text = str(text or "").replace("\x00", "").strip()
    if not text:
        raise ValidationError({"text": ["评论不能为空"]})
    if len(text) > 500:
        raise ValidationError({"text": ["评论不能超过500字"]})
    hits = sensitive_hits(text)
    if hits:
        raise ValidationError({"text": [f"评论含有不文明或敏感用语：{'、'.join(hits[:3])}"]})
    if comment_rate_limited(actor):
        raise ValidationError({"text": ["评论太频繁，请稍后再试"]})
    comment = Comment.objects.create(pledge=pledge, author=actor, text=text)
    audit_record(by=actor, action="create", obj=comment, summary=f"评论承诺#{pledge.pk}")
    return comment


@transaction.atomic
def comment_report(*, comment: Comment, actor: Any, reason: str = "") -> bool:
    """Report a comment to the moderators; the same person's second report counts once. Returns whether it counted."""
    if not getattr(actor, "is_authenticated", False):
        raise PledgeError("请先登录")
    if not (comment.pledge.is_public and comment.state == Comment.State.VISIBLE):
        require(actor, "view", comment)
    try:
        with transaction.atomic():
            CommentReport.objects.create(comment=comment, reporter=actor, reason=clean_text(reason, "reason", 200, required=False))
    except IntegrityError:
        return False
    Comment.objects.filter(pk=comment.pk).update(reports=F("reports") + 1)
    comment.refresh_from_db(fields=["reports"])
    return True


def is_moderator(user: Any, pledge: Pledge) -> bool:
    return PLEDGES.allows(user, "change", pledge)


@transaction.atomic
def comment_hide(*, comment: Comment, reason: str, actor: Any) -> Comment:
    return _moderate(comment, ModerationAction.Action.HIDE, Comment.State.VISIBLE, Comment.State.HIDDEN, reason, actor)


@transaction.atomic
def comment_restore(*, comment: Comment, reason: str, actor: Any) -> Comment:
    return _moderate(comment, ModerationAction.Action.RESTORE, Comment.State.HIDDEN, Comment.State.VISIBLE, reason, actor)


def _moderate(comment: Comment, action: str, from_state: str, to_state: str, reason: str, by: Any) -> Comment:
    if not is_moderator(by, comment.pledge):
        raise PledgeError("只有所在党组织的书记或管理员可以处理评论")
    reason = clean_text(reason, "reason", 300)
    if Comment.objects.filter(pk=comment.pk, state=from_state).update(state=to_state) != 1:
        raise PledgeError("评论已经是这个状态")
    comment.state = to_state
    ModerationAction.objects.create(comment=comment, action=action, reason=reason, by=by)
    audit_record(by=by, action="update", obj=comment, before={"state": from_state}, after={"state": to_state},
                 summary=f"{ModerationAction.Action(action).label}评论#{comment.pk}：{reason[:100]}")
    return comment


@transaction.atomic
def sensitive_word_add(*, word: str, actor: Any) -> SensitiveWord:
    require_any(actor, "change", SensitiveWord)
    word = clean_text(word, "word", 30)
    if SensitiveWord.objects.filter(word=word).exists():
        raise ValidationError({"word": ["已在敏感词表中"]})
    row = SensitiveWord.objects.create(word=word)
    audit_record(by=actor, action="create", obj=row, summary="新增敏感词")
    return row


@transaction.atomic
def sensitive_word_remove(*, word: SensitiveWord, actor: Any) -> None:
    require(actor, "change", word)
    audit_record(by=actor, action="delete", obj=word, summary="删除敏感词")
    word.delete()


# --- formulaic detection --------------------------------------------------------------------------------------------

_HASHER: formulaic.MinHasher | None = None


def hasher() -> formulaic.MinHasher:
    global _HASHER
    if _HASHER is None:
        _HASHER = formulaic.MinHasher()
    return _HASHER


def _item_verdict(item: PledgeItem, round: PledgeRound, templated: bool) -> bool:
    return templated or (item.specificity if item.specificity is not None else 0) < round.specificity_threshold


def flag_formulaic(*, pledge: Pledge) -> Pledge:
    """Flag one pledge against the round's known templates (from the last detection run) and its specificity: the
    pledge is formulaic when at least half of its items are template copies or unspecific. Call in a transaction."""
    pledge_round = pledge.round
    items = list(pledge.items.all())
    templates = list(TemplateCluster.objects.filter(round=pledge_round).only("id", "signature", "members"))
    known = (np.stack([np.frombuffer(bytes(t.signature), dtype=np.uint32) for t in templates])
             if templates else np.zeros((0, hasher().num_perm), dtype=np.uint32))
    sigs = hasher().signatures([i.text for i in items])
    bad, copied = 0, 0
    for item, sig in zip(items, sigs, strict=True):
        match = formulaic.best_match(sig, known)
        item.template_id = templates[match].pk if match is not None else None
        copied += match is not None
        bad += _item_verdict(item, pledge_round, match is not None)
    PledgeItem.objects.bulk_update(items, ["template"])
    pledge.formulaic = bool(items) and bad * 2 >= len(items)
    pledge.formulaic_reason = _reason(copied, bad - copied if bad > copied else 0, len(items)) if pledge.formulaic else ""
    Pledge.objects.filter(pk=pledge.pk).update(formulaic=pledge.formulaic, formulaic_reason=pledge.formulaic_reason)
    return pledge


def _reason(copied: int, vague: int, total: int) -> str:
    parts = []
    if copied:
        parts.append(f"{copied}/{total}项与模板雷同")
    if vague:
        parts.append(f"{vague}/{total}项内容不具体")
    return "；".join(parts)[:200]


@transaction.atomic
def formulaic_detect(*, round: PledgeRound, actor: Any = None) -> dict[str, int]:
    """Re-cluster every submitted (or later) pledge item of the round; replace the round's templates; set each item's
    template and each pledge's formulaic flag. Returns counts. `actor` must be able to change the round's
    organisation; None is the system (the nightly job)."""
    if actor is not None:
        require(actor, "change", round, reason="只有发起组织的书记或管理员可以运行检测")
    items = list(PledgeItem.objects.filter(pledge__round=round).exclude(pledge__status=Status.DRAFT)
                 .values_list("id", "pledge_id", "text", "specificity", "pledge__member_id", "pledge__org_id")
                 .order_by("id"))
    texts = [row[2] for row in items]
    authors = [f"m{row[4]}" if row[4] else f"o{row[5]}" for row in items]
    result = formulaic.detect(texts, authors, min_authors=round.template_min_members,
                              specificity_threshold=round.specificity_threshold, hasher=hasher(),
                              scores=[row[3] for row in items])
    TemplateCluster.objects.filter(round=round).delete()
    clusters = TemplateCluster.objects.bulk_create([
        TemplateCluster(round=round, text=c.text[:300], members=c.authors, item_count=len(c.indices),
                        signature=result.signatures[c.indices[0]].tobytes())
        for c in result.templates
    ])
    template_ids = [c.pk for c in clusters]
    item_template: dict[int, int | None] = {row[0]: None for row in items}
    for i, t in result.template_of.items():
        item_template[items[i][0]] = template_ids[t]
    by_template: dict[int | None, list[int]] = {}
    for item_id, template_id in item_template.items():
        by_template.setdefault(template_id, []).append(item_id)
    for template_id, ids in by_template.items():
        for start in range(0, len(ids), 900):
            PledgeItem.objects.filter(id__in=ids[start:start + 900]).update(template_id=template_id)
    per_pledge: dict[int, list[int]] = {}
    for i, row in enumerate(items):
        tally = per_pledge.setdefault(row[1], [0, 0, 0])  # items, copies, unspecific (and not copies)
        tally[0] += 1
        if i in result.template_of:
            tally[1] += 1
        elif result.specificity[i] < round.specificity_threshold:
            tally[2] += 1
    flagged: dict[str, list[int]] = {}
    clean: list[int] = []
    for pledge_id, (total, copies, vague) in per_pledge.items():
        if (copies + vague) * 2 >= total:
            flagged.setdefault(_reason(copies, vague, total), []).append(pledge_id)
        else:
            clean.append(pledge_id)
    for reason, ids in flagged.items():
        for start in range(0, len(ids), 900):
            Pledge.objects.filter(id__in=ids[start:start + 900]).update(formulaic=True, formulaic_reason=reason)
    for start in range(0, len(clean), 900):
        Pledge.objects.filter(id__in=clean[start:start + 900]).update(formulaic=False, formulaic_reason="")
    audit_record(by=actor, action="update", obj=round, summary=f"程式化检测 {round.name}：{len(clusters)}个模板")
    return {"items": len(items), "templates": len(clusters), "flagged": sum(len(v) for v in flagged.values()),
            "pledges": len(per_pledge)}


# --- resident sign-up ------------------------------------------------------------------------------------------------


def _code_hash(phone: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def signup_code_send(*, phone: str, ip: str | None = None) -> SignupCode:
    """Text a 6-digit sign-up code through notify's SMS gateway. At most one per phone per minute and
    PLEDGES_SIGNUP_CODES_PER_DAY a day (per phone, and four times as many per address)."""
    from xianfeng.notify.gateways import sms_gateway

    try:
        phone = parse_phone(phone)
    except ValidationError as exc:
        raise ValidationError({"phone": exc.messages}) from None
    if not phone or len(phone) != 11:
        raise ValidationError({"phone": ["请填写11位手机号"]})
    now = timezone.now()
    recent = SignupCode.objects.filter(created_at__gte=now - dt.timedelta(days=1))
    per_day = int(setting("PLEDGES_SIGNUP_CODES_PER_DAY", 5))
    if recent.filter(phone=phone, created_at__gte=now - dt.timedelta(seconds=60)).exists():
        raise ValidationError({"phone": ["验证码已发送，请1分钟后再试"]})
    if recent.filter(phone=phone).count() >= per_day or (ip and recent.filter(ip=ip).count() >= per_day * 4):
        raise ValidationError({"phone": ["今天获取验证码的次数过多，请明天再试"]})
    if User.objects.filter(username=phone).exists():
        raise ValidationError({"phone": ["这个手机号已经注册，请直接登录"]})
    code = f"{secrets.randbelow(10**6):06d}"
    row = SignupCode.objects.create(phone=phone, code_hash=_code_hash(phone, code), ip=ip)
    sms_gateway().send(phone=phone, text=f"【先锋】您的注册验证码是{code}，10分钟内有效。如非本人操作请忽略。",
                       reference=f"signup:{row.pk}")
    return row


def signup_code_check(*, phone: str, code: str) -> SignupCode:
    """The newest unused code for the phone if `code` matches it within its lifetime and 5 tries; a wrong code
    counts a try (committed even though the sign-up fails). Raises ValidationError {"code": …}."""
    lifetime = dt.timedelta(seconds=int(setting("PLEDGES_SIGNUP_CODE_SECONDS", 600)))
    row = (SignupCode.objects.filter(phone=phone, used_at__isnull=True, created_at__gte=timezone.now() - lifetime)
           .order_by("-created_at", "-id").first())
    if row is None or row.attempts >= 5:
        raise ValidationError({"code": ["验证码已失效，请重新获取"]})
    if not hmac.compare_digest(row.code_hash, _code_hash(phone, str(code or "").strip())):
        SignupCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        raise ValidationError({"code": ["验证码不正确"]})
    return row


def resident_signup(*, phone: str, code: str, password: str, name: str, org: Organisation,
                    ip: str | None = None) -> User:
    """Register a resident: a Person (no ID number asked), a Resident of the village or community, a User whose
    username is the phone, and a resident Role there. A wrong code counts against the code's tries."""
    from django.contrib.auth.password_validation import validate_password

    try:
        phone = parse_phone(phone)
    except ValidationError as exc:
        raise ValidationError({"phone": exc.messages}) from None
    name = clean_text(name, "name", 50)
    if org.kind not in (OrgKind.VILLAGE, OrgKind.COMMUNITY):
        raise ValidationError({"org": ["请选择所在的村或社区"]})
    try:
        validate_password(password)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    row = signup_code_check(phone=phone, code=code)  # outside the transaction below, so a wrong try stays counted
    with transaction.atomic():
        if SignupCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=timezone.now()) != 1:
            raise ValidationError({"code": ["验证码已失效，请重新获取"]})
        if User.objects.filter(username=phone).exists():
            raise ValidationError({"phone": ["这个手机号已经注册，请直接登录"]})
        from xianfeng.core.text import pinyin_initials

        person = Person.objects.create(name=name, initials=pinyin_initials(name)[:30], gender="", phone=phone)
        Resident.objects.create(person=person, org=org)
        user = User(username=phone, person=person, first_name=name[:150])
        user.password = make_password(password)
        user.save()
        Role.objects.create(user=user, kind=Role.Kind.RESIDENT, org=org)
        clear_scope_cache(user)
        audit_record(by=None, action="create", obj=user, ip=ip, summary=f"居民注册 {person.phone_masked}")
    return user


def check_signup_password(user: User, password: str) -> bool:
    return check_password(password, user.password)


# --- reminders -------------------------------------------------------------------------------------------------------


def secretaries_of(org: Organisation) -> list[User]:
    """Users holding a secretary role on the organisation or its nearest ancestor that has one."""
    prefixes = [org.path[:i] for i in range(len(org.path), 0, -4)]
    roles = (Role.objects.filter(kind=Role.Kind.SECRETARY, org__path__in=prefixes).select_related("user", "org")
             .order_by("-org__depth", "id"))
    nearest = None
    users = []
    for role in roles:
        if nearest is None:
            nearest = role.org.depth
        if role.org.depth == nearest and role.user.is_active:
            users.append(role.user)
    return users


def reminders_send(*, today: dt.date | None = None, soon_days: int = 3) -> int:
    """Notify the member and the branch's secretaries of every open pledge item due within `soon_days` or overdue.
    Keyed per item per day: running twice in a day sends once. Returns the number of items reminded about."""
    from xianfeng.notify.services import notify

    today = today or timezone.localdate()
    items = (PledgeItem.objects.filter(pledge__status__in=OPEN_STATES, due_date__lte=today + dt.timedelta(days=soon_days))
             .select_related("pledge", "pledge__org", "pledge__member__person__user").order_by("due_date", "id"))
    sent = 0
    for item in items.iterator(chunk_size=500):
        pledge = item.pledge
        overdue = item.due_date < today
        subject = (f"承诺事项已逾期：{item.text[:30]}" if overdue else f"承诺事项将于{item.due_date:%m月%d日}到期：{item.text[:30]}")
        link = f"/pledges/{pledge.pk}/"
        key = f"pledges:item:{item.pk}:{'overdue' if overdue else 'due'}:{today:%Y%m%d}"
        member_user = getattr(getattr(pledge.member, "person", None), "user", None) if pledge.member_id else None
        recipients = ([member_user] if member_user is not None else []) + secretaries_of(pledge.org)
        with transaction.atomic():
            for user in recipients:
                notify(to=user, kind="pledges.due", subject=subject, link=link, key=key,
                       body=f"{pledge.owner_name}（{pledge.org.name}）的承诺事项“{item.text}”，完成期限{item.due_date:%Y-%m-%d}。")
        sent += 1
    return sent
