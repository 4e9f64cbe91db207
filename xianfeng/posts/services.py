"""Every write to responsibility posts. Each service takes the acting user as `actor` and asks the policy first.

    post_create(actor=secretary, org=community, name="3幢责任区先锋岗", area="1—3幢", duties="…", capacity=2)
    post_claim(actor=member_user, post=post)            → Holding (Conflict when the post is full)
    post_service_record(actor=member_user, holding=h, served_on=…, minutes=60, notes="…", resident=r)
    post_service_confirm(actor=resident_user, service=s, rating="satisfied")   → points on the member's card
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from xianfeng.core import policy
from xianfeng.core.audit import audit_record
from xianfeng.core.policy import Conflict
from xianfeng.core.text import clean_text
from xianfeng.notify.services import notify
from xianfeng.orgs.models import PARTY_KINDS, Member, Organisation, Resident
from xianfeng.orgs.selectors import member_of
from xianfeng.points.categories import POST_SERVICE
from xianfeng.points.services import points_award

from .models import Holding, Post, PostService
from .policies import PostServicePolicy, member_in

MAX_CAPACITY = 50
MAX_MINUTES = 24 * 60
POINTS_CATEGORY = POST_SERVICE


class PostConflict(Conflict):
    """Full, closed, already held, already confirmed: the state changed under the request."""


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _capacity(value: Any) -> int:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({"capacity": ["请填写定员人数"]}) from None
    if not 1 <= n <= MAX_CAPACITY:
        raise ValidationError({"capacity": [f"定员应在 1 到 {MAX_CAPACITY} 人之间"]})
    return n


@transaction.atomic
def post_create(*, actor: Any, org: Organisation, name: Any, area: Any, duties: Any, capacity: Any,
                at: dt.datetime | None = None) -> Post:
    """A post of a village or community, defined by staff with `change` over it."""
    if not policy.in_org_scope(actor, "change", [org]):
        raise policy.NotFound
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for field, value, limit, multiline in (("name", name, 60, False), ("area", area, 200, False),
                                           ("duties", duties, 1000, True)):
        try:
            values[field] = clean_text(value, field, limit, multiline=multiline)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    try:
        values["capacity"] = _capacity(capacity)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if org.kind in PARTY_KINDS:
        errors["org"] = ["先锋服务岗设在村、社区，而不是党组织"]
    if "name" in values and Post.objects.filter(org=org, name=values["name"]).exists():
        errors["name"] = ["本村社区已有同名岗位"]
    if errors:
        raise ValidationError(errors)
    post = Post.objects.create(org=org, created_by=_user(actor), created_at=at or timezone.now(), **values)
    audit_record(by=actor, action="create", obj=post, after={**values, "org": org.pk}, summary="设立先锋服务岗")
    return post


@transaction.atomic
def post_set_open(*, actor: Any, post: Post, is_open: bool) -> Post:
    """Open or close a post to new claims (holders stay until they leave or are ended)."""
    policy.require(actor, "change", post)
    Post.objects.filter(pk=post.pk).update(is_open=bool(is_open))
    post.is_open = bool(is_open)
    audit_record(by=actor, action="update", obj=post, after={"is_open": post.is_open},
                 summary="开放认领" if post.is_open else "停止认领")
    return post


@transaction.atomic
def post_claim(*, actor: Any, post: Post, member: Member | None = None, on: dt.date | None = None) -> Holding:
    """`actor` claims a place on `post` for themself, or staff with `change` assign `member`. The place is taken by a
    conditional UPDATE that the database refuses beyond the capacity, so the last place goes to exactly one claim."""
    policy.require(actor, "view", post)
    if member is None:
        member = member_of(actor)
        if member is None or not policy.allows(actor, "claim", post):
            raise ValidationError({"__all__": ["只有本村社区的党员（含双管党员）可以认领"]})
    else:
        policy.require(actor, "change", post, reason="只有本村社区的书记或管理员可以指派党员上岗")
        if not member_in(member, post):
            raise ValidationError({"member": ["这名党员不属于本村社区"]})
    if member.status == Member.Status.LEFT:
        raise ValidationError({"member": ["这名党员已不在册"]})
    if Holding.objects.filter(post=post, member=member, ended_on__isnull=True).exists():
        raise PostConflict("已在此岗位上")
    if Post.objects.filter(pk=post.pk, is_open=True, holders_count__lt=F("capacity")).update(
            holders_count=F("holders_count") + 1) != 1:
        raise PostConflict("岗位已满或已停止认领")
    try:
        with transaction.atomic():
            holding = Holding.objects.create(post=post, member=member, started_on=on or timezone.localdate(),
                                             created_by=_user(actor))
    except IntegrityError:
        raise PostConflict("已在此岗位上") from None
    post.refresh_from_db(fields=["holders_count"])
    audit_record(by=actor, action="create", obj=holding, after={"post": post.pk, "member": member.pk},
                 summary=f"认领先锋服务岗：{post.name}")
    return holding


@transaction.atomic
def holding_end(*, actor: Any, holding: Holding, reason: Any = "", on: dt.date | None = None) -> Holding:
    """The holder leaves, or staff end a holding; the place is free again. History stays: the row is closed."""
    policy.require(actor, "view", holding)
    if not policy.allows(actor, "leave", holding):
        if not holding.active:
            raise PostConflict("已离岗")
        raise policy.NotAllowed("只有岗位上的党员本人或本村社区的书记可以结束认领")
    reason = clean_text(reason, "reason", 200, required=False)
    day = on or timezone.localdate()
    if day < holding.started_on:
        raise ValidationError({"on": ["离岗日期不能早于上岗日期"]})
    if Holding.objects.filter(pk=holding.pk, ended_on__isnull=True).update(ended_on=day, end_reason=reason) != 1:
        raise PostConflict("已离岗")
    Post.objects.filter(pk=holding.post_id).update(holders_count=F("holders_count") - 1)
    holding.refresh_from_db()
    audit_record(by=actor, action="update", obj=holding, after={"ended_on": str(day), "reason": reason},
                 summary="结束岗位认领")
    return holding


@transaction.atomic
def post_service_record(*, actor: Any, holding: Holding, served_on: Any, minutes: Any, notes: Any,
                        resident: Resident | None = None, pledge: Any = None,
                        at: dt.datetime | None = None) -> PostService:
    """The holder records a service done in the post's area, for a resident of the community (who then confirms it)
    and, optionally, toward one of the holder's own pledges."""
    policy.require(actor, "view", holding)
    if not policy.allows(actor, "record", holding):
        raise policy.NotAllowed("只有在岗党员本人可以记录岗位服务")
    errors: dict[str, list[str]] = {}
    now = at or timezone.now()
    try:
        notes = clean_text(notes, "notes", 2000, multiline=True)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        minutes = int(str(minutes).strip())
        if not 1 <= minutes <= MAX_MINUTES:
            raise ValueError
    except (TypeError, ValueError):
        errors["minutes"] = ["时长应在 1 到 1440 分钟之间"]
    if not isinstance(served_on, dt.date) or isinstance(served_on, dt.datetime):
        errors["served_on"] = ["日期不正确"]
    elif served_on > timezone.localdate(now):
        errors["served_on"] = ["服务日期不能晚于今天"]
    elif served_on < holding.started_on:
        errors["served_on"] = ["服务日期不能早于上岗日期"]
    if resident is not None and not resident.org.path.startswith(holding.post.org.path):
        errors["resident"] = ["服务对象不是本村社区的居民"]
    if pledge is not None and pledge.member_id != holding.member_id:
        errors["pledge"] = ["只能关联本人的承诺"]
    if errors:
        raise ValidationError(errors)
    service = PostService.objects.create(holding=holding, resident=resident, pledge=pledge, served_on=served_on,
                                         minutes=minutes, notes=notes, recorded_by=_user(actor), created_at=now)
    audit_record(by=actor, action="create", obj=service, after={"minutes": minutes, "served_on": str(served_on)},
                 summary=f"记录岗位服务：{holding.post.name}")
    if resident is not None and (user := getattr(resident.person, "user", None)) is not None:
        transaction.on_commit(lambda: notify(
            to=user, kind="posts.confirm", subject=f"{holding.post.name}：请确认党员为您提供的服务",
            body=notes[:200], link=f"/posts/services/{service.pk}/", key=f"post-service:{service.pk}:recorded"))
    return service


@transaction.atomic
def post_service_confirm(*, actor: Any, service: PostService, rating: Any, comment: Any = "") -> PostService:
    """The resident served (or staff on the resident's behalf — recorded as such) confirms and rates a service; the
    holder earns points by the organisation's rules (source "post", so a second confirmation awards nothing)."""
    policy.require(actor, "view", service)
    who = PostServicePolicy(PostService).confirms_as(actor, service)
    if who is None:
        raise policy.NotAllowed("只有被服务的居民或本村社区的书记可以确认")
    if rating not in PostService.Rating.values:
        raise ValidationError({"rating": ["请选择评价：满意、基本满意或不满意"]})
    comment = clean_text(comment, "comment", 300, required=False)
    now = timezone.now()
    if PostService.objects.filter(pk=service.pk, status=PostService.Status.RECORDED).update(
            status=PostService.Status.CONFIRMED, rating=rating, comment=comment, confirmed_by=_user(actor),
            on_behalf=who == "staff", confirmed_at=now) != 1:
        raise PostConflict("这条服务记录已确认过，积分不会重复发放")
    service.refresh_from_db()
    member = service.holding.member
    txn = points_award(member=member, source="post", source_id=service.pk, category=POINTS_CATEGORY,
                       minutes=service.minutes, satisfied=rating == PostService.Rating.SATISFIED,
                       on=service.served_on)
    points = txn.points_award.points if txn is not None and hasattr(txn, "points_award") else 0
    if points:
        PostService.objects.filter(pk=service.pk).update(points=points)
        service.points = points
    audit_record(by=actor, action="update", obj=service,
                 after={"status": service.status, "rating": rating, "on_behalf": who == "staff", "points": points},
                 summary=("代居民确认岗位服务" if who == "staff" else "居民确认岗位服务") + f"，积分 {points}")
    users = list(get_user_model().objects.filter(person_id=member.person_id, is_active=True))
    def tell() -> None:
        for user in users:
            notify(to=user, kind="posts.confirmed", subject=f"岗位服务已确认，获得 {points} 积分", body="",
                   link="/points/", key=f"post-service:{service.pk}:confirmed")

    transaction.on_commit(tell)
    return service
