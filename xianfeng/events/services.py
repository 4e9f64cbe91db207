"""Every write to teams, activities, sign-ups, attendance, hours and certificates.

Views, the API, jobs and the demo call these; each runs in a transaction and leaves an audit row where a person
decided something. Races are decided by the database: a place is taken by a conditional UPDATE on the activity's
counter, a second check-in meets the (activity, person) unique constraint, an hours decision is a conditional UPDATE
from "pending".

Every service that writes takes the acting user as `actor=` and asks the policy (events/policies.py) before it
changes anything: out of the actor's reach is NotFound, exactly like a missing object. `actor=None` is the system
— jobs, management commands and the demo's set-up — and is checked by nothing; pages and the API always pass the
signed-in user.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from xianfeng.core.audit import audit_record, changed, snapshot
from xianfeng.core.ids import normalise_text
from xianfeng.core.policy import NotAllowed, require
from xianfeng.core.text import clean_text
from xianfeng.orgs.models import Member, Organisation, Person
from xianfeng.points.categories import VOLUNTEER

from .models import (
    Activity,
    ActivityKind,
    Attendance,
    Audience,
    Certificate,
    Registration,
    Team,
    TeamMember,
)

# The rotating check-in code changes every TOKEN_STEP seconds; a scan is accepted for TOKEN_WINDOWS steps (the
# code on screen and the one before it), so a code read just before it changed still works and none lives > 60 s.
TOKEN_STEP = 30
TOKEN_WINDOWS = 2
PERSONAL_CODE_MAX_AGE = 300  # a member's personal code (shown on their phone, refreshed) is good for 5 minutes
CHECKIN_OPENS_BEFORE = dt.timedelta(minutes=60)  # self check-in opens an hour before the start ...
CHECKIN_CLOSES_AFTER = dt.timedelta(minutes=30)  # ... and closes half an hour after the end
AUTO_CLOSE_AFTER = dt.timedelta(hours=2)  # a missing check-out is closed this long after the activity ends
MAX_MINUTES = 12 * 60  # at most 12 hours count for one attendance
CERTIFICATE_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed by hand
POINTS_SOURCE = "activity_hours"
POINTS_CATEGORY = VOLUNTEER  # the points rules' category of volunteer hours
_TOKEN_SALT = "xianfeng.events.checkin"
_PERSONAL_SALT = "xianfeng.events.personal"


class TokenError(ValidationError):
    """A check-in code that is forged, damaged or expired. The message is for the person who scanned it."""


class NotInAudience(ValidationError):
    pass


def _require(actor: Any, action: str, obj: Any) -> None:
    """The policy's answer for `actor` (None: the system, see the module's docstring)."""
    if actor is not None:
        require(actor, action, obj)


def _require_self(actor: Any, person: Person) -> None:
    """Signing up, asking to join, checking in with the rotating code: one does these for oneself only."""
    if actor is not None and getattr(actor, "person_id", None) != person.pk:
        raise NotAllowed("只能为本人办理")


def _now(at: dt.datetime | None) -> dt.datetime:
    return at or timezone.now()


# ---- teams ------------------------------------------------------------------------------------------------------


@transaction.atomic
def team_create(*, org: Organisation, name: str, leader: Person | None = None, skills: str = "",
                description: str = "", open_to_requests: bool = True, actor: Any) -> Team:
    """Found a team sponsored by `org`; the leader (if any) becomes its first active member."""
    _require(actor, "change", org)
    team = Team(org=org, name=clean_text(name, "name", 100, required=True), leader=leader,
                skills=clean_text(skills, "skills", 300, required=False),
                description=clean_text(description, "description", 5000, required=False, multiline=True),
                open_to_requests=open_to_requests)
    team.full_clean()
    team.save()
    if leader is not None:
        TeamMember.objects.create(team=team, person=leader, status=TeamMember.Status.ACTIVE, is_leader=True,
                                  joined_at=timezone.now(), decided_by=actor if getattr(actor, "pk", None) else None)
    audit_record(by=actor, action="create", obj=team, after=snapshot(team), summary=f"新建服务团 {team.name}")
    return team


def _membership_for_update(team: Team, person: Person) -> TeamMember | None:
    return TeamMember.objects.select_for_update().filter(team=team, person=person).first()


def _set_membership(team: Team, person: Person, status: str, actor: Any) -> TeamMember:
    membership = _membership_for_update(team, person)
    if membership is None:
        try:
            with transaction.atomic():
                return TeamMember.objects.create(team=team, person=person, status=status)
        except IntegrityError:  # a simultaneous request made the row first
            membership = _membership_for_update(team, person)
            assert membership is not None
    if membership.status in (TeamMember.Status.ACTIVE, TeamMember.Status.REQUESTED, TeamMember.Status.INVITED):
        return membership
    membership.status = status
    membership.joined_at = None
    membership.save(update_fields=["status", "joined_at", "updated_at"])
    return membership


@transaction.atomic
def team_request_join(*, team: Team, person: Person, actor: Any) -> TeamMember:
    """Ask to join an open team. Asking again (or being in the team already) changes nothing."""
    _require(actor, "view", team)
    _require_self(actor, person)
    if not team.is_active or not team.open_to_requests:
        raise ValidationError("该服务团暂不接受入团申请")
    existing = TeamMember.objects.filter(team=team, person=person).first()
    if existing is not None and existing.status == TeamMember.Status.INVITED:  # already invited: asking accepts
        return team_invitation_answer(membership=existing, accept=True, actor=actor)
    membership = _set_membership(team, person, TeamMember.Status.REQUESTED, actor)
    audit_record(by=actor, action="create", obj=membership, summary=f"申请加入服务团 {team.name}：{person.name}")
    return membership


@transaction.atomic
def team_invite(*, team: Team, person: Person, actor: Any) -> TeamMember:
    """Invite a person; a pending request from the same person is approved instead."""
    _require(actor, "manage", team)
    if not team.is_active:
        raise ValidationError("该服务团已停用")
    existing = TeamMember.objects.filter(team=team, person=person).first()
    if existing is not None and existing.status == TeamMember.Status.REQUESTED:
        return team_member_decide(membership=existing, approve=True, actor=actor)
    membership = _set_membership(team, person, TeamMember.Status.INVITED, actor)
    audit_record(by=actor, action="create", obj=membership, summary=f"邀请加入服务团 {team.name}：{person.name}")
    user = getattr(person, "user", None) if person.pk else None
    if user is not None and membership.status == TeamMember.Status.INVITED:
        from xianfeng.notify.services import notify

        notify(to=user, kind="events.team_invitation", subject=f"邀请您加入服务团：{team.name}",
               link=f"/events/teams/{team.pk}/",
               key=f"events:team:{team.pk}:invite:{membership.pk}:{int(membership.updated_at.timestamp())}")
    return membership


def _decide(membership: TeamMember, from_status: str, approve: bool, actor: Any, what: str) -> TeamMember:
    new = TeamMember.Status.ACTIVE if approve else TeamMember.Status.DECLINED
    now = timezone.now()
    changed_rows = TeamMember.objects.filter(pk=membership.pk, status=from_status).update(
        status=new, joined_at=now if approve else None, decided_by=actor if getattr(actor, "pk", None) else None,
        updated_at=now)
    if changed_rows != 1:
        raise ValidationError(f"该{what}已处理")
    membership.refresh_from_db()
    audit_record(by=actor, action="update", obj=membership, before={"status": from_status}, after={"status": new},
                 summary=f"{what}{'通过' if approve else '未通过'}：{membership.person.name} / {membership.team.name}")
    return membership


@transaction.atomic
def team_member_decide(*, membership: TeamMember, approve: bool, actor: Any) -> TeamMember:
    """Approve or decline a request to join. Raises ValidationError if it was already decided."""
    _require(actor, "decide", membership)
    return _decide(membership, TeamMember.Status.REQUESTED, approve, actor, "入团申请")


@transaction.atomic
def team_invitation_answer(*, membership: TeamMember, accept: bool, actor: Any) -> TeamMember:
    """The invitee accepts or turns down an invitation."""
    _require(actor, "answer", membership)
    return _decide(membership, TeamMember.Status.INVITED, accept, actor, "入团邀请")


@transaction.atomic
def team_leave(*, membership: TeamMember, actor: Any) -> TeamMember:
    _require(actor, "leave", membership)
    if TeamMember.objects.filter(pk=membership.pk, status=TeamMember.Status.ACTIVE).update(
            status=TeamMember.Status.LEFT, is_leader=False, updated_at=timezone.now()) != 1:
        raise ValidationError("不在该服务团中")
    membership.refresh_from_db()
    audit_record(by=actor, action="update", obj=membership, after={"status": "left"},
                 summary=f"退出服务团 {membership.team.name}：{membership.person.name}")
    return membership


TEAM_EDITABLE = ("name", "skills", "description", "open_to_requests")


@transaction.atomic
def team_update(*, team: Team, actor: Any, leader: Person | None | bool = False, **changes: Any) -> Team:
    """Change a team's name, skills, description, openness and (with `leader`) its leader. A new leader must be
    an active member of the team; the old one stays a member. Raises ValidationError."""
    _require(actor, "manage", team)
    unknown = set(changes) - set(TEAM_EDITABLE)
    if unknown:
        raise ValidationError({name: ["不能修改该项"] for name in sorted(unknown)})
    current = Team.objects.select_for_update().get(pk=team.pk)
    if not current.is_active:
        raise ValidationError("该服务团已停用")
    before = snapshot(current, [*TEAM_EDITABLE, "leader"])
    if "name" in changes:
        current.name = clean_text(changes["name"], "name", 100, required=True)
    if "skills" in changes:
        current.skills = clean_text(changes["skills"], "skills", 300, required=False)
    if "description" in changes:
        current.description = clean_text(changes["description"], "description", 5000, required=False, multiline=True)
    if "open_to_requests" in changes:
        current.open_to_requests = bool(changes["open_to_requests"])
    if leader is not False:
        if leader is not None and not TeamMember.objects.filter(team=current, person=leader,
                                                                status=TeamMember.Status.ACTIVE).exists():
            raise ValidationError({"leader": ["团长须是本团在团成员"]})
        current.leader = leader
        TeamMember.objects.filter(team=current, is_leader=True).update(is_leader=False, updated_at=timezone.now())
        if leader is not None:
            TeamMember.objects.filter(team=current, person=leader).update(is_leader=True, updated_at=timezone.now())
    try:
        current.full_clean()
    except ValidationError as exc:
        if "__all__" in exc.message_dict or "name" in exc.message_dict:  # the name is taken in this unit
            raise ValidationError({"name": ["本单位已有同名服务团"]}) from None
        raise
    current.save()
    old, new = changed(before, snapshot(current, [*TEAM_EDITABLE, "leader"]))
    if new:
        audit_record(by=actor, action="update", obj=current, before=old, after=new, summary=f"修改服务团 {current.name}")
    return current


@transaction.atomic
def team_deactivate(*, team: Team, actor: Any) -> Team:
    """Stop a team (停用): it takes no requests and appears in no figures; its members, activities and hours stay.
    Raises ValidationError if it was stopped already."""
    _require(actor, "change", team)
    if Team.objects.filter(pk=team.pk, is_active=True).update(is_active=False, open_to_requests=False) != 1:
        raise ValidationError("该服务团已停用")
    team.refresh_from_db()
    audit_record(by=actor, action="update", obj=team, before={"is_active": True}, after={"is_active": False},
                 summary=f"停用服务团 {team.name}")
    return team


# ---- activities -------------------------------------------------------------------------------------------------


ACTIVITY_TEXT = {"title": 200, "place": 200, "lecturer": 100, "topic": 200, "materials": 20000, "description": 5000}


def _activity_fields(*, org: Organisation, kind: str, title: str, starts_at: dt.datetime, ends_at: dt.datetime,
                     team: Team | None, capacity: int | None, audience: str, lecturer: str, topic: str, place: str,
                     materials: str, description: str) -> dict[str, Any]:
    """The checked field values of an activity (for create and update). Raises ValidationError with every field's
    errors at once."""
    errors: dict[str, list[str]] = {}
    if kind not in ActivityKind.values:
        errors["kind"] = ["活动类型不正确"]
    if audience not in Audience.values:
        errors["audience"] = ["参加对象不正确"]
    if audience == Audience.TEAM and team is None:
        errors["team"] = ["参加对象为服务团成员时须选择服务团"]
    if team is not None and not team.org.path.startswith(org.path):
        errors["team"] = ["服务团不属于该组织"]
    if starts_at is None or ends_at is None or timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        errors["starts_at"] = ["请填写开始和结束时间"]
    elif ends_at <= starts_at:
        errors["ends_at"] = ["结束时间须晚于开始时间"]
    elif ends_at - starts_at > dt.timedelta(days=7):
        errors["ends_at"] = ["一次活动不超过7天"]
    if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1):
        errors["capacity"] = ["名额须为正整数，或留空表示不限"]
    if kind == ActivityKind.LESSON and not normalise_text(lecturer):
        errors["lecturer"] = ["党课须填写主讲人"]
    given = {"title": title, "place": place, "lecturer": lecturer, "topic": topic, "materials": materials,
             "description": description}
    fields: dict[str, Any] = {}
    for name, limit in ACTIVITY_TEXT.items():
        try:
            fields[name] = clean_text(given[name], name, limit, required=name == "title", multiline=limit > 300)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    fields.update(team=team, starts_at=starts_at, ends_at=ends_at, capacity=capacity, audience=audience)
    return fields


@transaction.atomic
def activity_create(*, org: Organisation, kind: str, title: str, starts_at: dt.datetime, ends_at: dt.datetime,
                    team: Team | None = None, place: str = "", capacity: int | None = None,
                    audience: str = Audience.SUBTREE, lecturer: str = "", topic: str = "", materials: str = "",
                    description: str = "", actor: Any) -> Activity:
    """Plan an activity organised by `org` (a team's activity: by the team's sponsoring unit or above).

    Raises ValidationError with field errors (end before start, a team audience without a team, ...)."""
    _require(actor, "change", org)
    fields = _activity_fields(org=org, kind=kind, title=title, starts_at=starts_at, ends_at=ends_at, team=team,
                              capacity=capacity, audience=audience, lecturer=lecturer, topic=topic, place=place,
                              materials=materials, description=description)
    activity = Activity(org=org, kind=kind, created_by=actor if getattr(actor, "pk", None) else None, **fields)
    activity.full_clean()
    activity.save()
    audit_record(by=actor, action="create", obj=activity, after=snapshot(activity, ["kind", "title", "org", "starts_at"]),
                 summary=f"新建活动 {activity.title}")
    return activity


EDITABLE = ("title", "team", "starts_at", "ends_at", "place", "capacity", "audience", "lecturer", "topic", "materials",
            "description")


@transaction.atomic
def activity_update(*, activity: Activity, actor: Any, **changes: Any) -> Activity:
    """Change a planned activity's details (kind and organiser stay). Fields not given keep their values.

    The places never drop below those already taken (the waiting list keeps its order); more places promote the
    waiting list in order. Those signed up are told when the time or the place changes. Raises ValidationError
    for a cancelled or finished activity or bad values (the same checks as activity_create)."""
    _require(actor, "change", activity)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError({name: ["不能修改该项"] for name in sorted(unknown)})
    current = Activity.objects.select_for_update(of=("self",)).select_related("org", "team__org").get(pk=activity.pk)
    if current.status == Activity.Status.CANCELLED:
        raise ValidationError("活动已取消，不能修改")
    if current.ends_at <= timezone.now():
        raise ValidationError("活动已结束，不能修改")
    values = {name: changes.get(name, getattr(current, name)) for name in EDITABLE}
    fields = _activity_fields(org=current.org, kind=current.kind, **values)
    if fields["capacity"] is not None and fields["capacity"] < current.registered_count:
        raise ValidationError({"capacity": [f"名额不能少于已报名的 {current.registered_count} 人"]})
    before = snapshot(current, list(EDITABLE))
    for name, value in fields.items():
        setattr(current, name, value)
    current.full_clean()
    current.save(update_fields=list(fields))
    old, new = changed(before, snapshot(current, list(EDITABLE)))
    if not new:
        return current
    audit_record(by=actor, action="update", obj=current, before=old, after=new, summary=f"修改活动 {current.title}")
    while _promote_waitlisted(current) is not None:  # more places: the waiting list moves up in order
        pass
    if {"starts_at", "ends_at", "place"} & set(new):
        from xianfeng.notify.services import notify

        local = timezone.localtime(current.starts_at)
        stamp = int(timezone.now().timestamp())
        for reg in (Registration.objects.filter(activity=current).exclude(status=Registration.Status.CANCELLED)
                    .select_related("person__user")):
            user = getattr(reg.person, "user", None)
            if user is not None:
                notify(to=user, kind="events.changed", subject=f"活动时间地点变更：{current.title}",
                       body=f"{local:%m月%d日 %H:%M} 在 {current.place or '（地点待定）'}", link=f"/events/{current.pk}/",
                       key=f"events:activity:{current.pk}:changed:{stamp}")
        if current.reminded_at is not None and "starts_at" in new:  # a new time: remind again
            Activity.objects.filter(pk=current.pk).update(reminded_at=None)
    current.refresh_from_db()
    return current


@transaction.atomic
def activity_cancel(*, activity: Activity, actor: Any) -> Activity:
    """Cancel a planned activity and tell everyone signed up."""
    _require(actor, "change", activity)
    if Activity.objects.filter(pk=activity.pk).exclude(status=Activity.Status.CANCELLED).update(
            status=Activity.Status.CANCELLED) != 1:
        raise ValidationError("活动已取消")
    activity.refresh_from_db()
    audit_record(by=actor, action="update", obj=activity, after={"status": "cancelled"}, summary=f"取消活动 {activity.title}")
    from xianfeng.notify.services import notify

    for reg in (Registration.objects.filter(activity=activity).exclude(status=Registration.Status.CANCELLED)
                .select_related("person__user")):
        user = getattr(reg.person, "user", None)
        if user is not None:
            notify(to=user, kind="events.cancelled", subject=f"活动已取消：{activity.title}",
                   link=f"/events/{activity.pk}/", key=f"events:activity:{activity.pk}:cancelled")
    return activity


def current_member(person: Person) -> Member | None:
    """The person's membership as it is now (not left), with its organisation — one query."""
    return (Member.objects.filter(person_id=person.pk).exclude(status=Member.Status.LEFT).select_related("org")
            .only("id", "status", "org__path").first())


def audience_includes(activity: Activity, person: Person, member: Member | None | bool = False) -> bool:
    """Whether `person` is among those the activity is for. Pass `member` (current_member(person), possibly None)
    when it is at hand to save the query."""
    if activity.audience == Audience.PUBLIC:
        return True
    if activity.audience == Audience.TEAM:
        return activity.team_id is not None and TeamMember.objects.filter(
            team_id=activity.team_id, person_id=person.pk, status=TeamMember.Status.ACTIVE).exists()
    found = current_member(person) if member is False else member
    return isinstance(found, Member) and found.org.path.startswith(activity.org.path)


@transaction.atomic
def activity_signup(*, activity: Activity, person: Person, actor: Any) -> Registration:
    """Sign `person` up: a place if one is left, else the waiting list. Signing up again changes nothing.

    The place is taken by a conditional UPDATE of the activity's counter, so two last-minute sign-ups never both
    get the last place. Raises ValidationError for a cancelled or finished activity or someone outside its audience.
    """
    _require(actor, "view", activity)
    _require_self(actor, person)
    activity = Activity.objects.get(pk=activity.pk)
    if activity.status == Activity.Status.CANCELLED:
        raise ValidationError("活动已取消")
    if activity.ends_at <= timezone.now():
        raise ValidationError("活动已结束，不能报名")
    if not audience_includes(activity, person):
        raise NotInAudience("您不在本次活动的参加对象范围内")
    reg = Registration.objects.select_for_update().filter(activity=activity, person=person).first()
    if reg is not None and reg.status != Registration.Status.CANCELLED:
        return reg
    status = Registration.Status.REGISTERED if _take_place(activity) else Registration.Status.WAITLISTED
    now = timezone.now()
    if reg is None:
        reg = Registration.objects.create(activity=activity, person=person, status=status, queued_at=now)
    else:
        reg.status, reg.queued_at = status, now
        reg.save(update_fields=["status", "queued_at", "updated_at"])
    audit_record(by=actor, action="create", obj=reg, summary=f"报名 {activity.title}：{person.name}（{reg.get_status_display()}）")
    return reg


def _take_place(activity: Activity) -> bool:
    qs = Activity.objects.filter(pk=activity.pk)
    if activity.capacity is not None:
        qs = qs.filter(registered_count__lt=F("capacity"))
    return qs.update(registered_count=F("registered_count") + 1) == 1


@transaction.atomic
def registration_cancel(*, registration: Registration, actor: Any) -> Registration:
    """Withdraw a sign-up. A freed place goes to the first on the waiting list, who is told."""
    _require(actor, "cancel", registration)
    reg = Registration.objects.select_for_update().get(pk=registration.pk)
    if reg.status == Registration.Status.CANCELLED:
        return reg
    held_place = reg.status == Registration.Status.REGISTERED
    reg.status = Registration.Status.CANCELLED
    reg.save(update_fields=["status", "updated_at"])
    audit_record(by=actor, action="update", obj=reg, after={"status": "cancelled"},
                 summary=f"取消报名 {reg.activity.title}：{reg.person.name}")
    if held_place:
        Activity.objects.filter(pk=reg.activity_id).update(registered_count=F("registered_count") - 1)
        _promote_waitlisted(reg.activity)
    return reg


def _promote_waitlisted(activity: Activity) -> Registration | None:
    nxt = (Registration.objects.select_for_update().filter(activity=activity, status=Registration.Status.WAITLISTED)
           .order_by("queued_at", "id").first())
    if nxt is None or not _take_place(activity):
        return None
    nxt.status = Registration.Status.REGISTERED
    nxt.save(update_fields=["status", "updated_at"])
    user = getattr(nxt.person, "user", None)
    if user is not None:
        from xianfeng.notify.services import notify

        notify(to=user, kind="events.promoted", subject=f"候补转正：{activity.title}",
               body="有人取消报名，您已从候补转为正式报名。", link=f"/events/{activity.pk}/",
               key=f"events:registration:{nxt.pk}:promoted:{int(nxt.updated_at.timestamp())}")
    return nxt


def reminders_send(*, now: dt.datetime | None = None, ahead: dt.timedelta = dt.timedelta(hours=24)) -> int:
    """Remind everyone signed up for an activity that starts within `ahead`. Each activity is reminded once (the
    activity row is claimed with a conditional UPDATE; notify's key makes a replay send nothing). Returns the
    number of notifications."""
    from xianfeng.notify.services import notify

    now = _now(now)
    sent = 0
    due = Activity.objects.filter(status=Activity.Status.PLANNED, reminded_at__isnull=True, starts_at__gt=now,
                                  starts_at__lte=now + ahead).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            if Activity.objects.filter(pk=pk, reminded_at__isnull=True).update(reminded_at=now) != 1:
                continue
            activity = Activity.objects.get(pk=pk)
            local = timezone.localtime(activity.starts_at)
            for reg in Registration.objects.filter(activity=activity, status=Registration.Status.REGISTERED
                                                   ).select_related("person__user"):
                user = getattr(reg.person, "user", None)
                if user is None:
                    continue
                notify(to=user, kind="events.reminder", subject=f"活动提醒：{activity.title}",
                       body=f"{local:%m月%d日 %H:%M} 在 {activity.place or '（地点待定）'}", link=f"/events/{activity.pk}/",
                       key=f"events:activity:{activity.pk}:reminder")
                sent += 1
    return sent


# ---- check-in codes ---------------------------------------------------------------------------------------------


def _step(at: float) -> int:
    return int(at // TOKEN_STEP)


def checkin_token(activity: Activity, *, at: float | None = None) -> str:
    """The rotating code the organiser's phone shows: the activity and the current 30-second step, signed."""
    step = _step(time.time() if at is None else at)
    return signing.Signer(salt=_TOKEN_SALT).sign(f"{activity.pk}.{step}")


def checkin_token_read(token: str, *, at: float | None = None) -> int:
    """The activity id in a rotating code. Raises TokenError for a forged or damaged code, or one more than
    TOKEN_WINDOWS steps old (or from the future)."""
    try:
        value = signing.Signer(salt=_TOKEN_SALT).unsign(str(token or "")[:200])
        activity_id, step = (int(part) for part in value.split("."))
    except (signing.BadSignature, ValueError):
        raise TokenError("签到码无效：不是本平台生成的签到码，请扫描现场屏幕上的二维码") from None
    now_step = _step(time.time() if at is None else at)
    if not 0 <= now_step - step < TOKEN_WINDOWS:
        raise TokenError("签到码已过期：现场二维码每30秒更新一次，请重新扫描")
    return activity_id


def personal_code(person: Person) -> str:
    """A person's own code (shown on their phone for the organiser to scan), good for PERSONAL_CODE_MAX_AGE."""
    return signing.TimestampSigner(salt=_PERSONAL_SALT).sign(str(person.pk))


def personal_code_read(code: str) -> int:
    """The person id in a personal code. Raises TokenError for a forged, damaged or expired code."""
    try:
        return int(signing.TimestampSigner(salt=_PERSONAL_SALT).unsign(str(code or "").strip()[:200],
                                                                        max_age=PERSONAL_CODE_MAX_AGE))
    except signing.SignatureExpired:
        raise TokenError("个人签到码已过期，请让参加者刷新后再扫") from None
    except (signing.BadSignature, ValueError):
        raise TokenError("个人签到码无效") from None


# ---- attendance -------------------------------------------------------------------------------------------------


def checkin_open(activity: Activity, now: dt.datetime | None = None) -> bool:
    now = _now(now)
    return (activity.status != Activity.Status.CANCELLED
            and activity.starts_at - CHECKIN_OPENS_BEFORE <= now <= activity.ends_at + CHECKIN_CLOSES_AFTER)


def _check_in_refusal(activity: Activity, method: str, at: dt.datetime, now: dt.datetime) -> None:
    """Raise ValidationError if a check-in by `method` at `at` is not allowed (no database access)."""
    if activity.status == Activity.Status.CANCELLED:
        raise ValidationError("活动已取消")
    if method == Attendance.Method.MANUAL:
        if at > now + dt.timedelta(minutes=5):
            raise ValidationError({"check_in_at": ["签到时间不能晚于现在"]})
        if at < activity.starts_at - CHECKIN_OPENS_BEFORE or at > activity.ends_at + CHECKIN_CLOSES_AFTER:
            raise ValidationError({"check_in_at": ["签到时间须在活动时间前后"]})
    elif not checkin_open(activity, now):
        raise ValidationError("不在签到时间内（活动开始前1小时至结束后30分钟）")


def attendance_check_in(*, activity: Activity, person: Person, method: str, at: dt.datetime | None = None,
                        actor: Any) -> tuple[Attendance, bool]:
    """Record that `person` is at `activity`. Returns (attendance, created): checking in twice — or two scans at
    once — leaves one row (the unique constraint decides). Self check-in (rotating code) needs the person in the
    audience and the check-in window open; the organiser's scan and manual entry record anyone (manual entry is
    audited with who recorded it). Raises ValidationError; someone already checked in gets their row back instead.

    This is on the path of a whole lesson arriving at once, so it is a handful of statements: the person's
    membership (one SELECT), then one atomic block holding the INSERT (and, for manual entry, its audit row); a
    second scan meets the unique constraint, the block rolls back and the existing row is read. Nothing else —
    no notification, no points (a lesson earns none; volunteer hours earn them when approved).
    `activity` must come with its organisation loaded (select_related("org")) to spare a query."""
    if method == Attendance.Method.ROTATING_QR:  # the scanned code is the key; one checks oneself in
        _require_self(actor, person)
    else:
        _require(actor, "change", activity)
    if method not in Attendance.Method.values:
        raise ValidationError({"method": ["签到方式不正确"]})
    now = timezone.now()
    at = at or now
    member = current_member(person)
    try:
        _check_in_refusal(activity, method, at, now)
        if method == Attendance.Method.ROTATING_QR and not audience_includes(activity, person, member):
            raise NotInAudience("您不在本次活动的参加对象范围内，请联系组织者补录")
    except ValidationError:
        existing = Attendance.objects.filter(activity=activity, person_id=person.pk).first()
        if existing is not None:  # already checked in: a late rescan is not an error
            return existing, False
        raise
    attendance = Attendance(
        activity=activity, person=person, member=member, method=method, check_in_at=at,
        member_expected=(member is not None and activity.audience == Audience.SUBTREE
                         and member.org.path.startswith(activity.org.path)),
        hours_status=Attendance.Hours.OPEN if activity.earns_hours else Attendance.Hours.NONE,
        recorded_by=actor if getattr(actor, "pk", None) else None,
    )
    try:
        with transaction.atomic():
            attendance.save(force_insert=True)
            if method == Attendance.Method.MANUAL:
                audit_record(by=actor, action="create", obj=attendance,
                             summary=f"补录签到 {activity.title}：{person.name}",
                             after={"check_in_at": str(at), "method": method})
    except IntegrityError:  # the same person's other scan got there first
        return Attendance.objects.get(activity=activity, person_id=person.pk), False
    return attendance, True


def counted_minutes(activity: Activity, check_in: dt.datetime, check_out: dt.datetime) -> int:
    """Minutes that count: the part of [check-in, check-out] inside the scheduled activity, at most MAX_MINUTES.
    (Waiting before the start or staying on after the end is not service time.)"""
    start = max(check_in, activity.starts_at)
    end = min(check_out, activity.ends_at)
    if end <= start:
        return 0
    return min(MAX_MINUTES, int((end - start).total_seconds() // 60))


@transaction.atomic
def attendance_check_out(*, attendance: Attendance, at: dt.datetime | None = None, actor: Any) -> Attendance:
    """Record the check-out of a volunteer activity; the hours then wait for review.
    Raises ValidationError({"check_out_at": ...}) for a time before the check-in or in the future."""
    _require(actor, "check_out", attendance)
    att = Attendance.objects.select_for_update().select_related("activity").get(pk=attendance.pk)
    if not att.activity.earns_hours:
        raise ValidationError("该活动不记录志愿服务时长，无需签退")
    if att.check_out_at is not None:
        raise ValidationError("已签退")
    at = at or timezone.now()
    if at < att.check_in_at:
        raise ValidationError({"check_out_at": ["签退时间早于签到时间"]})
    if at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError({"check_out_at": ["签退时间不能晚于现在"]})
    att.check_out_at = at
    att.minutes = counted_minutes(att.activity, att.check_in_at, at)
    att.hours_status = Attendance.Hours.PENDING
    att.save(update_fields=["check_out_at", "minutes", "hours_status"])
    if att.recorded_by_id is not None or (actor is not None and getattr(actor, "person_id", None) != att.person_id):
        audit_record(by=actor, action="update", obj=att, after={"check_out_at": str(at), "minutes": att.minutes},
                     summary=f"签退 {att.activity.title}：{att.person.name}")
    return att


def attendance_close_missing(*, now: dt.datetime | None = None) -> int:
    """Close every volunteer attendance still without a check-out AUTO_CLOSE_AFTER after its activity ended: the
    check-out becomes the scheduled end and the row is flagged (auto_closed) for the reviewer. Returns the count.
    A job's step (no actor: the system)."""
    now = _now(now)
    open_rows = (Attendance.objects.filter(hours_status=Attendance.Hours.OPEN, check_out_at__isnull=True,
                                           activity__ends_at__lte=now - AUTO_CLOSE_AFTER)
                 .select_related("activity").order_by("pk"))
    closed = 0
    for att in open_rows.iterator(chunk_size=500):
        out = max(att.activity.ends_at, att.check_in_at)
        minutes = counted_minutes(att.activity, att.check_in_at, out)
        with transaction.atomic():
            closed += Attendance.objects.filter(pk=att.pk, hours_status=Attendance.Hours.OPEN).update(
                check_out_at=out, minutes=minutes, hours_status=Attendance.Hours.PENDING, auto_closed=True,
                review_note="未签退，系统按活动结束时间补签退，请核实")
    return closed


@transaction.atomic
def hours_approve(*, attendance: Attendance, actor: Any, minutes: int | None = None) -> Attendance:
    """Approve pending volunteer hours (optionally corrected to `minutes`, never above what was counted); a
    member's approved hours earn points once (points_award is keyed by this attendance)."""
    _require(actor, "change", attendance)
    att = Attendance.objects.select_for_update(of=("self",)).select_related("activity", "member").get(pk=attendance.pk)
    if minutes is not None:
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= att.minutes:
            raise ValidationError({"minutes": [f"认定分钟须在 0 到 {att.minutes} 之间"]})
    else:
        minutes = att.minutes
    now = timezone.now()
    if Attendance.objects.filter(pk=att.pk, hours_status=Attendance.Hours.PENDING).update(
            hours_status=Attendance.Hours.APPROVED, minutes=minutes, decided_by=actor if getattr(actor, "pk", None) else None,
            decided_at=now) != 1:
        raise ValidationError("该时长不是待审核状态")
    audit_record(by=actor, action="update", obj=att, before={"hours_status": "pending", "minutes": att.minutes},
                 after={"hours_status": "approved", "minutes": minutes},
                 summary=f"认定志愿服务时长 {minutes} 分钟：{att.person.name} / {att.activity.title}")
    att.refresh_from_db()
    if att.member is not None and minutes > 0:
        from xianfeng.points.services import points_award

        points_award(member=att.member, source=POINTS_SOURCE, source_id=att.pk, category=POINTS_CATEGORY,
                     minutes=minutes, satisfied=False, on=timezone.localdate(att.check_in_at), actor=actor)
    return att


@transaction.atomic
def hours_decline(*, attendance: Attendance, reason: str, actor: Any) -> Attendance:
    """Decline pending hours with a reason; the row stays (hours are never deleted)."""
    _require(actor, "change", attendance)
    reason = clean_text(reason, "reason", 300, required=True)
    if Attendance.objects.filter(pk=attendance.pk, hours_status=Attendance.Hours.PENDING).update(
            hours_status=Attendance.Hours.DECLINED, review_note=reason,
            decided_by=actor if getattr(actor, "pk", None) else None, decided_at=timezone.now()) != 1:
        raise ValidationError("该时长不是待审核状态")
    attendance.refresh_from_db()
    audit_record(by=actor, action="update", obj=attendance, before={"hours_status": "pending"},
                 after={"hours_status": "declined", "reason": reason},
                 summary=f"不予认定志愿服务时长：{attendance.person.name} / {attendance.activity.title}")
    return attendance


# ---- certificates -----------------------------------------------------------------------------------------------


def _certificate_code() -> str:
    return "".join(secrets.choice(CERTIFICATE_CODE_ALPHABET) for _ in range(12))


@transaction.atomic
def certificate_issue(*, person: Person, org: Organisation, start: dt.date, end: dt.date, actor: Any) -> Certificate:
    """Certify `person`'s approved volunteer hours at activities of `org`'s subtree between `start` and `end`.
    Raises ValidationError if the period is wrong or holds no approved hours."""
    _require(actor, "change", org)
    if start is None or end is None or end < start:
        raise ValidationError({"end": ["截止日期须不早于起始日期"]})
    if end > timezone.localdate():
        raise ValidationError({"end": ["截止日期不能晚于今天"]})
    rows = list(
        Attendance.objects.filter(person=person, hours_status=Attendance.Hours.APPROVED, minutes__gt=0)
        .filter(activity__org__path__startswith=org.path)
        .filter(check_in_at__date__gte=start, check_in_at__date__lte=end)
        .select_related("activity").order_by("check_in_at", "pk")
    )
    if not rows:
        raise ValidationError("该期间没有已认定的志愿服务时长")
    entries = [[a.pk, timezone.localdate(a.check_in_at).isoformat(), a.activity.title, a.minutes] for a in rows]
    for _ in range(5):
        code = _certificate_code()
        if not Certificate.objects.filter(code=code).exists():
            break
    cert = Certificate.objects.create(code=code, person=person, org=org, start=start, end=end,
                                      minutes=sum(a.minutes for a in rows), activity_count=len(rows), entries=entries,
                                      issued_by=actor if getattr(actor, "pk", None) else None)
    audit_record(by=actor, action="create", obj=cert, summary=f"出具志愿服务记录证明 {person.name} {cert.hours} 小时",
                 after={"code": code, "minutes": cert.minutes})
    return cert


def certificate_find(code: str) -> Certificate | None:
    """The certificate with this verification code (spaces, dashes and case ignored), or None."""
    clean = "".join(ch for ch in str(code or "").upper() if ch.isalnum())[:16]
    if len(clean) != 12:
        return None
    return Certificate.objects.select_related("person", "org").filter(code=clean).first()
