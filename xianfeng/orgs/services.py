"""Every write to organisations, people, members, roles and contact points.

Views, API, admin actions, commands and the demo all call these; each runs in a transaction and leaves an audit row.
Each takes the acting user as `actor=` and asks the model's policy (orgs/policies.py) before it changes anything:
out of the actor's scope is NotFound, exactly like a missing object. `actor=None` means the system (the demo, the
management commands, the test factories) and is not checked; pages and the API always pass the signed-in user.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

from xianfeng.core.audit import audit_record, changed, snapshot
from xianfeng.core.ids import add_years, normalise_compact, normalise_key, normalise_text, parse_id_number, parse_phone
from xianfeng.core.policy import NotAllowed, NotFound, policy_for, require
from xianfeng.core.scoping import SEGMENT, clear_scope_cache, encode_segment, subtree_q
from xianfeng.core.text import clean_text, pinyin_initials
from xianfeng.core.util import chunked

from .models import (
    ContactPoint,
    GuidanceGroup,
    GuidanceVisit,
    LinkRequest,
    Member,
    Membership,
    Organisation,
    Person,
    Resident,
    Role,
    User,
)
from .signals import visit_recorded


class TreeError(ValidationError):
    """A change that would break the tree (a cycle, a missing parent)."""


def _check(actor: Any, action: str, obj: Any, *, reason: str | None = None) -> None:
    """The policy's answer for `actor` (None: the system, always allowed) doing `action` on `obj`."""
    if actor is not None:
        require(actor, action, obj, reason=reason)


def _next_child_path(parent: Organisation | None) -> str:
    if parent is None:
        last = Organisation.objects.filter(depth=1).order_by("-path").values_list("path", flat=True).first()
        index = 0 if last is None else int(last, 36) + 1
        return encode_segment(index)
    # The counter on the parent row hands out sibling numbers; the UPDATE locks the row, so two creations under
    # the same parent never get the same path.
    Organisation.objects.filter(pk=parent.pk).update(next_child=F("next_child") + 1)
    n = Organisation.objects.values_list("next_child", flat=True).get(pk=parent.pk)
    return parent.path + encode_segment(n - 1)


@transaction.atomic
def org_create(
    *, name: str, code: str, kind: str, parent: Organisation | None, actor: Any = None, **extra: Any
) -> Organisation:
    """Create an organisation under `parent` (None for a root). `actor` needs `admin` over `parent`; a root only
    the system or a superuser creates. Raises ValidationError for bad fields."""
    if parent is not None:
        _check(actor, "admin", parent)
    elif actor is not None and policy_for(Organisation).scope(actor, "admin") is not None:
        raise NotAllowed("只有系统管理员可以新增顶级组织")
    name = clean_text(name, "name", 100)
    code = normalise_compact(code).upper()
    if parent is not None:
        parent.refresh_from_db(fields=["path", "full_name", "depth"])
    org = Organisation(
        name=name,
        code=code,
        kind=kind,
        parent=parent,
        depth=1 if parent is None else parent.depth + 1,
        full_name=name if parent is None else f"{parent.full_name}/{name}",
        initials=pinyin_initials(name),
        path="0" * SEGMENT,  # placeholder so full_clean passes; the real path is set below
        **extra,
    )
    org.full_clean(exclude=["path"])
    org.path = _next_child_path(parent)
    org.save()
    audit_record(by=actor, action="create", obj=org, after=snapshot(org), summary=f"新增组织 {org.full_name}")
    return org


@transaction.atomic
def org_update(*, org: Organisation, actor: Any = None, **fields: Any) -> Organisation:
    """Change an organisation's own fields (not its place in the tree: that is org_move). `actor` needs `admin`
    over `org`."""
    _check(actor, "admin", org)
    allowed = {"name", "code", "kind", "is_active", "address", "latitude", "longitude", "system"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"不能修改的字段：{', '.join(sorted(unknown))}")
    before = snapshot(org)
    old_full = org.full_name
    for key, value in fields.items():
        setattr(org, key, normalise_text(value) if key in {"name", "address", "system"} else value)
    if "name" in fields:
        org.initials = pinyin_initials(org.name)
        org.full_name = (org.parent.full_name + "/" if org.parent is not None else "") + org.name
    org.full_clean()
    org.save()
    if org.full_name != old_full:
        _rename_subtree(org, old_full)
    b, a = changed(before, snapshot(org))
    audit_record(by=actor, action="update", obj=org, before=b, after=a, summary=f"修改组织 {org.full_name}")
    return org


def _rename_subtree(org: Organisation, old_full: str) -> None:
    Organisation.objects.filter(subtree_q("path", org.path)).exclude(pk=org.pk).update(
        full_name=Concat(Value(org.full_name), Substr("full_name", len(old_full) + 1))
    )


@transaction.atomic
def org_move(*, org: Organisation, new_parent: Organisation, actor: Any = None) -> Organisation:
    """Re-parent `org` and its whole subtree under `new_parent`. `actor` needs `admin` over both. Raises TreeError
    for a cycle."""
    _check(actor, "admin", org)
    _check(actor, "admin", new_parent)
    org = Organisation.objects.select_for_update().get(pk=org.pk)
    new_parent = Organisation.objects.get(pk=new_parent.pk)
    if new_parent.path.startswith(org.path):
        raise TreeError("不能把组织移到它自己或它的下级之下")
    if org.parent_id == new_parent.pk:
        return org
    old_path, old_full, old_parent_id = org.path, org.full_name, org.parent_id
    new_path = _next_child_path(new_parent)
    new_full = f"{new_parent.full_name}/{org.name}"
    depth_delta = new_parent.depth + 1 - org.depth
    Organisation.objects.filter(subtree_q("path", old_path)).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        full_name=Concat(Value(new_full), Substr("full_name", len(old_full) + 1)),
        depth=F("depth") + depth_delta,
    )
    Organisation.objects.filter(pk=org.pk).update(parent=new_parent)
    org.refresh_from_db()
    audit_record(
        by=actor, action="move", obj=org,
        before={"parent_id": old_parent_id, "path": old_path, "full_name": old_full},
        after={"parent_id": new_parent.pk, "path": org.path, "full_name": org.full_name},
        summary=f"调整上级 {old_full} → {org.full_name}",
    )
    return org


def clean_person_fields(*, name: Any, id_number: Any, phone: Any = "", gender: Any = "", birth_date: Any = None,
                        ethnicity: Any = "") -> dict[str, Any]:
    """Normalise and validate a person's fields; ID number decides gender and birth date. Raises ValidationError."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {"name": normalise_text(name), "ethnicity": normalise_text(ethnicity) or "汉族"}
    if not clean["name"]:
        errors["name"] = ["姓名为空"]
    elif len(clean["name"]) > 50:
        errors["name"] = ["姓名过长"]
    try:
        info = parse_id_number(id_number)
        clean.update(id_number=info.number, gender=info.gender, birth_date=info.birth_date)
        if gender and _gender_code(gender) not in (None, info.gender):
            errors["gender"] = ["性别与身份证号不一致"]
        if birth_date and birth_date != info.birth_date:
            errors["birth_date"] = ["出生日期与身份证号不一致"]
    except ValidationError as exc:
        errors["id_number"] = exc.messages
    try:
        clean["phone"] = parse_phone(phone)
    except ValidationError as exc:
        errors["phone"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return clean


def _gender_code(value: Any) -> str | None:
    text = normalise_key(value)
    return {"男": "M", "女": "F", "M": "M", "F": "F", "m": "M", "f": "F"}.get(text)


class PersonOutOfScope(ValidationError):
    """The ID number belongs to a person the actor may not change (a resident of another village, a member
    elsewhere, someone with no organisation). Nothing was written. A non-member may be linked through a link request
    (link_request_create) that the person's organisation accepts; a member elsewhere needs a transfer there."""

    def __init__(self, person: Person, holder: Organisation | None, *, is_member: bool):
        self.person, self.holder, self.is_member = person, holder, is_member
        if is_member:
            message = "此人已是其他组织（不在您的管理范围内）的党员，请由其所在组织办理组织关系转接"
        else:
            message = ("该身份证号对应的人员属于其他组织（不在您的管理范围内），不能在此修改或登记；"
                       "请发起关联申请，由其所在组织同意后再登记")
        super().__init__({"id_number": [message]})


def person_holder(person: Person) -> tuple[Organisation | None, bool]:
    """The organisation that answers for `person`, and whether the person is a member: a member's primary
    organisation; else a resident's village or community; else None (a person with no organisation, whom only the
    county may change)."""
    member = Member.objects.select_related("org", "managing_org").filter(person=person).first()
    if member is not None:
        return member.org, True
    resident = Resident.objects.select_related("org").filter(person=person).first()
    return (resident.org if resident is not None else None), False


def person_in_scope(actor: Any, person: Person) -> bool:
    """Whether `actor` (None: the system) may change `person`'s own fields or make them a member: the Person policy's
    `change` (a member's primary or managing organisation, or else a resident's organisation, in the actor's
    `change` scope; a person with neither belongs to the county, a `change` role at the root)."""
    return actor is None or policy_for(Person).allows(actor, "change", person)


# Fields a caller may leave out: a person already known keeps the value on record instead of losing it.
_KEPT_WHEN_LEFT_OUT = ("phone", "ethnicity")


@transaction.atomic
def person_upsert(*, actor: Any = None, **fields: Any) -> Person:
    """Create a person, or update the one with the same ID number.

    `actor` is the acting user (None: the system). A known person outside `actor`'s scope (person_in_scope) is refused
    with PersonOutOfScope before anything changes. A phone or ethnicity left out (or blank) keeps the value on record.
    """
    clean = clean_person_fields(**fields)
    clean["initials"] = pinyin_initials(clean["name"])[:30]
    person = Person.objects.select_for_update().filter(id_number=clean["id_number"]).first()
    if person is None:
        person = Person.objects.create(**clean)
        audit_record(by=actor, action="create", obj=person, summary=f"新增人员 {person.name}",
                     after={"name": person.name})
        return person
    if not person_in_scope(actor, person):
        holder, is_member = person_holder(person)
        raise PersonOutOfScope(person, holder, is_member=is_member)
    for key in _KEPT_WHEN_LEFT_OUT:
        if not normalise_text(fields.get(key) or ""):
            clean.pop(key)
    before = snapshot(person, list(clean))
    for key, value in clean.items():
        setattr(person, key, value)
    person.save()
    b, a = changed(before, snapshot(person, list(clean)))
    if a:
        audit_record(by=actor, action="update", obj=person, before=_mask(b), after=_mask(a), summary=f"修改人员 {person.name}")
    return person


def _mask(values: dict) -> dict:
    """Audit rows keep that personal data changed, not the data itself."""
    return {k: ("***" if k in {"id_number", "phone"} else v) for k, v in values.items()}


@transaction.atomic
def member_create(
    *, person: Person, org: Organisation, join_date: dt.date, full_date: dt.date | None = None,
    category: str = Member.Category.FULL, status: str = Member.Status.ACTIVE, education: str = "",
    occupation: str = "", on_the_job: bool = True, actor: Any = None,
) -> Member:
    """Make `person` a member of `org` (their primary organisation), with an open Membership row. `actor` needs
    `change` over `org` (a person already on record is checked by person_upsert, which callers run first)."""
    _check(actor, "change", org)
    return _member_create(person=person, org=org, join_date=join_date, full_date=full_date, category=category,
                          status=status, education=education, occupation=occupation, on_the_job=on_the_job,
                          actor=actor)


def _member_create(*, person: Person, org: Organisation, join_date: dt.date, full_date: dt.date | None,
                   category: str, status: str, education: str, occupation: str, on_the_job: bool,
                   actor: Any) -> Member:
    """member_create once the caller's right is settled (an accepted link request grants it)."""
    member = Member(
        person=person, org=org, join_date=join_date, full_date=full_date, category=category, status=status,
        education=education, occupation=occupation, on_the_job=on_the_job,
    )
    check_member_dates(birth_date=person.birth_date, join_date=join_date, full_date=full_date, category=category)
    member.full_clean()
    member.save()
    Membership.objects.create(member=member, org=org, kind=Membership.Kind.PRIMARY, start=join_date,
                              reason_in="入党")
    audit_record(by=actor, action="create", obj=member, after=snapshot(member), summary=f"新增党员 {person.name}")
    return member


def check_member_dates(*, birth_date: dt.date | None, join_date: dt.date | None, full_date: dt.date | None,
                       category: str) -> None:
    """The rules a member's dates obey (shared by member_create and the roster import). Raises ValidationError."""
    errors = {}
    if birth_date and join_date and join_date < add_years(birth_date, 18):
        errors["join_date"] = ["入党时未满18周岁"]
    if join_date and join_date > dt.date.today():
        errors["join_date"] = ["入党日期晚于今天"]
    if full_date and join_date and full_date < join_date:
        errors["full_date"] = ["转正日期早于入党日期"]
    if category == Member.Category.PROBATIONARY and full_date:
        errors["full_date"] = ["预备党员不应有转正日期"]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def member_transfer(*, member: Member, to_org: Organisation, on: dt.date, reason: str = "组织关系转接",
                    actor: Any = None) -> Member:
    """Move a member's primary organisation: the open membership is closed on `on` and a new one opened. `actor`
    needs `change` over the member and over `to_org`."""
    _check(actor, "change", member)
    _check(actor, "change", to_org)
    member = Member.objects.select_for_update().get(pk=member.pk)
    if member.org_id == to_org.pk:
        raise ValidationError("党员已在该组织")
    current = member.memberships.filter(kind=Membership.Kind.PRIMARY, end__isnull=True).first()
    if current is not None:
        if on < current.start:
            raise ValidationError("转出日期早于转入日期")
        current.end = on
        current.reason_out = reason
        current.save(update_fields=["end", "reason_out"])
    Membership.objects.create(member=member, org=to_org, kind=Membership.Kind.PRIMARY, start=on, reason_in=reason)
    before = {"org_id": member.org_id}
    member.org = to_org
    if member.managing_org_id == to_org.pk:  # 一联双管 ends: the managing organisation is now the primary one
        member.managing_org = None
        Membership.objects.filter(member=member, kind=Membership.Kind.MANAGING, end__isnull=True).update(end=on)
    member.save(update_fields=["org", "managing_org", "updated_at"])
    audit_record(by=actor, action="update", obj=member, before=before, after={"org_id": to_org.pk},
                 summary=f"组织关系转接 {member.person.name} → {to_org.full_name}")
    return member


@transaction.atomic
def member_set_managing_org(*, member: Member, org: Organisation | None, on: dt.date, actor: Any = None) -> Member:
    """一联双管: also manage `member` by `org` (e.g. the new community where they live); None ends it. `actor` needs
    `change` over the member and over `org`."""
    _check(actor, "change", member)
    if org is not None:
        _check(actor, "change", org)
    member = Member.objects.select_for_update().get(pk=member.pk)
    if org is not None and org.pk == member.org_id:
        raise ValidationError("双管组织不能与组织关系所在组织相同")
    Membership.objects.filter(member=member, kind=Membership.Kind.MANAGING, end__isnull=True).update(end=on)
    if org is not None:
        Membership.objects.create(member=member, org=org, kind=Membership.Kind.MANAGING, start=on, reason_in="一联双管")
    before = {"managing_org_id": member.managing_org_id}
    member.managing_org = org
    member.save(update_fields=["managing_org", "updated_at"])
    audit_record(by=actor, action="update", obj=member, before=before, after={"managing_org_id": org.pk if org else None},
                 summary=f"一联双管 {member.person.name}")
    return member


@transaction.atomic
def resident_create(*, person: Person, org: Organisation, household: str = "", address: str = "",
                    actor: Any = None) -> Resident:
    """Make `person` a resident of `org`; `actor` needs `change` over `org`."""
    _check(actor, "change", org)
    resident = Resident(person=person, org=org, household=clean_text(household, "household", 40, required=False),
                        address=clean_text(address, "address", 200, required=False))
    resident.full_clean()
    resident.save()
    audit_record(by=actor, action="create", obj=resident, summary=f"新增居民 {person.name}")
    return resident


@transaction.atomic
def residents_bulk_create(*, rows: list[dict[str, Any]], actor: Any = None) -> int:
    """The bulk path for residents (demo, large imports): the same validation as person_upsert/resident_create,
    written with bulk_create and one audit row. Each row: name, id_number, phone, org, household, address.
    Raises ValidationError listing every bad row; nothing is written then. `actor` needs `change` over every row's
    organisation."""
    for org in {row["org"].pk: row["org"] for row in rows}.values():
        _check(actor, "change", org)
    errors: list[str] = []
    people: list[Person] = []
    seen: set[str] = set()
    for i, row in enumerate(rows, start=1):
        try:
            clean = clean_person_fields(name=row["name"], id_number=row["id_number"], phone=row.get("phone", ""))
        except ValidationError as exc:
            errors.append(f"第{i}行：{'；'.join(exc.messages)}")
            continue
        if clean["id_number"] in seen:
            errors.append(f"第{i}行：身份证号重复")
            continue
        seen.add(clean["id_number"])
        clean["initials"] = pinyin_initials(clean["name"])[:30]
        people.append(Person(**clean))
    existing = {n for chunk in chunked(sorted(seen), 900)
                for n in Person.objects.filter(id_number__in=chunk).values_list("id_number", flat=True)}
    if existing:
        errors.append(f"{len(existing)}个身份证号已存在")
    if errors:
        raise ValidationError(errors)
    Person.objects.bulk_create(people, batch_size=2000)
    ids = {n: pk for chunk in chunked(sorted(seen), 900)
           for n, pk in Person.objects.filter(id_number__in=chunk).values_list("id_number", "id")}
    Resident.objects.bulk_create(
        [Resident(person_id=ids[p.id_number], org=row["org"], household=normalise_text(row.get("household", "")),
                  address=normalise_text(row.get("address", ""))) for p, row in zip(people, rows, strict=True)],
        batch_size=2000,
    )
    audit_record(by=actor, action="import", model="orgs.Resident", summary=f"批量新增居民 {len(people)} 人",
                 after={"created": len(people)})
    return len(people)


@transaction.atomic
def user_create(*, username: str, password: str | None, person: Person | None = None, actor: Any = None,
                **extra: Any) -> User:
    """A login; `password=None` makes an unusable password (a member of staff who signs in some other way). `actor`
    must administer some organisation (the roles granted next say where the login may act)."""
    if actor is not None and not policy_for(Role).any(actor, "admin"):
        raise NotFound
    user = User(username=username, person=person, **extra)
    user.set_password(password)
    user.full_clean()
    user.save()
    audit_record(by=actor, action="create", obj=user, summary=f"新增用户 {username}")
    return user


@transaction.atomic
def role_grant(*, user: User, kind: str, org: Organisation, actor: Any = None) -> Role:
    """Give `user` the role `kind` over `org`'s subtree; `actor` needs `admin` over `org` (Role policy)."""
    _check(actor, "grant", Role(user=user, kind=kind, org=org))
    role, created = Role.objects.get_or_create(user=user, kind=kind, org=org)
    if created:
        audit_record(by=actor, action="create", obj=role, summary=f"授权 {user.username} {role.get_kind_display()} {org.name}")
    clear_scope_cache(user)
    return role


@transaction.atomic
def role_revoke(*, role: Role, actor: Any = None) -> None:
    """Take a role away; `actor` needs `admin` over its organisation (Role policy)."""
    _check(actor, "revoke", role)
    audit_record(by=actor, action="delete", obj=role, before={"user": role.user_id, "kind": role.kind, "org": role.org_id},
                 summary=f"撤销授权 {role}")
    role.delete()
    clear_scope_cache(role.user)


@transaction.atomic
def contact_point_create(*, leader: Person, org: Organisation, kind: str, start: dt.date, leader_title: str = "",
                         notes: str = "", actor: Any = None) -> ContactPoint:
    """A leader's contact point at `org`; `actor` needs `change` over `org`."""
    _check(actor, "change", org)
    cp = ContactPoint(leader=leader, org=org, kind=kind, start=start,
                      leader_title=clean_text(leader_title, "leader_title", 60, required=False),
                      notes=clean_text(notes, "notes", 4000, required=False, multiline=True))
    cp.full_clean()
    cp.save()
    audit_record(by=actor, action="create", obj=cp, after=snapshot(cp), summary=f"联系点 {leader.name} → {org.name}")
    return cp


@transaction.atomic
def guidance_visit_record(*, contact_point: ContactPoint, date: dt.date, notes: str, follow_ups: str = "",
                          actor: Any = None) -> GuidanceVisit:
    """A guidance visit on `contact_point`; `actor` needs `change` over its organisation."""
    _check(actor, "change", contact_point)
    if date > dt.date.today():
        raise ValidationError({"date": ["指导日期晚于今天"]})
    if contact_point.start and date < contact_point.start:
        raise ValidationError({"date": ["指导日期早于建立联系点的日期"]})
    notes = clean_text(notes, "notes", 4000, multiline=True)
    follow_ups = clean_text(follow_ups, "follow_ups", 4000, required=False, multiline=True)
    visit = GuidanceVisit(contact_point=contact_point, date=date, notes=notes, follow_ups=follow_ups,
                          recorded_by=actor if getattr(actor, "is_authenticated", False) else None)
    visit.full_clean()
    visit.save()
    audit_record(by=actor, action="create", obj=visit, summary=f"指导记录 {contact_point}")
    visit_recorded.send(sender=GuidanceVisit, visit=visit, actor=actor)  # its follow-ups become tasks (campaigns)
    return visit


@transaction.atomic
def guidance_group_create(*, name: str, system: str, org: Organisation, leader: Person | None = None,
                          units: list[Organisation] | None = None, people: list[Person] | None = None,
                          actor: Any = None) -> GuidanceGroup:
    """A guidance group formed by `org`; `actor` needs `admin` over `org` (as for staffing it)."""
    _check(actor, "admin", org)
    group = GuidanceGroup(name=clean_text(name, "name", 100), system=clean_text(system, "system", 50), org=org,
                          leader=leader)
    group.full_clean()
    group.save()
    if units:
        group.units.set(units)
    if people:
        group.people.set(people)
    audit_record(by=actor, action="create", obj=group, summary=f"新增指导组 {group.name}")
    return group


class GuidanceGroupRefused(NotFound):
    """The actor may not administer the organisation that formed the group (answered 404, like a missing group)."""


@transaction.atomic
def guidance_group_staff(*, actor: Any, group: GuidanceGroup, leader: Person | None, people: list[Person],
                         units: list[Organisation] | None = None) -> GuidanceGroup:
    """Set who is in a guidance group and, when `units` is given, which units it guides.

    `actor` (None: the system) must administer the group's organisation, else GuidanceGroupRefused and nothing
    changes. The leader is one of the group's people (added when missing). Every unit must be in the group's
    organisation's subtree. The audit row keeps the people and units before and after."""
    if actor is not None and not policy_for(GuidanceGroup).allows(actor, "admin", group):
        raise GuidanceGroupRefused()
    people = list(dict.fromkeys(people))
    if leader is not None and leader not in people:
        people.insert(0, leader)
    if not people:
        raise ValidationError({"people": ["指导组至少要有一名成员"]})
    if units is not None:
        units = list(dict.fromkeys(units))
        outside = [u.name for u in units if not u.path.startswith(group.org.path)]
        if outside:
            raise ValidationError({"units": [f"不在{group.org.name}范围内：{'、'.join(outside[:5])}"]})
    before = {"leader": group.leader_id, "people": sorted(group.people.values_list("id", flat=True)),
              "units": sorted(group.units.values_list("id", flat=True))}
    group.leader = leader
    group.save(update_fields=["leader"])
    group.people.set(people)
    if units is not None:
        group.units.set(units)
    after = {"leader": group.leader_id, "people": sorted(p.pk for p in people),
             "units": sorted(u.pk for u in units) if units is not None else before["units"]}
    audit_record(by=actor, action="update", obj=group, before=before, after=after,
                 summary=f"指导组 {group.name}：组长 {leader.name if leader else '—'}，{len(people)} 人")
    return group


# ---- link requests (关联申请): linking a person outside the requester's scope, with the holder's consent ----------


class LinkRequestClosed(ValidationError):
    """The link request was already accepted, declined or withdrawn (answered 409)."""


_LINK_MEMBER_FIELDS = ("join_date", "full_date", "category", "status", "education", "occupation", "on_the_job")


def _link_member_values(fields: dict[str, Any]) -> dict[str, Any]:
    """Member fields as stored on a link request (dates as ISO text) → member_create's keywords."""
    values = {k: fields[k] for k in _LINK_MEMBER_FIELDS if k in fields}
    for key in ("join_date", "full_date"):
        if isinstance(values.get(key), str):
            values[key] = dt.date.fromisoformat(values[key])
    return values


@transaction.atomic
def link_request_create(*, actor: Any, id_number: Any, org: Organisation, note: str = "",
                        **member_fields: Any) -> LinkRequest:
    """Ask the organisation that answers for the person with `id_number` (person_holder) to let them become a
    member of `org`. `actor` needs `change` over `org`; the person must already exist, lie outside `actor`'s scope and not
    be a member anywhere (a member moves by transfer). The member fields are checked now (against the person's birth
    date) and applied only when the request is accepted. Nothing about the person changes here.
    Raises NotFound (org out of scope) or ValidationError."""
    require(actor, "change", org)
    unknown = set(member_fields) - set(_LINK_MEMBER_FIELDS)
    if unknown:
        raise ValidationError({k: ["未知字段"] for k in sorted(unknown)})
    try:
        number = parse_id_number(id_number).number
    except ValidationError as exc:
        raise ValidationError({"id_number": exc.messages}) from None
    person = Person.objects.filter(id_number=number).first()
    if person is None:
        raise ValidationError({"id_number": ["该身份证号尚未登记，可直接新增党员，无需关联申请"]})
    holder, is_member = person_holder(person)
    if is_member:
        raise ValidationError({"id_number": ["此人已是党员，请由其所在组织办理组织关系转接"]})
    if person_in_scope(actor, person):
        raise ValidationError({"id_number": ["此人在您的管理范围内，可直接新增党员，无需关联申请"]})
    member_fields.setdefault("category", Member.Category.FULL)
    member_fields.setdefault("status", Member.Status.ACTIVE)
    member_fields.setdefault("on_the_job", True)
    candidate = Member(person=person, org=org, **member_fields)
    candidate.full_clean(exclude=["person"], validate_unique=False, validate_constraints=False)
    check_member_dates(birth_date=person.birth_date, join_date=candidate.join_date, full_date=candidate.full_date,
                       category=candidate.category)
    if LinkRequest.objects.filter(person=person, org=org, status=LinkRequest.Status.PENDING).exists():
        raise ValidationError({"id_number": ["已有一份待处理的关联申请"]})
    stored = {k: (getattr(candidate, k).isoformat() if isinstance(getattr(candidate, k), dt.date)
                  else getattr(candidate, k)) for k in _LINK_MEMBER_FIELDS}
    link = LinkRequest(person=person, org=org, holder=holder, member_fields=stored, note=clean_text(note, "note", 200, required=False),
                       requested_by=actor if getattr(actor, "is_authenticated", False) else None)
    link.full_clean(exclude=["person", "org", "holder", "requested_by"])
    link.save()
    audit_record(by=actor, action="create", obj=link, after={"person": person.pk, "org": org.pk,
                                                          "holder": holder.pk if holder else None},
                 summary=f"关联申请 {person.name} → {org.full_name}")
    deciders = _link_deciders(link)
    if deciders:
        from xianfeng.notify.services import notify_many

        transaction.on_commit(lambda: notify_many(
            to=deciders, kind="orgs.link_request", subject=f"{org.full_name} 申请将 {person.name} 登记为党员，请处理",
            link=f"/orgs/link-requests/{link.pk}/", key=f"link:{link.pk}"))
    return link


def _link_deciders(link: LinkRequest) -> list[User]:
    """The users who may decide `link`: staff with roles at or above the holder (or at the root), or the person."""
    from django.db.models import Q

    if link.holder is not None:
        prefixes = [link.holder.path[:i] for i in range(SEGMENT, len(link.holder.path) + 1, SEGMENT)]
        q = Q(roles__org__path__in=prefixes)
    else:
        q = Q(roles__org__depth=1) | Q(person_id=link.person_id)
    candidates = User.objects.filter(q, is_active=True).distinct().order_by("pk")[:200]
    policy = policy_for(LinkRequest)
    return [u for u in candidates if policy.allows(u, "decide", link)]


@transaction.atomic
def link_request_decide(*, actor: Any, link: LinkRequest, accept: bool, note: str = "") -> LinkRequest:
    """Accept (the person becomes a member of `link.org` with the requested member fields; the person's own fields
    are not touched) or decline a pending link request. `actor` must be allowed by the LinkRequest policy (`decide`).
    Raises NotFound (not the actor's to decide), LinkRequestClosed, or ValidationError (the member cannot be
    created; nothing changed)."""
    from django.utils import timezone

    link = LinkRequest.objects.select_for_update(of=("self",)).select_related("person", "org", "holder").get(
        pk=link.pk)
    require(actor, "decide", link)
    if link.status != LinkRequest.Status.PENDING:
        raise LinkRequestClosed("该申请已处理")
    note = clean_text(note, "note", 200, required=False)
    if accept:
        if Member.objects.filter(person=link.person).exists():
            raise ValidationError({"person": ["此人已是党员，请由其所在组织办理组织关系转接"]})
        values = {"full_date": None, "category": Member.Category.FULL, "status": Member.Status.ACTIVE,
                  "education": "", "occupation": "", "on_the_job": True, **_link_member_values(link.member_fields)}
        # The holder's consent is the right to make the person a member of the organisation asked for.
        link.member = _member_create(person=link.person, org=link.org, actor=actor, **values)
    link.status = LinkRequest.Status.ACCEPTED if accept else LinkRequest.Status.DECLINED
    link.decided_by = actor if getattr(actor, "is_authenticated", False) else None
    link.decided_at = timezone.now()
    link.decision_note = note
    link.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "member"])
    audit_record(by=actor, action="update", obj=link, after={"status": link.status},
                 summary=f"{'同意' if accept else '拒绝'}关联申请 {link.person.name} → {link.org.full_name}")
    return link


@transaction.atomic
def link_request_cancel(*, actor: Any, link: LinkRequest) -> LinkRequest:
    """The requester withdraws a pending request. Raises NotFound (not the actor's to withdraw) or
    LinkRequestClosed."""
    link = LinkRequest.objects.select_for_update().get(pk=link.pk)
    require(actor, "cancel", link)
    if link.status != LinkRequest.Status.PENDING:
        raise LinkRequestClosed("该申请已处理")
    link.status = LinkRequest.Status.CANCELLED
    link.save(update_fields=["status"])
    audit_record(by=actor, action="update", obj=link, after={"status": link.status}, summary="撤回关联申请")
    return link
