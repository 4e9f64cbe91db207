"""Every write to grids, households, teams, visits and cases.

Each write takes the acting user as `actor=` and asks the policy (grids/policies.py) before it changes anything: a
case's steps by the actor's part in them (staff, the handling unit, the reporter), a visit by the household being in
the actor's scope, the grid register (grids, households, teams) by change rights over the organisation. `actor=None`
means the system and is accepted only by the register's writes (the import command, the demo, the sweep) and by
case_open (Open311 intake: anyone may report; who may report for whom is the caller's rule).

Views, the API, Open311, the worker and the demo call these; each runs in a transaction and leaves an audit row
(case transitions leave a CaseEvent row, the case's own append-only history, plus an audit row).

The case lifecycle (立案 → 派遣 → 签收 → 处置 → 反馈 → 核查 → 结案 → 评价):

    opened ─dispatch→ dispatched ─accept→ accepted ─start→ handling ─report→ reported ─verify→ verified ─close→ closed
    dispatched/accepted ─return(reason)→ returned ─dispatch→ …
    accepted/handling ─suspend(reason)→ suspended ─resume→ handling   (the clock stops while suspended)
    reported ─reject(reason)→ handling                                 (verification failed)
    any open case ─merge→ merged (a duplicate; updates go to the original)
    closed ─reopen(reason, by the reporter)→ reopened ─dispatch→ …
    closed ─rate (once, by the reporter)

A transition out of order raises TransitionError (a ValidationError) with the reason and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.urls import reverse
from django.utils import timezone

from xianfeng.core.audit import audit_record, snapshot
from xianfeng.core.ids import normalise_compact, normalise_text, parse_phone
from xianfeng.core.policy import require, visible
from xianfeng.core.text import clean_text
from xianfeng.orgs.models import Organisation, OrgKind, Person, Role

from . import geo
from .calendar import deadline, load_calendar
from .models import (
    CLOCK_STATES,
    CLOSED_STATES,
    UNACCEPTED_STATES,
    Case,
    CaseCategory,
    CaseEvent,
    Grid,
    GridTeam,
    Household,
    HouseholdMember,
    Open311Client,
    Status,
    TeamMember,
    Visit,
    WorkCalendarDay,
)
from .policies import cases

GRID_ORG_KINDS = frozenset({OrgKind.VILLAGE, OrgKind.COMMUNITY})
MAX_DESCRIPTION = 2000
REOPEN_DAYS = 30  # a resident may reopen a closed case within this many days
REMIND_SHARE = 0.2  # a reminder goes out when this share of the time allowed is left
TOP_LEVEL = 3  # 0 handling unit / grid team, 1 village or community, 2 town, 3 county department
NOTIFY_ROLE_KINDS = (Role.Kind.SECRETARY, Role.Kind.ORG_ADMIN, Role.Kind.GRID_WORKER)
Kind = CaseEvent.Kind


class TransitionError(ValidationError):
    """A case transition that its current state does not allow (or a rule of the transition that failed)."""


# ---- calendar and catalogue ---------------------------------------------------------------------------------------


@transaction.atomic
def calendar_day_set(*, date: dt.date, is_workday: bool, name: str = "", actor: Any = None) -> WorkCalendarDay:
    """Declare a holiday (is_workday=False) or a worked weekend day (True); the weekday rule applies otherwise."""
    day, _ = WorkCalendarDay.objects.update_or_create(
        date=date, defaults={"is_workday": bool(is_workday), "name": clean_text(name, "name", 50, required=False)})
    audit_record(by=actor, action="update", obj=day, after=snapshot(day), summary=f"节假日调整 {day}")
    return day


@transaction.atomic
def category_create(*, code: str, name: str, deadline_kind: str = CaseCategory.Deadline.WORKING_DAYS,
                    deadline_value: int = 3, default_unit: Organisation | None = None, actor: Any = None,
                    **extra: Any) -> CaseCategory:
    category = CaseCategory(code=normalise_compact(code), name=normalise_text(name),
                            deadline_kind=deadline_kind, deadline_value=deadline_value, default_unit=default_unit,
                            **extra)
    category.full_clean()
    category.save()
    audit_record(by=actor, action="create", obj=category, after=snapshot(category), summary=f"派单目录 {category.name}")
    return category


CATEGORY_FIELDS = ("name", "group", "description", "keywords", "default_unit", "deadline_kind", "deadline_value",
                   "accept_hours", "escalate_hours", "duplicate_radius_m", "place_private", "is_active")


@transaction.atomic
def category_update(*, category: CaseCategory, actor: Any = None, **changes: Any) -> CaseCategory:
    """Change a catalogue entry (not its code). New deadlines apply to cases dispatched from now on; cases already
    dispatched keep the deadline they were given. Raises ValidationError for an unknown field or a bad value."""
    unknown = set(changes) - set(CATEGORY_FIELDS)
    if unknown:
        raise ValidationError({name: ["不能修改"] for name in sorted(unknown)})
    fresh = CaseCategory.objects.select_for_update().get(pk=category.pk)
    before = snapshot(fresh)
    for key, value in changes.items():
        setattr(fresh, key, normalise_text(value) if key in ("name", "group", "keywords") else value)
    fresh.full_clean()
    fresh.save()
    audit_record(by=actor, action="update", obj=fresh, before=before, after=snapshot(fresh),
                 summary=f"修改派单目录 {fresh.name}")
    return fresh


@transaction.atomic
def calendar_day_clear(*, date: dt.date, actor: Any = None) -> None:
    """Return a day to the weekday rule (remove its holiday or worked-weekend entry); audited."""
    day = WorkCalendarDay.objects.filter(date=date).first()
    if day is None:
        return
    before = snapshot(day)
    day.delete()
    audit_record(by=actor, action="delete", model="grids.workcalendarday", object_id=str(date), before=before,
                 summary=f"取消节假日调整 {date}")


# ---- grids, households, teams -------------------------------------------------------------------------------------


def _require_register(actor: Any, org: Organisation) -> None:
    """The grid register of `org` is changed by staff over it (or by the system: actor None)."""
    if actor is not None:
        require(actor, "change", org)


def _check_grid_org(org: Organisation) -> None:
    if org.kind not in GRID_ORG_KINDS:
        raise ValidationError({"org": ["网格只能属于村或社区"]})


@transaction.atomic
def grid_create(*, org: Organisation, name: str, boundary: Any = None, is_default: bool = False,
                actor: Any = None) -> Grid:
    """A new grid of a village or community; its code is the organisation's code + a 3-digit sequence.
    Raises ValidationError for a bad boundary or a second default grid."""
    _require_register(actor, org)
    _check_grid_org(org)
    Organisation.objects.select_for_update().filter(pk=org.pk).first()  # serialise sequence numbers per org
    seq = (Grid.objects.filter(org=org).aggregate(m=Max("seq"))["m"] or 0) + 1
    grid = Grid(org=org, seq=seq, code=f"{org.code}{seq:03d}", name=clean_text(name, "name", 60), is_default=is_default)
    if is_default and Grid.objects.filter(org=org, is_default=True).exists():
        raise ValidationError({"is_default": ["该村（社区）已有默认网格"]})
    if boundary is not None:
        _apply_boundary(grid, boundary)
    grid.full_clean()
    grid.save()
    audit_record(by=actor, action="create", obj=grid, summary=f"新增网格 {grid.code} {grid.name}")
    return grid


def _apply_boundary(grid: Grid, boundary: Any) -> None:
    _apply_geometry(grid, geo.parse_boundary(boundary))


def _geojson(geom) -> dict:
    data = geom.__geo_interface__
    return {"type": data["type"], "coordinates": _lists(data["coordinates"])}


def _lists(value: Any) -> Any:
    return [_lists(v) for v in value] if isinstance(value, (list, tuple)) else value


@transaction.atomic
def grid_set_boundary(*, grid: Grid, boundary: Any, actor: Any = None) -> Grid:
    """Replace a grid's boundary (GeoJSON). Raises ValidationError({"boundary": …}) for an invalid polygon."""
    if actor is not None:
        require(actor, "change", grid)
    before = {"boundary": grid.boundary}
    _apply_boundary(grid, boundary)
    grid.save()
    audit_record(by=actor, action="update", obj=grid, before=before, after={"boundary": grid.boundary},
                 summary=f"修改网格边界 {grid.code}")
    return grid


def _apply_geometry(grid: Grid, geom) -> None:
    grid.boundary = _geojson(geom)
    for key, value in geo.bounds_of(geom).items():
        setattr(grid, key, value)


@transaction.atomic
def grid_boundaries_import(*, data: Any, actor: Any, grids: Any = None, file_name: str = "") -> list[Grid]:
    """Replace the boundaries of existing grids from a GeoJSON FeatureCollection whose features carry the grid code
    in `properties.code`. `grids` is the queryset of grids the caller may change (Grid.objects.restrict(user,
    "change")): a code outside it is an unknown code, exactly like a missing one.

    All or nothing: the file is validated whole first (geo.parse_feature_collection: geometry type, shapely
    validity, self-intersection, duplicate codes), then every code is looked up; any bad feature raises
    ValidationError({"file": [one reason per bad feature, naming it]}) and nothing changes. Audited: one import row
    for the file, and one before/after row per grid."""
    if grids is None:
        grids = visible(Grid, actor, "change")
    features = geo.parse_feature_collection(data)
    found = {g.code: g for g in grids.filter(code__in=[f.code for f in features]).select_for_update()}
    unknown = [f"第{f.index}个要素（编码 {f.code}）：没有这个网格编码，或无权修改该网格" for f in features
               if f.code not in found]
    if unknown:
        raise ValidationError({"file": unknown})
    changed = []
    for feature in features:
        grid = found[feature.code]
        before = {"boundary": grid.boundary}
        _apply_geometry(grid, feature.geometry)
        grid.save(update_fields=["boundary", "min_lat", "max_lat", "min_lng", "max_lng", "updated_at"])
        audit_record(by=actor, action="update", obj=grid, before=before, after={"boundary": grid.boundary},
                     summary=f"导入网格边界 {grid.code}")
        changed.append(grid)
    audit_record(by=actor, action="import", model="grids.grid", summary=f"导入网格边界 {len(changed)} 个",
                 after={"file": file_name[:200], "codes": [g.code for g in changed]})
    return changed


@transaction.atomic
def grids_import_geojson(*, org: Organisation, data: Any, actor: Any = None) -> list[Grid]:
    """Grids of one village or community from a GeoJSON FeatureCollection: each feature's properties name the grid
    (`name`) and, to update an existing one, its `code`. All or nothing: one bad feature imports none and the error
    lists every bad feature with its reason."""
    _require_register(actor, org)
    _check_grid_org(org)
    features = geo.parse_feature_collection(data, require_code=False)
    existing = {g.code: g for g in Grid.objects.filter(org=org)}
    errors = [f"第{f.index}个要素（编码 {f.code}）：网格编码不属于{org.name}" for f in features
              if f.code and f.code not in existing]
    if errors:
        raise ValidationError({"file": errors})
    grids = []
    for feature in features:
        if not feature.code:
            grids.append(grid_create(org=org, name=feature.name, boundary=feature.geometry.__geo_interface__, actor=actor))
        else:
            grids.append(grid_set_boundary(grid=existing[feature.code], boundary=feature.geometry.__geo_interface__,
                                           actor=actor))
    return grids


def default_grid(org: Organisation) -> Grid:
    """The org's default grid, created on first need (named 「<org>默认网格」)."""
    grid = Grid.objects.filter(org=org, is_default=True).first()
    if grid is None:
        grid = grid_create(org=org, name=f"{org.name}默认网格", is_default=True)
    return grid


# A point this far beyond the bounding box of every grid boundary is not in the county (GRIDS_AREA_MARGIN_M).
AREA_MARGIN_M = 20_000


def grid_locate(*, lat: Any, lng: Any, fallback_org: Organisation | None = None) -> tuple[Grid, bool]:
    """The grid containing the point, and whether it lay outside every grid (then it is the default grid of
    `fallback_org`, or else of the village/community whose grid lies nearest). A point outside the county's area
    (the grids' bounding box widened by GRIDS_AREA_MARGIN_M) is refused. Raises ValidationError."""
    lat_f, lng_f = geo.check_point(lat, lng)
    index = geo.grid_index()
    margin_m = getattr(settings, "GRIDS_AREA_MARGIN_M", AREA_MARGIN_M)
    if not index.within_area(lat_f, lng_f, margin_m):
        raise ValidationError({"location": [
            f"位置（纬度 {lat_f:.4f}，经度 {lng_f:.4f}）不在本县范围内：距各网格边界的外包范围超过 {margin_m / 1000:g} 公里，"
            "无法受理"]})
    grid_id = index.locate(lat_f, lng_f)
    if grid_id is not None:
        return Grid.objects.select_related("org").get(pk=grid_id), False
    org = fallback_org
    if org is None or org.kind not in GRID_ORG_KINDS:
        nearest = _nearest_grid(lat_f, lng_f, within=org)
        if nearest is None:
            raise ValidationError({"location": ["该位置附近没有网格，无法受理"]})
        org = nearest.org
    return default_grid(org), True


def _nearest_grid(lat: float, lng: float, within: Organisation | None = None) -> Grid | None:
    qs: Any = Grid.objects.filter(min_lat__isnull=False).select_related("org")
    if within is not None:
        qs = qs.in_subtree(within)
    best, best_d = None, float("inf")
    for grid in qs.only("id", "org", "min_lat", "max_lat", "min_lng", "max_lng"):
        d = geo.haversine_m(lat, lng, (grid.min_lat + grid.max_lat) / 2, (grid.min_lng + grid.max_lng) / 2)
        if d < best_d:
            best, best_d = grid, d
    return best


@transaction.atomic
def household_create(*, grid: Grid, number: str, address: str, head_name: str = "", phone: str = "",
                     elderly_alone: bool = False, disabled: bool = False, hardship: bool = False,
                     people: Iterable[dict] = (), latitude: float | None = None, longitude: float | None = None,
                     actor: Any = None) -> Household:
    """A household of a grid with its people ({"name", "relation", "birth_year", "resident"}). Raises ValidationError."""
    if actor is not None:
        require(actor, "change", grid)
    household = Household(grid=grid, number=clean_text(number, "number", 40), address=clean_text(address, "address", 200),
                          head_name=clean_text(head_name, "head_name", 50, required=False), phone=parse_phone(phone),
                          elderly_alone=elderly_alone, disabled=disabled, hardship=hardship,
                          latitude=latitude, longitude=longitude)
    if Household.objects.filter(grid=grid, number=household.number).exists():
        raise ValidationError({"number": ["该网格已有此户号"]})
    household.full_clean()
    household.save()
    for person in people:
        member = HouseholdMember(household=household, name=clean_text(person.get("name"), "name", 50),
                                 relation=person.get("relation") or HouseholdMember.Relation.OTHER,
                                 birth_year=person.get("birth_year"), resident=person.get("resident"))
        member.full_clean()
        member.save()
    audit_record(by=actor, action="create", obj=household, summary=f"新增户 {household.number}")
    return household


@transaction.atomic
def team_create(*, org: Organisation, name: str, grids: Iterable[Grid], actor: Any = None) -> GridTeam:
    """A grid team serving `grids` (all of `org`'s subtree)."""
    _require_register(actor, org)
    grids = list(grids)
    if not grids:
        raise ValidationError({"grids": ["至少服务一个网格"]})
    if any(not g.org.path.startswith(org.path) for g in grids):
        raise ValidationError({"grids": ["网格须属于组团所在组织"]})
    team = GridTeam(org=org, name=clean_text(name, "name", 80))
    team.full_clean()
    team.save()
    team.grids.set(grids)
    audit_record(by=actor, action="create", obj=team, summary=f"新增组团 {team.name}")
    return team


@transaction.atomic
def team_seat_add(*, team: GridTeam, person: Person, role: str, department: Organisation | None = None,
                  actor: Any = None) -> TeamMember:
    """Seat a cadre in a team (a person may sit in several teams, once in each)."""
    if actor is not None:
        require(actor, "change", team)
    if role == TeamMember.Role.DEPARTMENT and department is None:
        raise ValidationError({"department": ["部门联络干部须注明派出部门"]})
    if TeamMember.objects.filter(team=team, person=person).exists():
        raise ValidationError({"person": ["此人已在该组团"]})
    seat = TeamMember(team=team, person=person, role=role, department=department)
    seat.full_clean()
    seat.save()
    audit_record(by=actor, action="create", obj=seat, summary=f"{person.name} 加入 {team.name}")
    return seat


# ---- visits -------------------------------------------------------------------------------------------------------


@transaction.atomic
def visit_record(*, household: Household, date: dt.date, notes: str, actor: Any, visitor_name: str = "",
                 need: dict | None = None, problem: dict | None = None) -> Visit:
    """Record a household visit. `need` ({"category", "description", "urgency"}) becomes a Demand (demands module);
    `problem` ({"category": CaseCategory, "description"}) becomes a Case in the household's grid. All in one
    transaction: a bad need or problem records nothing. The household must be in `actor`'s scope."""
    require(actor, "view", household)
    today = timezone.localdate()
    if date > today:
        raise ValidationError({"date": ["走访日期不能晚于今天"]})
    if date < today - dt.timedelta(days=366):
        raise ValidationError({"date": ["走访日期过早"]})
    name = visitor_name or (actor.get_full_name() or actor.username if getattr(actor, "is_authenticated", False) else "")
    visit = Visit(household=household, grid=household.grid, date=date, notes=clean_text(notes, "notes", 2000, multiline=True),
                  visitor=actor if getattr(actor, "is_authenticated", False) else None,
                  visitor_name=clean_text(name, "visitor_name", 50))
    visit.save()
    if need:
        from xianfeng.demands.services import demand_create

        demand = demand_create(
            org=household.grid.org, category=cast(str, need.get("category")), description=need.get("description") or "",
            household=household.number, address=household.address, urgency=need.get("urgency") or "normal",
            source="staff", actor=actor, grid=household.grid.name[:60], latitude=household.latitude,
            longitude=household.longitude)
        visit.demand_id = demand.pk
    if problem:
        visit.case = case_open(category=problem["category"], description=problem.get("description") or "",
                               org=household.grid.org, grid=household.grid, address=household.address,
                               lat=household.latitude, lng=household.longitude, source=Case.Source.VISIT,
                               reporter_name=household.head_name, reporter_phone=household.phone, actor=actor)
    if need or problem:
        visit.save(update_fields=["demand_id", "case"])
    audit_record(by=actor, action="create", obj=visit, summary=f"走访 {household.number} {date}")
    return visit


def visit_coverage(grid_ids: Iterable[int], *, days: int, today: dt.date | None = None) -> dict[int, tuple[int, int]]:
    """{grid id: (households visited in the last `days` days, households)} in two queries."""
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=days - 1)
    grid_ids = list(grid_ids)
    from django.db.models import Count, Q

    recent = Visit.objects.filter(household=OuterRef("pk"), date__gte=since, date__lte=today)
    rows = (Household.objects.filter(grid_id__in=grid_ids).order_by().values("grid_id")
            .annotate(n=Count("id"), x=Count("id", filter=Q(Exists(recent)))))
    result = {pk: (0, 0) for pk in grid_ids}
    for row in rows:
        result[row["grid_id"]] = (row["x"], row["n"])
    return result


def grid_totals(org: Organisation) -> dict[str, int]:
    """The grid work of `org`'s subtree in the report's terms: grids, teams, cadres (distinct people, however many
    teams they sit in), households, vulnerable households, and residents in grid households."""
    grids = Grid.objects.in_subtree(org)
    teams = GridTeam.objects.in_subtree(org)
    households = Household.objects.in_subtree(org)
    from django.db.models import Q

    return {
        "grids": grids.count(),
        "teams": teams.count(),
        "cadres": TeamMember.objects.filter(team__in=teams).values("person").distinct().count(),
        "households": households.count(),
        "vulnerable": households.filter(Q(elderly_alone=True) | Q(disabled=True) | Q(hardship=True)).count(),
        "residents": HouseholdMember.objects.in_subtree(org).count(),
    }


def unvisited_households(grid: Grid, *, days: int, today: dt.date | None = None):
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=days - 1)
    recent = Visit.objects.filter(household=OuterRef("pk"), date__gte=since, date__lte=today)
    return grid.households.exclude(Exists(recent)).order_by("number")


# ---- cases: intake ------------------------------------------------------------------------------------------------


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _event(case: Case, kind: str, *, actor: Any, at: dt.datetime, from_status: str = "", note: str = "",
           unit: Organisation | None = None, level: int | None = None) -> CaseEvent:
    return CaseEvent.objects.create(case=case, at=at, by=actor if getattr(actor, "is_authenticated", False) else None,
                                    kind=kind, from_status=from_status, to_status=case.status, note=note, unit=unit,
                                    level=level)


def case_duplicates(*, category: CaseCategory, lat: float, lng: float, exclude: Case | None = None,
                    limit: int = 5) -> list[tuple[Case, float]]:
    """Open cases of the same category within the category's duplicate radius, nearest first, with distances (m)."""
    radius = category.duplicate_radius_m
    dlat = radius / 111_000
    dlng = radius / max(1.0, 111_000 * abs(math.cos(math.radians(lat))))
    qs = (Case.objects.open().filter(category=category, merged_into__isnull=True,
                                     latitude__range=(lat - dlat, lat + dlat),
                                     longitude__range=(lng - dlng, lng + dlng)).order_by("-created_at")[:200])
    found = []
    for case in qs:
        if exclude is not None and case.pk == exclude.pk:
            continue
        d = geo.haversine_m(lat, lng, case.latitude, case.longitude)
        if d <= radius:
            found.append((case, d))
    found.sort(key=lambda pair: pair[1])
    return found[:limit]


@transaction.atomic
def case_open(*, category: CaseCategory, description: str, actor: Any, source: str,
              org: Organisation | None = None, grid: Grid | None = None, lat: Any = None, lng: Any = None,
              address: str = "", photo: Any = None, media_url: str = "", reporter: Any = None,
              reporter_name: str = "", reporter_phone: str = "", now: dt.datetime | None = None) -> Case:
    """Open (立案) a case and dispatch it by the catalogue: to the category's default unit, else to the village or
    community of its grid. The location is a point (lat/lng: its grid by point-in-polygon; outside every grid → the
    default grid of `org`, flagged) or a typed address (the default grid of `org`). Raises ValidationError."""
    now = _now(now)
    errors: dict[str, list[str]] = {}
    if not category.is_active:
        errors["category"] = ["该类别已停用"]
    try:
        description = clean_text(description, "description", MAX_DESCRIPTION, multiline=True)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    address = normalise_text(address)[:200]
    has_point = lat not in (None, "") and lng not in (None, "")
    if not has_point and not address and grid is None:
        errors["location"] = ["请在地图上选择位置或填写地址"]
    try:
        reporter_phone = parse_phone(reporter_phone)
    except ValidationError as exc:
        errors["reporter_phone"] = exc.messages
    if errors:
        raise ValidationError(errors)
    outside = False
    lat_f = lng_f = None
    if has_point:
        lat_f, lng_f = geo.check_point(lat, lng)
    if grid is None:
        if has_point:
            grid, outside = grid_locate(lat=lat_f, lng=lng_f, fallback_org=org)
        elif org is not None and org.kind in GRID_ORG_KINDS:
            grid = default_grid(org)
        else:
            raise ValidationError({"location": ["只填写地址时须选择所在村（社区）"]})
    case = Case(
        number=uuid.uuid4().hex[:20], org=grid.org, grid=grid, outside_grids=outside, category=category,
        description=description, address=address, latitude=lat_f, longitude=lng_f, source=source,
        media_url=media_url, reporter=reporter if getattr(reporter, "is_authenticated", False) else None,
        reporter_name=clean_text(reporter_name, "reporter_name", 50, required=False), reporter_phone=reporter_phone,
        status=Status.OPENED, created_at=now, updated_at=now,
    )
    if photo:
        case.photo = photo
    case.save()
    case.number = f"{timezone.localtime(now):%Y}{case.pk:08d}"
    case.save(update_fields=["number"])
    _event(case, Kind.OPEN, actor=actor, at=now, note="位置不在任何网格内，归入默认网格" if outside else "")
    audit_record(by=actor, action="create", obj=case, summary=f"立案 {case.number} {category.name}")
    unit = category.default_unit or case.org
    return _dispatch(case, unit=unit, actor=actor, now=now, from_status=Status.OPENED, note="按派单目录自动派遣")


# ---- cases: transitions -------------------------------------------------------------------------------------------


# The lifecycle step (grids/policies.py) each kind of event records; the Case policy says who has a part in it.
STEP_OF_KIND: dict[str, str] = {Kind.DISPATCH: "dispatch", Kind.ACCEPT: "accept", Kind.RETURN: "return", Kind.START: "start",
                Kind.REPORT: "report", Kind.VERIFY: "verify", Kind.REJECT: "reject", Kind.CLOSE: "close",
                Kind.SUSPEND: "suspend", Kind.RESUME: "resume", Kind.MERGE: "merge"}


def _locked(case: Case, allowed: Iterable[str], action: str, *, actor: Any = None, step: str | None = None) -> Case:
    """The case's row, locked, if `actor` has a part in `step` (NotFound otherwise, like a missing case) and its state
    allows `action`; TransitionError (nothing changed) otherwise. `step=None`: the caller checks who acts."""
    fresh = (Case.objects.select_for_update(of=("self",)).select_related("category", "org", "handling_unit")
             .get(pk=case.pk))
    if step is not None:
        cases().require_part(actor, fresh, step)
    if fresh.status not in set(allowed):
        raise TransitionError({"status": [f"诉求当前状态为「{fresh.get_status_display()}」，不能{action}"]})
    return fresh


def _timers(case: Case, now: dt.datetime) -> None:
    """Reminder and escalation times from the state: unaccepted cases rise when the accept window passes, accepted
    ones when the deadline does."""
    if case.status not in CLOCK_STATES:
        case.remind_at = case.escalate_at = None
        return
    if case.escalation_level == 0:  # above level 0 the sweep keeps its own schedule
        unaccepted = case.status in UNACCEPTED_STATES
        case.escalate_at = case.accept_due_at if unaccepted else case.due_at
    if case.due_at is not None and case.dispatched_at is not None and case.remind_at is None and case.due_at > now:
        remind = case.due_at - (case.due_at - case.dispatched_at) * REMIND_SHARE
        case.remind_at = remind if remind > now else None


def _dispatch(case: Case, *, unit: Organisation, actor: Any, now: dt.datetime, from_status: str, note: str = "",
              handler: Any = None) -> Case:
    category = case.category
    case.status = Status.DISPATCHED
    case.handling_unit = unit
    case.handler = handler
    case.dispatched_at = now
    case.accept_due_at = now + dt.timedelta(hours=category.accept_hours)
    case.due_at = deadline(category.deadline_kind, category.deadline_value, now, load_calendar())
    case.escalation_level = 0
    case.remind_at = None
    case.escalate_at = None
    _timers(case, now)
    case.updated_at = now
    case.save()
    _event(case, Kind.DISPATCH, actor=actor, at=now, from_status=from_status, note=note, unit=unit, level=0)
    _notify_org(unit, case, kind="grids.dispatched", subject=f"新派诉求 {case.number}：{category.name}",
                key=f"case:{case.pk}:dispatch:{now.timestamp()}")
    return case


@transaction.atomic
def case_dispatch(*, case: Case, unit: Organisation, actor: Any, handler: Any = None, note: str = "",
                  now: dt.datetime | None = None) -> Case:
    """派遣: send an opened, returned or reopened case to a unit; the deadline starts from now."""
    now = _now(now)
    case = _locked(case, (Status.OPENED, Status.RETURNED, Status.REOPENED), "派遣", actor=actor, step="dispatch")
    from_status = case.status
    note = clean_text(note, "note", 500, required=False, multiline=True)
    case = _dispatch(case, unit=unit, actor=actor, now=now, from_status=from_status, note=note,
                     handler=handler)
    audit_record(by=actor, action="update", obj=case, summary=f"派遣 {case.number} → {unit.name}")
    return case


def _simple(case: Case, *, actor: Any, allowed: Iterable[str], to: str, kind: str, action: str, note: str = "",
            now: dt.datetime | None = None, **fields: Any) -> Case:
    now = _now(now)
    case = _locked(case, allowed, action, actor=actor, step=STEP_OF_KIND.get(kind))
    from_status = case.status
    case.status = to
    for key, value in fields.items():
        setattr(case, key, value)
    _timers(case, now)
    case.updated_at = now
    case.save()
    _event(case, kind, actor=actor, at=now, from_status=from_status, note=note)
    audit_record(by=actor, action="update", obj=case, summary=f"{action} {case.number}")
    return case


@transaction.atomic
def case_accept(*, case: Case, actor: Any, now: dt.datetime | None = None) -> Case:
    """签收: the handling unit takes the case; `by` becomes its handler."""
    return _simple(case, actor=actor, allowed=(Status.DISPATCHED,), to=Status.ACCEPTED, kind=Kind.ACCEPT, action="签收",
                   now=now, handler=actor, escalation_level=0, escalate_at=None)


@transaction.atomic
def case_return(*, case: Case, actor: Any, reason: str, now: dt.datetime | None = None) -> Case:
    """退回: the handling unit sends the case back for re-dispatch, with its reason."""
    reason = clean_text(reason, "reason", 500, multiline=True)
    now = _now(now)
    case = _simple(case, actor=actor, allowed=(Status.DISPATCHED, Status.ACCEPTED), to=Status.RETURNED, kind=Kind.RETURN,
                   action="退回", note=reason, now=now, handler=None, escalation_level=0, escalate_at=None,
                   accept_due_at=now + dt.timedelta(hours=case.category.accept_hours))
    _notify_org(case.org, case, kind="grids.returned", subject=f"诉求 {case.number} 被退回，请重新派遣",
                key=f"case:{case.pk}:return:{now.timestamp()}")
    return case


@transaction.atomic
def case_start(*, case: Case, actor: Any, now: dt.datetime | None = None) -> Case:
    """处置: work begins."""
    return _simple(case, actor=actor, allowed=(Status.ACCEPTED,), to=Status.HANDLING, kind=Kind.START, action="开始处置",
                   now=now)


@transaction.atomic
def case_report_back(*, case: Case, actor: Any, note: str, now: dt.datetime | None = None) -> Case:
    """反馈: the handler reports what was done; the case waits for verification."""
    note = clean_text(note, "note", 2000, multiline=True)
    return _simple(case, actor=actor, allowed=(Status.HANDLING,), to=Status.REPORTED, kind=Kind.REPORT, action="反馈",
                   note=note, now=now)


@transaction.atomic
def case_verify(*, case: Case, actor: Any, passed: bool, note: str = "", now: dt.datetime | None = None) -> Case:
    """核查: someone other than the handler checks the work; failing sends it back to handling with the reason."""
    current = Case.objects.only("handler_id").get(pk=case.pk)
    if getattr(actor, "pk", None) is not None and current.handler_id == actor.pk:
        raise TransitionError({"by": ["核查须由承办人以外的人员进行"]})
    if passed:
        return _simple(case, actor=actor, allowed=(Status.REPORTED,), to=Status.VERIFIED, kind=Kind.VERIFY,
                       action="核查", note=clean_text(note, "note", 2000, required=False, multiline=True), now=now)
    return _simple(case, actor=actor, allowed=(Status.REPORTED,), to=Status.HANDLING, kind=Kind.REJECT, action="核查",
                   note=clean_text(note, "note", 2000, multiline=True), now=now)


@transaction.atomic
def case_close(*, case: Case, actor: Any, outcome: str, note: str = "", transferred_to: Organisation | None = None,
               now: dt.datetime | None = None) -> Case:
    """结案 with one of the outcomes kept apart: resolved / explained-not-resolvable / not our responsibility (naming
    the unit it went to). On time when closed by the deadline."""
    now = _now(now)
    if outcome not in Case.Outcome.values:
        raise ValidationError({"outcome": ["请选择办结结果"]})
    if outcome == Case.Outcome.NOT_OURS and transferred_to is None:
        raise ValidationError({"transferred_to": ["非本单位职责须注明转办单位"]})
    if outcome != Case.Outcome.NOT_OURS:
        transferred_to = None
    note = clean_text(note, "note", 2000, required=outcome != Case.Outcome.RESOLVED, multiline=True)
    fresh = Case.objects.only("due_at").get(pk=case.pk)
    case = _simple(case, actor=actor, allowed=(Status.VERIFIED,), to=Status.CLOSED, kind=Kind.CLOSE, action="结案",
                   note=note, now=now, outcome=outcome, outcome_note=note, transferred_to=transferred_to,
                   closed_at=now, closed_on_time=fresh.due_at is None or now <= fresh.due_at)
    _notify_reporters(case, kind="grids.closed", subject=f"您反映的问题 {case.number} 已办结，请评价",
                      key=f"case:{case.pk}:close:{now.timestamp()}")
    return case


@transaction.atomic
def case_suspend(*, case: Case, actor: Any, reason: str, now: dt.datetime | None = None) -> Case:
    """缓办: the clock stops (no reminders, no escalation) until the case resumes."""
    reason = clean_text(reason, "reason", 500, multiline=True)
    now = _now(now)
    return _simple(case, actor=actor, allowed=(Status.ACCEPTED, Status.HANDLING), to=Status.SUSPENDED, kind=Kind.SUSPEND,
                   action="缓办", note=reason, now=now, suspended_at=now)


@transaction.atomic
def case_resume(*, case: Case, actor: Any, now: dt.datetime | None = None) -> Case:
    """Resume a suspended case: its deadline moves on by the time it spent suspended."""
    now = _now(now)
    fresh = Case.objects.only("suspended_at", "due_at").get(pk=case.pk)
    paused = now - fresh.suspended_at if fresh.suspended_at else dt.timedelta(0)
    due = fresh.due_at + paused if fresh.due_at else None
    return _simple(case, actor=actor, allowed=(Status.SUSPENDED,), to=Status.HANDLING, kind=Kind.RESUME, action="恢复办理",
                   note=f"缓办 {paused.total_seconds() / 3600:.1f} 小时，时限顺延", now=now, suspended_at=None,
                   due_at=due, remind_at=None, escalate_at=None, escalation_level=0)


@transaction.atomic
def case_merge(*, case: Case, into: Case, actor: Any, now: dt.datetime | None = None) -> Case:
    """Merge a duplicate into the original: the duplicate closes as merged; its reporter follows the original."""
    now = _now(now)
    if into.pk == case.pk:
        raise TransitionError({"into": ["不能与自身合并"]})
    require(actor, "view", into)
    original = Case.objects.select_for_update().get(pk=into.pk)
    if original.status in CLOSED_STATES or original.merged_into_id is not None:
        raise TransitionError({"into": ["只能并入未办结的原件"]})
    case = _simple(case, actor=actor, allowed=set(Status) - CLOSED_STATES, to=Status.MERGED, kind=Kind.MERGE,
                   action="合并", note=f"并入 {original.number}", now=now, merged_into=original)
    _event(original, Kind.DUPLICATE, actor=actor, at=now, from_status=original.status, note=f"{case.number} 作为重复件并入")
    return case


@transaction.atomic
def case_reopen(*, case: Case, actor: Any, reason: str, now: dt.datetime | None = None) -> Case:
    """重开: the reporter reopens a closed case within REOPEN_DAYS; it waits for dispatch (and rises if it waits)."""
    reason = clean_text(reason, "reason", 500, multiline=True)
    now = _now(now)
    fresh = Case.objects.only("reporter_id", "closed_at").get(pk=case.pk)
    if fresh.reporter_id is None or fresh.reporter_id != getattr(actor, "pk", None):
        raise TransitionError({"by": ["只有反映人可以重开"]})
    if fresh.closed_at is not None and now - fresh.closed_at > dt.timedelta(days=REOPEN_DAYS):
        raise TransitionError({"status": [f"结案超过{REOPEN_DAYS}天，不能重开，请重新反映"]})
    case = _simple(case, actor=actor, allowed=(Status.CLOSED,), to=Status.REOPENED, kind=Kind.REOPEN, action="重开",
                   note=reason, now=now, reopen_count=case.reopen_count + 1, outcome="", outcome_note="",
                   transferred_to=None, closed_at=None, closed_on_time=None, rating="", rating_note="", rated_at=None,
                   accept_due_at=now + dt.timedelta(hours=case.category.accept_hours), escalation_level=0,
                   escalate_at=None)
    _notify_org(case.org, case, kind="grids.reopened", subject=f"诉求 {case.number} 被群众重开，请重新派遣",
                key=f"case:{case.pk}:reopen:{now.timestamp()}")
    return case


@transaction.atomic
def case_rate(*, case: Case, actor: Any, rating: str, note: str = "", now: dt.datetime | None = None) -> Case:
    """评价: the reporter rates a closed case once (满意 / 基本满意 / 不满意)."""
    now = _now(now)
    if rating not in Case.Rating.values:
        raise ValidationError({"rating": ["请选择满意、基本满意或不满意"]})
    note = clean_text(note, "note", 300, required=False)
    fresh = _locked(case, (Status.CLOSED,), "评价")
    if fresh.reporter_id is None or fresh.reporter_id != getattr(actor, "pk", None):
        raise TransitionError({"by": ["只有反映人可以评价"]})
    if fresh.rating:
        raise TransitionError({"rating": ["已评价过"]})
    fresh.rating, fresh.rating_note, fresh.rated_at, fresh.updated_at = rating, note, now, now
    fresh.save(update_fields=["rating", "rating_note", "rated_at", "updated_at"])
    _event(fresh, Kind.RATE, actor=actor, at=now, from_status=fresh.status, note=f"{fresh.get_rating_display()} {note}")
    audit_record(by=actor, action="update", obj=fresh, summary=f"评价 {fresh.number} {fresh.get_rating_display()}")
    return fresh


# ---- notifications and escalation ---------------------------------------------------------------------------------


def _org_users(org_ids: Iterable[int]) -> dict[int, set[int]]:
    """{org id: user ids} of the staff and grid workers with a role exactly at each organisation."""
    result: dict[int, set[int]] = defaultdict(set)
    for org_id, user_id in Role.objects.filter(org_id__in=set(org_ids), kind__in=NOTIFY_ROLE_KINDS,
                                               user__is_active=True).values_list("org_id", "user_id"):
        result[org_id].add(user_id)
    return result


def _send(user_ids: Iterable[int], *, kind: str, subject: str, link: str, key: str) -> int:
    from django.contrib.auth import get_user_model

    from xianfeng.notify.services import notify

    sent = 0
    for user in get_user_model().objects.filter(pk__in=set(user_ids)).order_by("pk"):
        notify(to=user, kind=kind, subject=subject[:200], link=link, key=f"{key}:{user.pk}"[:200])
        sent += 1
    return sent


def _notify_org(org: Organisation, case: Case, *, kind: str, subject: str, key: str) -> None:
    users = _org_users([org.pk]).get(org.pk, set())
    _send(users, kind=kind, subject=subject, link=reverse("grids:case_detail", args=[case.pk]), key=key)


def _notify_reporters(case: Case, *, kind: str, subject: str, key: str) -> None:
    """The reporter of the case and of every duplicate merged into it."""
    ids = set(Case.objects.filter(pk=case.pk, reporter__isnull=False).values_list("reporter_id", flat=True))
    ids |= set(case.duplicates.filter(reporter__isnull=False).values_list("reporter_id", flat=True))
    _send(ids, kind=kind, subject=subject, link=reverse("grids:my_cases"), key=key)


def level_units(cases: list[dict]) -> dict[int, dict[int, int | None]]:
    """{case id: {level: organisation id}} — 0 handling unit, 1 village/community, 2 town, 3 county department
    (the category's default unit when it is a department, else the county)."""
    org_ids = {c["org_id"] for c in cases}
    parents = dict(Organisation.objects.filter(pk__in=org_ids).values_list("pk", "parent_id"))
    root = Organisation.objects.filter(depth=1).order_by("path").values_list("pk", flat=True).first()
    departments = set(Organisation.objects.filter(kind=OrgKind.DEPARTMENT).values_list("pk", flat=True))
    result = {}
    for c in cases:
        dept = c["category__default_unit_id"]
        result[c["id"]] = {0: c["handling_unit_id"], 1: c["org_id"], 2: parents.get(c["org_id"]),
                           3: dept if dept in departments else root}
    return result


def escalation_sweep(*, now: dt.datetime | None = None, batch: int = 20_000) -> dict[str, int]:
    """The worker's sweep: reminders for cases near their deadline, and a one-level rise for every case whose accept
    window or deadline passed (again every category.escalate_hours while it stays overdue, up to the county
    department). One event row per case and step; one notification per recipient per sweep listing the count.
    Safe to run twice or in two workers at once: rows are taken with a conditional UPDATE (and SKIP LOCKED on
    PostgreSQL), so each step happens once."""
    from django.db import connection

    now = _now(now)
    stats = {"reminded": 0, "escalated": 0, "notified": 0}
    remind, escalate = (_remind_pg, _escalate_pg) if connection.vendor == "postgresql" else (_remind, _escalate)
    with transaction.atomic():
        stats["reminded"], reminded_users = remind(now, batch)
    with transaction.atomic():
        stats["escalated"], escalated_users = escalate(now, batch)
    board = reverse("grids:overdue")
    stamp = now.isoformat()
    for user_id, n in sorted(reminded_users.items()):
        stats["notified"] += _send([user_id], kind="grids.reminder", subject=f"{n}件诉求即将到期，请抓紧办理",
                                   link=reverse("grids:case_list") + "?due=soon", key=f"grids:remind:{stamp}")
    for user_id, n in sorted(escalated_users.items()):
        stats["notified"] += _send([user_id], kind="grids.escalated", subject=f"{n}件诉求超时未办，已升级至您督办",
                                   link=board, key=f"grids:escalate:{stamp}")
    return stats


def _take(qs, batch: int) -> list[dict]:
    qs = qs.order_by()
    from django.db import connection

    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return list(qs.values("id", "org_id", "handling_unit_id", "handler_id", "escalation_level", "status",
                          "category_id", "category__default_unit_id", "category__escalate_hours")[:batch])


def _remind(now: dt.datetime, batch: int) -> tuple[int, dict[int, int]]:
    rows = _take(Case.objects.filter(remind_at__lte=now, status__in=CLOCK_STATES), batch)
    if not rows:
        return 0, {}
    ids = [r["id"] for r in rows]
    Case.objects.filter(pk__in=ids, remind_at__lte=now).update(remind_at=None)
    CaseEvent.objects.bulk_create([
        CaseEvent(case_id=r["id"], at=now, kind=Kind.REMIND, from_status=r["status"], to_status=r["status"],
                  note="办理时限将到", unit_id=r["handling_unit_id"]) for r in rows])
    return len(rows), _recipients((r["handler_id"], r["handling_unit_id"], 1) for r in rows)


def _escalate(now: dt.datetime, batch: int) -> tuple[int, dict[int, int]]:
    rows = _take(Case.objects.filter(escalate_at__lte=now, status__in=CLOCK_STATES), batch)
    if not rows:
        return 0, {}
    units = level_units(rows)
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for r in rows:
        groups[(r["escalation_level"], r["category__escalate_hours"])].append(r["id"])
    for (level, hours), ids in groups.items():
        new_level = min(level + 1, TOP_LEVEL)
        next_at = now + dt.timedelta(hours=hours) if new_level < TOP_LEVEL else None
        for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            Case.objects.filter(pk__in=ids[start:start + 900], escalation_level=level, escalate_at__lte=now).update(
                escalation_level=new_level, escalate_at=next_at, updated_at=now)
    events = []
    for r in rows:
        new_level = min(r["escalation_level"] + 1, TOP_LEVEL)
        unaccepted = r["status"] in UNACCEPTED_STATES
        events.append(CaseEvent(case_id=r["id"], at=now, kind=Kind.ESCALATE, from_status=r["status"],
                                to_status=r["status"], note="超时未签收" if unaccepted else "超期未办结",
                                unit_id=units[r["id"]][new_level], level=new_level))
    CaseEvent.objects.bulk_create(events, batch_size=2000)
    org_users = _org_users(e.unit_id for e in events if e.unit_id)
    users: dict[int, int] = defaultdict(int)
    for e in events:
        for uid in org_users.get(e.unit_id, ()) if e.unit_id is not None else ():
            users[uid] += 1
    return len(rows), users


# On PostgreSQL each half of the sweep is one statement: take the due rows (SKIP LOCKED), move their timers, write
# their event rows and answer the recipients' counts — no row travels to Python. The SQL is built from the models'
# own table names; every value goes as a parameter.


def _tables() -> dict[str, str]:
    from django.db import connection

    q = connection.ops.quote_name
    return {"case": q(Case._meta.db_table), "event": q(CaseEvent._meta.db_table),
            "category": q(CaseCategory._meta.db_table), "org": q(Organisation._meta.db_table)}


def _recipients(rows: Iterable[tuple[int | None, int | None, int]]) -> dict[int, int]:
    """rows: (handler id or None, unit id, cases) → {user id: cases}; a case with no handler goes to its unit's staff."""
    rows = list(rows)
    unit_users = _org_users(unit for handler, unit, _ in rows if handler is None and unit is not None)
    users: dict[int, int] = defaultdict(int)
    for handler, unit, n in rows:
        for uid in ({handler} if handler is not None else unit_users.get(unit, set()) if unit is not None else set()):
            users[uid] += n
    return users


def _due_sql(table: str, column: str) -> str:
    """The ids of clock-running cases whose `column` time has come, oldest first, locked (others skip them)."""
    return (f"SELECT id FROM {table} WHERE {column} <= %(now)s AND status = ANY(%(clock)s) "  # noqa: S608
            f"ORDER BY {column} LIMIT %(batch)s FOR UPDATE SKIP LOCKED")


def _remind_pg(now: dt.datetime, batch: int) -> tuple[int, dict[int, int]]:
    t = _tables()
    sql = f"""
        WITH due AS ({_due_sql(t["case"], "remind_at")}), moved AS (
            UPDATE {t["case"]} c SET remind_at = NULL FROM due WHERE c.id = due.id
            RETURNING c.id, c.status, c.handling_unit_id, c.handler_id
        ), written AS (
            INSERT INTO {t["event"]} (case_id, at, kind, from_status, to_status, note, unit_id)
            SELECT id, %(now)s, %(kind)s, status, status, %(note)s, handling_unit_id FROM moved
        )
        SELECT handler_id, handling_unit_id, count(*) FROM moved GROUP BY handler_id, handling_unit_id
    """  # noqa: S608 — table names from model metadata, quoted
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(sql, {"now": now, "clock": sorted(CLOCK_STATES), "batch": batch, "kind": Kind.REMIND,
                          "note": "办理时限将到"})
        rows = cur.fetchall()
    return sum(n for _, _, n in rows), _recipients(rows)


def _escalate_pg(now: dt.datetime, batch: int) -> tuple[int, dict[int, int]]:
    """One level up for every due case: 0 handling unit → 1 village/community → 2 town → 3 county department (the
    category's default unit when it is a department, else the county); the next rise after escalate_hours."""
    t = _tables()
    sql = f"""
        WITH due AS ({_due_sql(t["case"], "escalate_at")}), moved AS (
            UPDATE {t["case"]} c
            SET escalation_level = LEAST(c.escalation_level + 1, %(top)s),
                escalate_at = CASE WHEN c.escalation_level + 1 >= %(top)s THEN NULL
                                   ELSE %(now)s + cat.escalate_hours * INTERVAL '1 hour' END,
                updated_at = %(now)s
            FROM due, {t["category"]} cat
            WHERE c.id = due.id AND cat.id = c.category_id
            RETURNING c.id, c.status, c.escalation_level AS level, c.handling_unit_id, c.org_id, cat.default_unit_id
        ), placed AS (
            SELECT moved.id, moved.status, moved.level,
                   CASE moved.level WHEN 0 THEN moved.handling_unit_id WHEN 1 THEN moved.org_id
                                    WHEN 2 THEN home.parent_id ELSE COALESCE(dept.id, %(root)s) END AS unit_id
            FROM moved JOIN {t["org"]} home ON home.id = moved.org_id
            LEFT JOIN {t["org"]} dept ON dept.id = moved.default_unit_id AND dept.kind = %(department)s
        ), written AS (
            INSERT INTO {t["event"]} (case_id, at, kind, from_status, to_status, note, unit_id, level)
            SELECT id, %(now)s, %(kind)s, status, status,
                   CASE WHEN status = ANY(%(unaccepted)s) THEN %(late_accept)s ELSE %(late_close)s END, unit_id, level
            FROM placed
        )
        SELECT NULL, unit_id, count(*) FROM placed WHERE unit_id IS NOT NULL GROUP BY unit_id
        UNION ALL SELECT -1, NULL, count(*) FROM placed
    """  # noqa: S608 — table names from model metadata, quoted
    from django.db import connection

    root = Organisation.objects.filter(depth=1).order_by("path").values_list("pk", flat=True).first()
    with connection.cursor() as cur:
        cur.execute(sql, {"now": now, "clock": sorted(CLOCK_STATES), "batch": batch, "top": TOP_LEVEL, "root": root,
                          "department": OrgKind.DEPARTMENT, "kind": Kind.ESCALATE,
                          "unaccepted": sorted(UNACCEPTED_STATES), "late_accept": "超时未签收",
                          "late_close": "超期未办结"})
        rows = cur.fetchall()
    total = next(n for flag, _, n in rows if flag == -1)
    org_users = _org_users(unit for flag, unit, _ in rows if flag != -1)
    users: dict[int, int] = defaultdict(int)
    for flag, unit, n in rows:
        if flag != -1:
            for uid in org_users.get(unit, ()):
                users[uid] += n
    return total, users


# ---- Open311 clients ----------------------------------------------------------------------------------------------


@transaction.atomic
def open311_client_create(*, name: str, org: Organisation, actor: Any = None) -> Open311Client:
    """A new Open311 client with a fresh api_key (shown once to whoever creates it)."""
    client = Open311Client(name=clean_text(name, "name", 80), org=org, api_key=secrets.token_urlsafe(32))
    client.full_clean()
    client.save()
    audit_record(by=actor, action="create", obj=client, summary=f"Open311 接入方 {client.name}")
    return client


def settings_tile_url() -> str:
    return getattr(settings, "GRIDS_MAP_TILE_URL", "")
