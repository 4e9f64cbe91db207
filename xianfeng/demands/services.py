"""Every write to the demand archive: demands, claims (race-proof), pairings, service records and their
confirmation (which awards points through xianfeng.points.services.points_award).

    demand = demand_create(org=hebin, category="助老", description="每周陪老人买菜", actor=secretary)
    claim = demand_claim(demand=demand, member=member, actor=member_user)      # AlreadyClaimed → 409
    record = service_record(claim=claim, served_on=today, minutes=90, notes="陪同买菜", actor=member_user)
    service_confirm(record=record, rating="satisfied", actor=resident_user)     # points, once

A claim is decided by one conditional UPDATE on the demand (… WHERE status = 'open' AND claimed_count < capacity),
so two simultaneous claims on a one-person demand give exactly one winner on any backend.

Every service that writes takes the acting user as `actor=` and asks the policy (demands/policies.py) before it
changes anything: out of the actor's reach is NotFound, exactly like a missing demand. `actor=None` is the system —
jobs, management commands and the demo's set-up — and is checked by nothing; pages and the API always pass the
signed-in user.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from xianfeng.core.audit import audit_record, snapshot
from xianfeng.core.policy import Conflict, NotAllowed, NotFound, allows, require
from xianfeng.core.text import clean_text
from xianfeng.orgs.models import Member, Organisation, Resident, User

from .categories import categories_for, category_list
from .models import Category, Claim, Demand, DemandCategory, Pairing, ServiceRecord
from .policies import demand_policy, record_policy
from .positions import household_position

MAX_MINUTES = 24 * 60


class DemandConflict(Conflict):
    """The demand's state forbids the act (answered 409)."""


class AlreadyClaimed(DemandConflict):
    pass


class DemandNotOpen(DemandConflict):
    pass


class AlreadyConfirmed(DemandConflict):
    pass


class ClaimLimit(DemandConflict):
    """The member gave up too many claims today (withdrawals_per_day)."""


def lapse_days() -> int:
    """Days a claim may stay unstarted before it lapses back to open (settings.DEMANDS_CLAIM_LAPSE_DAYS, 7)."""
    return int(getattr(settings, "DEMANDS_CLAIM_LAPSE_DAYS", 7))


def _require(actor: Any, action: str, obj: Any) -> None:
    """The policy's answer for `actor` (None: the system, see the module's docstring)."""
    if actor is not None:
        require(actor, action, obj)


def _require_self(actor: Any, member: Member) -> None:
    """Claiming and recording a service: a member does these for himself only."""
    if actor is not None and getattr(actor, "person_id", None) != member.person_id:
        raise NotAllowed("只能为本人办理")


def _user(actor: Any) -> User | None:
    return actor if getattr(actor, "is_authenticated", False) else None


def member_belongs(member: Member, org: Organisation) -> bool:
    """Whether the member's organisation (or 双管 organisation) lies in `org`'s subtree."""
    paths = [member.org.path] + ([member.managing_org.path] if member.managing_org is not None else [])
    return any(p.startswith(org.path) for p in paths)


def users_of_member(member: Member) -> list[User]:
    return list(User.objects.filter(person_id=member.person_id, is_active=True))


def _notify(users: list[Any], *, kind: str, subject: str, link: str, key: str) -> None:
    from xianfeng.notify.services import notify

    for user in users:
        if user is not None:
            notify(to=user, kind=kind, subject=subject, link=link, key=key)


def _secretaries(org: Organisation) -> list[User]:
    from xianfeng.core.scoping import STAFF_KINDS

    prefixes = [org.path[:i] for i in range(4, len(org.path) + 1, 4)]
    return list(User.objects.filter(roles__org__path__in=prefixes, roles__kind="secretary", is_active=True)
                .distinct()) or list(User.objects.filter(roles__org=org, roles__kind__in=STAFF_KINDS).distinct())


def clean_position(latitude: Any, longitude: Any) -> tuple[float | None, float | None]:
    """(lat, lon) as floats in range, or (None, None) when both are empty. Raises ValidationError naming the
    field: one without the other, not a number, out of range."""
    if latitude in (None, "") and longitude in (None, ""):
        return None, None
    errors: dict[str, list[str]] = {}
    values = []
    for name, value, limit in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            errors[name] = ["请填写经纬度数值" if value in (None, "") else "经纬度必须是数字"]
            continue
        if isinstance(value, bool) or number != number or not -limit <= number <= limit:
            errors[name] = [f"必须在 -{limit} 到 {limit} 之间"]
            continue
        values.append(number)
    if errors:
        raise ValidationError(errors)
    return values[0], values[1]



# ---- categories ---------------------------------------------------------------------------------------------------

MAX_CATEGORIES = 30


def _clean_names(names: Any) -> list[str]:
    if isinstance(names, str):
        names = names.splitlines()
    try:
        cleaned = [str(n).strip() for n in names]
    except TypeError:
        raise ValidationError({"names": ["类别必须是名称列表"]}) from None
    cleaned = [n for n in cleaned if n]
    if not cleaned:
        raise ValidationError({"names": ["至少要有一个服务类别"]})
    if len(cleaned) > MAX_CATEGORIES:
        raise ValidationError({"names": [f"服务类别不能超过 {MAX_CATEGORIES} 个"]})
    too_long = [n for n in cleaned if len(n) > 20]
    if too_long:
        raise ValidationError({"names": [f"类别名称不能超过20个字符：{too_long[0]}"]})
    seen: set[str] = set()
    for name in cleaned:
        if name in seen:
            raise ValidationError({"names": [f"类别重复：{name}"]})
        seen.add(name)
    return cleaned


@transaction.atomic
def category_list_set(*, org: Organisation, names: Any, actor: Any) -> list[DemandCategory]:
    """Give `org` its own list of demand categories, in this order; organisations below it without a list of their
    own follow it. Names no longer in the list are switched off, not deleted (demands filed under them keep their
    category); a name switched off before comes back on. Raises ValidationError (empty, too many, too long,
    repeated) and writes nothing then."""
    _require(actor, "change", org)
    cleaned = _clean_names(names)
    before = category_list(org)
    own = {c.name: c for c in DemandCategory.objects.select_for_update().filter(org=org)}
    for position, name in enumerate(cleaned):
        row = own.get(name)
        if row is None:
            own[name] = DemandCategory.objects.create(org=org, name=name, position=position)
        elif row.position != position or not row.is_active:
            DemandCategory.objects.filter(pk=row.pk).update(position=position, is_active=True)
    DemandCategory.objects.filter(org=org).exclude(name__in=cleaned).update(is_active=False)
    audit_record(by=actor, action="update", model="demands.DemandCategory", object_id=org.pk,
                 before={"categories": list(before.names)},
                 after={"categories": cleaned}, summary=f"服务类别 {org.name}：{'、'.join(cleaned)}")
    return list(DemandCategory.objects.filter(org=org, is_active=True).order_by("position", "id"))


@transaction.atomic
def category_list_inherit(*, org: Organisation, actor: Any) -> None:
    """`org` drops its own list and follows the list of the nearest organisation above it again (or the defaults).
    Raises DemandConflict when it has no list of its own."""
    _require(actor, "change", org)
    own = DemandCategory.objects.filter(org=org)
    names = list(own.filter(is_active=True).values_list("name", flat=True))
    if not own.exists():
        raise DemandConflict("该组织没有自己的服务类别，已在执行上级的类别")
    own.delete()
    audit_record(by=actor, action="update", model="demands.DemandCategory", object_id=org.pk,
                 before={"categories": names},
                 after={"categories": categories_for(org)}, summary=f"服务类别 {org.name}：改为执行上级类别")


# ---- demands -------------------------------------------------------------------------------------------------------


@transaction.atomic
def demand_create(*, org: Organisation, category: str, description: str, resident: Resident | None = None,
                  household: str = "", address: str = "", urgency: str = "normal", recurring: bool = False,
                  preferred_times: str = "", source: str = "staff", actor: Any, area: str = "", grid: str = "",
                  capacity: int = 1, expires_on: dt.date | None = None, latitude: float | None = None,
                  longitude: float | None = None, created_at: dt.datetime | None = None) -> Demand:
    """Record a resident's need in the archive of `org` (a village or community). Raises ValidationError naming
    every bad field; nothing is written then. A resident given must live in `org`'s subtree; the household and
    address default to the resident's."""
    if actor is not None and not demand_policy().may_create(actor, org, source):
        raise NotFound
    errors: dict[str, list[str]] = {}
    offered = categories_for(org)
    if category not in offered:
        errors["category"] = [f"本村社区没有这个服务类别：{category}（可选：{'、'.join(offered)}）"]
    if urgency not in Demand.Urgency.values:
        errors["urgency"] = [f"未知的紧急程度：{urgency}"]
    if source not in Demand.Source.values:
        errors["source"] = [f"未知的来源：{source}"]
    try:
        capacity = int(capacity)
        if not 1 <= capacity <= 50:
            raise ValueError
    except (TypeError, ValueError):
        errors["capacity"] = ["需要人数必须在 1 到 50 之间"]
    if resident is not None and not resident.org.path.startswith(org.path):
        errors["resident"] = ["该居民不属于本村社区"]
    try:
        description = clean_text(description, "description", 2000, required=True, multiline=True)
        household = clean_text(household or (resident.household if resident else ""), "household", 40, required=False)
        address = clean_text(address or (resident.address if resident else ""), "address", 200, required=False)
        preferred_times = clean_text(preferred_times, "preferred_times", 100, required=False)
        area = clean_text(area, "area", 60, required=False)
        grid = clean_text(grid, "grid", 60, required=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        latitude, longitude = clean_position(latitude, longitude)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if latitude is None:
        latitude, longitude = household_position(org, household, resident) or (None, None)
    demand = Demand(org=org, category=category, description=description, resident=resident, household=household,
                    address=address, area=area, grid=grid, urgency=urgency, recurring=bool(recurring),
                    preferred_times=preferred_times, capacity=capacity, source=source, expires_on=expires_on,
                    latitude=latitude, longitude=longitude, created_by=_user(actor),
                    created_at=created_at or timezone.now())
    demand.full_clean()
    demand.save()
    audit_record(by=actor, action="create", obj=demand, after=snapshot(demand, ["org", "category", "source", "urgency"]),
                 summary=f"登记服务需求 {demand.category}")
    return demand


@transaction.atomic
def demand_close(*, demand: Demand, reason: str, actor: Any) -> Demand:
    """Close a demand that is no longer needed (open or claimed); active claims end as withdrawn."""
    _require(actor, "change", demand)
    reason = clean_text(reason, "reason", 200, required=True)
    if Demand.objects.filter(pk=demand.pk, status__in=[Demand.Status.OPEN, Demand.Status.CLAIMED]).update(
            status=Demand.Status.CLOSED) != 1:
        raise DemandNotOpen("该需求已完成或已关闭")
    now = timezone.now()
    Claim.objects.filter(demand=demand, status__in=Claim.ACTIVE).update(status=Claim.Status.WITHDRAWN, ended_at=now)
    demand.refresh_from_db()
    audit_record(by=actor, action="update", obj=demand, after={"status": demand.status}, summary=f"关闭需求：{reason}")
    return demand


# ---- claims -------------------------------------------------------------------------------------------------------


@transaction.atomic
def demand_claim(*, demand: Demand, member: Member, actor: Any, assigned: bool = False,
                 at: dt.datetime | None = None) -> Claim:
    """Give `member` a place on `demand` if one is free. One conditional UPDATE decides: it raises claimed_count
    only while the demand is open and below capacity (and marks it claimed when full).

    Raises AlreadyClaimed (no place left, or this member already holds one), DemandNotOpen (closed, expired or
    done), ClaimLimit (the member gave up withdrawals_per_day() claims today; an assignment is not limited),
    ValidationError (the member is not of the demand's community). `assigned` records `by` as the secretary who
    assigned the member.
    """
    if assigned:
        _require(actor, "change", demand)
    else:  # a member claims for himself a demand he may see
        _require(actor, "view", demand)
        _require_self(actor, member)
    if not member_belongs(member, demand.org):
        raise ValidationError({"member": ["只有本村社区的党员可以认领"]})
    if member.status == Member.Status.LEFT:
        raise ValidationError({"member": ["该党员已转出"]})
    now = at or timezone.now()
    if not assigned and withdrawals_since(member, _day_start(now)) >= withdrawals_per_day():
        raise ClaimLimit(f"今天已放弃认领{withdrawals_per_day()}次，明天才能再认领（需要时可请书记指派）")
    won = Demand.objects.filter(pk=demand.pk, status=Demand.Status.OPEN, claimed_count__lt=F("capacity")).update(
        claimed_count=F("claimed_count") + 1,
        status=Case(When(claimed_count__gte=F("capacity") - 1, then=Value(Demand.Status.CLAIMED)),
                    default=Value(Demand.Status.OPEN)),
        first_claimed_at=Coalesce(F("first_claimed_at"), Value(now)),
    )
    if won != 1:
        status = Demand.objects.filter(pk=demand.pk).values_list("status", flat=True).first()
        if status in (Demand.Status.OPEN, Demand.Status.CLAIMED):
            raise AlreadyClaimed("已被认领")
        raise DemandNotOpen("该需求已关闭或已过期，不能认领")
    try:
        with transaction.atomic():
            claim = Claim.objects.create(demand=demand, member=member, claimed_at=now,
                                         assigned_by=_user(actor) if assigned else None)
    except IntegrityError:
        raise AlreadyClaimed("您已认领该需求") from None
    audit_record(by=actor, action="create", obj=claim, after={"demand": demand.pk, "member": member.pk,
                                                           "assigned": assigned},
                 summary=("指派" if assigned else "认领") + f"需求 #{demand.pk}")
    demand.refresh_from_db(fields=["status", "claimed_count", "first_claimed_at"])
    if demand.created_by_id and not assigned and at is None:
        transaction.on_commit(lambda: _notify([demand.created_by], kind="demands.claimed",
                                              subject="您的服务需求已有党员认领",
                                              link=f"/demands/{demand.pk}/", key=f"demand:{demand.pk}:claim:{claim.pk}"))
    if assigned and at is None:
        users = users_of_member(member)
        transaction.on_commit(lambda: _notify(users, kind="demands.assigned", subject="书记为您指派了一项服务需求",
                                              link=f"/demands/{demand.pk}/", key=f"claim:{claim.pk}:assigned"))
    return claim


def _release(claim: Claim, status: str, now: dt.datetime) -> bool:
    """End an active claim and give its place back to the demand (reopened if it had been full)."""
    if Claim.objects.filter(pk=claim.pk, status__in=Claim.ACTIVE).update(status=status, ended_at=now) != 1:
        return False
    Demand.objects.filter(pk=claim.demand_id, claimed_count__gt=0).update(
        claimed_count=F("claimed_count") - 1,
        status=Case(When(status=Demand.Status.CLAIMED, then=Value(Demand.Status.OPEN)), default=F("status")),
    )
    return True


@transaction.atomic
def claim_start(*, claim: Claim, actor: Any, at: dt.datetime | None = None) -> Claim:
    """The member has started serving: the claim no longer lapses."""
    _require(actor, "withdraw", claim)  # the claiming member, or staff with `change`
    if Claim.objects.filter(pk=claim.pk, status=Claim.Status.CLAIMED).update(
            status=Claim.Status.STARTED, started_at=at or timezone.now()) != 1:
        raise DemandConflict("该认领不能开始（已开始、已结束或已退回）")
    claim.refresh_from_db()
    audit_record(by=actor, action="update", obj=claim, after={"status": claim.status}, summary="开始服务")
    return claim


@transaction.atomic
def claim_withdraw(*, claim: Claim, actor: Any) -> Claim:
    """The member gives the claim up (or staff of the demand's community end it); the demand gets the place back and
    the member's access to the resident's details ends (the Demand policy). Raises PermissionDenied for anyone else,
    DemandConflict if the claim has already ended."""
    if not allows(actor, "withdraw", claim):
        raise PermissionDenied
    if not _release(claim, Claim.Status.WITHDRAWN, timezone.now()):
        raise DemandConflict("该认领已结束")
    claim.refresh_from_db()
    audit_record(by=actor, action="update", obj=claim, after={"status": claim.status}, summary="放弃认领")
    return claim


def withdrawals_per_day() -> int:
    """Claims a member may give up in a day before claiming stops until the next day
    (settings.DEMANDS_WITHDRAWALS_PER_DAY, 3): claiming and giving up repeatedly would otherwise collect the
    community's contact list, one resident at a time."""
    return int(getattr(settings, "DEMANDS_WITHDRAWALS_PER_DAY", 3))


def withdrawals_since(member: Member, since: dt.datetime) -> int:
    return Claim.objects.filter(member=member, status=Claim.Status.WITHDRAWN, ended_at__gte=since).count()


def _day_start(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@transaction.atomic
def claims_lapse(*, now: dt.datetime | None = None, days: int | None = None) -> int:
    """Claims not started within `days` (default lapse_days()) lapse: the place goes back to the demand, and the
    member and the community's secretaries are told. Safe to run twice. Returns how many lapsed. A job's step (no actor: the system)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=lapse_days() if days is None else days)
    stale = list(Claim.objects.filter(status=Claim.Status.CLAIMED, claimed_at__lt=cutoff,
                                      demand__status__in=[Demand.Status.OPEN, Demand.Status.CLAIMED])
                 .select_related("demand__org", "member__person")[:2000])
    lapsed = []
    for claim in stale:
        if _release(claim, Claim.Status.LAPSED, now):
            lapsed.append(claim)
            audit_record(by=None, action="update", obj=claim, after={"status": Claim.Status.LAPSED},
                         summary=f"认领超期未开始，需求 #{claim.demand_id} 退回待认领")
    for claim in lapsed:
        link = f"/demands/{claim.demand_id}/"
        _notify(users_of_member(claim.member), kind="demands.lapsed", subject="您认领的服务需求超期未开始，已退回",
                link=link, key=f"claim:{claim.pk}:lapsed")
        _notify(_secretaries(claim.demand.org), kind="demands.lapsed",
                subject=f"{claim.member.person.name} 认领的需求超期未开始，已退回待认领", link=link,
                key=f"claim:{claim.pk}:lapsed")
    return len(lapsed)


@transaction.atomic
def demands_expire(*, today: dt.date | None = None) -> int:
    """Open demands past their closing date (expires_on) expire; no one can claim them any more. A job's step (no
    actor: the system)."""
    today = today or timezone.localdate()
    return Demand.objects.filter(status=Demand.Status.OPEN, claimed_count=0, expires_on__lt=today).update(
        status=Demand.Status.EXPIRED)


# ---- pairings -----------------------------------------------------------------------------------------------------


@transaction.atomic
def pairing_create(*, org: Organisation, member: Member, start: dt.date, resident: Resident | None = None,
                   household: str = "", notes: str = "", actor: Any) -> Pairing:
    """A lasting member ↔ resident/household pair (结对). Raises ValidationError."""
    _require(actor, "change", org)
    errors: dict[str, list[str]] = {}
    if not member_belongs(member, org):
        errors["member"] = ["只有本村社区的党员可以结对"]
    if resident is not None and not resident.org.path.startswith(org.path):
        errors["resident"] = ["该居民不属于本村社区"]
    household = clean_text(household or (resident.household if resident else ""), "household", 40, required=False)
    if resident is None and not household:
        errors["household"] = ["请选择居民或填写户号"]
    if errors:
        raise ValidationError(errors)
    open_pair = Pairing.objects.filter(member=member, end__isnull=True)
    open_pair = open_pair.filter(resident=resident) if resident else open_pair.filter(household=household)
    if open_pair.exists():
        raise ValidationError({"member": ["该党员已与这户结对"]})
    pairing = Pairing(org=org, member=member, resident=resident, household=household, start=start,
                      notes=clean_text(notes, "notes", 200, required=False), created_by=_user(actor))
    pairing.full_clean()
    pairing.save()
    audit_record(by=actor, action="create", obj=pairing, after=snapshot(pairing), summary="建立结对")
    return pairing


@transaction.atomic
def pairing_end(*, pairing: Pairing, end: dt.date, actor: Any) -> Pairing:
    _require(actor, "change", pairing)
    if pairing.end is not None:
        raise DemandConflict("该结对已结束")
    if end < pairing.start:
        raise ValidationError({"end": ["结束日期不能早于结对日期"]})
    Pairing.objects.filter(pk=pairing.pk, end__isnull=True).update(end=end)
    pairing.refresh_from_db()
    audit_record(by=actor, action="update", obj=pairing, after={"end": str(end)}, summary="结束结对")
    return pairing


# ---- service records ----------------------------------------------------------------------------------------------


def clean_minutes(value: Any) -> int:
    """Service duration in minutes: a whole number above 0 and at most 24 hours."""
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        raise ValidationError({"minutes": ["时长必须是整数分钟"]}) from None
    if isinstance(value, bool) or (isinstance(value, float) and value != minutes):
        raise ValidationError({"minutes": ["时长必须是整数分钟"]})
    if minutes <= 0:
        raise ValidationError({"minutes": ["时长必须大于 0"]})
    if minutes > MAX_MINUTES:
        raise ValidationError({"minutes": ["时长不能超过 24 小时"]})
    return minutes


@transaction.atomic
def service_record(*, member: Member, served_on: dt.date, minutes: Any, notes: str, demand: Demand | None = None,
                   pairing: Pairing | None = None, photo: Any = None, actor: Any,
                   at: dt.datetime | None = None) -> ServiceRecord:
    """The member records a service done for a demand the member holds a claim on, or for a pairing of the member.
    The claim is marked started. Raises ValidationError (bad duration, a date in the future, no claim) or
    DemandConflict."""
    _require_self(actor, member)
    errors: dict[str, list[str]] = {}
    try:
        minutes = clean_minutes(minutes)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        notes = clean_text(notes, "notes", 2000, required=True, multiline=True)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    now = at or timezone.now()
    if not isinstance(served_on, dt.date):
        errors["served_on"] = ["日期不正确"]
    elif served_on > timezone.localdate(now):
        errors["served_on"] = ["服务日期不能晚于今天"]
    if demand is None and pairing is None:
        errors["demand"] = ["请选择需求或结对"]
    claim = None
    if demand is not None:
        claim = Claim.objects.filter(demand=demand, member=member, status__in=Claim.ACTIVE).first()
        if claim is None and not errors:
            raise DemandConflict("您没有认领该需求，或认领已结束")
    if pairing is not None and pairing.member_id != member.pk:
        errors["pairing"] = ["这不是您的结对"]
    if errors:
        raise ValidationError(errors)
    if demand is not None:
        org, category = demand.org, demand.category
    else:
        paired = cast(Pairing, pairing)  # one of the two, checked above
        org = paired.org
        category = paired.records.values_list("category", flat=True).first() or Category.OTHER
    record = ServiceRecord(org=org, demand=demand, pairing=pairing, member=member, category=category,
                           served_on=served_on, minutes=minutes, notes=notes, recorded_by=_user(actor), created_at=now)
    if photo:
        record.photo = photo
    record.full_clean()
    record.save()
    if claim is not None and claim.status == Claim.Status.CLAIMED:
        Claim.objects.filter(pk=claim.pk, status=Claim.Status.CLAIMED).update(status=Claim.Status.STARTED,
                                                                              started_at=now)
    audit_record(by=actor, action="create", obj=record, after=snapshot(record, ["demand", "pairing", "member",
                                                                             "served_on", "minutes"]),
                 summary=f"记录服务 {minutes} 分钟")
    if demand is not None and demand.created_by_id and at is None:
        transaction.on_commit(lambda: _notify([demand.created_by], kind="demands.record", subject="请确认党员的服务",
                                              link=f"/demands/records/{record.pk}/confirm/",
                                              key=f"record:{record.pk}:confirm"))
    return record


@transaction.atomic
def service_confirm(*, record: ServiceRecord, rating: str, actor: Any, comment: str = "") -> ServiceRecord:
    """The resident (or staff on the resident's behalf — audited as such) confirms and rates a service; the member
    earns points by the organisation's rules (source "service", so confirming twice awards once). A one-off
    demand is then done. Raises AlreadyConfirmed on a second confirmation, PermissionDenied-like ValidationError
    for someone who may not confirm, ValidationError for a bad rating."""
    from xianfeng.points.services import points_award

    if rating not in ServiceRecord.Rating.values:
        raise ValidationError({"rating": ["请选择评价：满意、基本满意或不满意"]})
    comment = clean_text(comment, "comment", 300, required=False)
    allowed, on_behalf = record_policy().confirms(actor, record)
    if not allowed:
        raise ValidationError({"__all__": ["您不能确认这条服务记录"]})
    now = timezone.now()
    if ServiceRecord.objects.filter(pk=record.pk, status=ServiceRecord.Status.RECORDED).update(
            status=ServiceRecord.Status.CONFIRMED, rating=rating, comment=comment, confirmed_by=_user(actor),
            on_behalf=on_behalf, confirmed_at=now) != 1:
        raise AlreadyConfirmed("这条服务记录已确认过，积分不会重复发放")
    record.refresh_from_db()
    txn = points_award(member=record.member, source="service", source_id=record.pk, category=record.category,
                       minutes=record.minutes, satisfied=rating == ServiceRecord.Rating.SATISFIED,
                       on=record.served_on, actor=actor)
    points = txn.points_award.points if txn is not None and hasattr(txn, "points_award") else 0
    if points:
        ServiceRecord.objects.filter(pk=record.pk).update(points=points)
        record.points = points
    demand = record.demand
    if demand is not None and not demand.recurring:
        _demand_done(demand, now)
    audit_record(by=actor, action="update", obj=record,
                 after={"status": record.status, "rating": rating, "on_behalf": on_behalf, "points": points},
                 summary=("代居民确认服务" if on_behalf else "居民确认服务") + f"，积分 {points}")
    users = users_of_member(record.member)
    transaction.on_commit(lambda: _notify(users, kind="demands.confirmed", subject=f"服务已确认，获得 {points} 积分",
                                          link="/points/", key=f"record:{record.pk}:confirmed"))
    return record


def _demand_done(demand: Demand, now: dt.datetime) -> None:
    if Demand.objects.filter(pk=demand.pk, status__in=[Demand.Status.OPEN, Demand.Status.CLAIMED]).update(
            status=Demand.Status.DONE, done_at=now) != 1:
        return
    served = set(ServiceRecord.objects.filter(demand=demand, status=ServiceRecord.Status.CONFIRMED)
                 .values_list("member_id", flat=True))
    Claim.objects.filter(demand=demand, status__in=Claim.ACTIVE, member_id__in=served).update(
        status=Claim.Status.DONE, ended_at=now)
    Claim.objects.filter(demand=demand, status__in=Claim.ACTIVE).update(status=Claim.Status.WITHDRAWN, ended_at=now)


@transaction.atomic
def service_reject(*, record: ServiceRecord, actor: Any, comment: str) -> ServiceRecord:
    """The resident or staff say the service did not happen as recorded: no points."""
    comment = clean_text(comment, "comment", 300, required=True)
    allowed, on_behalf = record_policy().confirms(actor, record)
    if not allowed:
        raise ValidationError({"__all__": ["您不能处理这条服务记录"]})
    if ServiceRecord.objects.filter(pk=record.pk, status=ServiceRecord.Status.RECORDED).update(
            status=ServiceRecord.Status.REJECTED, comment=comment, confirmed_by=_user(actor), on_behalf=on_behalf,
            confirmed_at=timezone.now()) != 1:
        raise AlreadyConfirmed("这条服务记录已处理过")
    record.refresh_from_db()
    audit_record(by=actor, action="update", obj=record, after={"status": record.status}, summary="服务记录未通过")
    return record


