"""Who sees which demand, and how much of it.

    staff     — a role with `view` over the demand's organisation: everything (phone masked unless unmasked)
    owner     — the resident who posted it (or whose demand it is): everything about his own demand
    claimer   — a member holding an active claim on it: the resident's name, phone and address, only while the
                claim lasts (a withdrawn, lapsed or finished claim ends it)
    public    — a member or resident of the community, or a member whose claim on it has ended: category, area,
                urgency, time — nothing personal
Anyone else: the demand does not exist (404).
"""

from __future__ import annotations

import math
from typing import Any

from django.db.models import ExpressionWrapper, F, FloatField, Q, Value

from xianfeng.core.scoping import can, scope_paths, subtree_q
from xianfeng.orgs.models import PARTY_KINDS, Member, Organisation, Resident, Role
from xianfeng.orgs.selectors import member_of

from .models import Claim, Demand


def community_paths(user: Any) -> list[str]:
    """Paths of the communities whose open demands the user may browse: the member's community (and 双管 community),
    the communities where the user holds a member or resident role. One query beyond the member and the roles
    (which the scoping cache already holds); cached on the user object."""
    if not getattr(user, "is_authenticated", False):
        return []
    cache = user.__dict__.setdefault("_demands_member", {})
    if "c" in cache:
        return cache["c"]
    paths: set[str] = set()
    member = member_of(user)
    if member is not None:
        paths.add(member.org.path)
        if member.managing_org_id:
            paths.add(member.managing_org.path)
    scope_paths(user, "view")  # fills the roles cache
    roles = user.__dict__.get("_scope_cache", {}).get("_roles")
    if roles is None:
        roles = list(Role.objects.filter(user=user).values_list("kind", "org__path"))
    paths.update(path for kind, path in roles if kind in (Role.Kind.MEMBER, Role.Kind.RESIDENT))
    units = set(Organisation.objects.filter(path__in={p[:i] for p in paths for i in range(4, len(p) + 1, 4)})
                .exclude(kind__in=PARTY_KINDS).values_list("path", flat=True))
    communities = set()
    for path in paths:
        above = [u for u in units if path.startswith(u)]
        communities.add(max(above, key=len) if above else path)
    cache["c"] = sorted(communities)
    return cache["c"]


def board_queryset(user: Any):
    """Demands the user may see on the board: those in the user's staff scope and those of the user's communities."""
    qs = Demand.objects.all()
    paths = scope_paths(user, "view")
    if paths is None:
        return qs
    parts = [subtree_q("org__path", p) for p in paths + community_paths(user)]
    if getattr(user, "is_authenticated", False):
        parts.append(Q(created_by=user))
    if not parts:
        return qs.none()
    q = parts[0]
    for part in parts[1:]:
        q |= part
    return qs.filter(q)


def access(user: Any, demand: Demand) -> str | None:
    """How much of `demand` the user may see: "staff", "owner", "claimer", "public" or None (not at all)."""
    if not getattr(user, "is_authenticated", False):
        return None
    if can(user, "view", demand.org):
        return "staff"
    if demand.created_by_id == user.pk:
        return "owner"
    if demand.resident_id and user.person_id and demand.resident.person_id == user.person_id:
        return "owner"
    member = member_of(user)
    claims = set(Claim.objects.filter(demand=demand, member=member).values_list("status", flat=True)) \
        if member is not None else set()
    if claims & set(Claim.ACTIVE):
        return "claimer"
    if claims or any(demand.org.path.startswith(p) or p.startswith(demand.org.path) for p in community_paths(user)):
        return "public"
    return None


KM_PER_DEGREE = 111.2


def with_distance(qs, lat: float, lng: float, km: float | None = None):
    """Annotate `dist2` (squared km from (lat, lng), the flat-earth approximation — off by well under 1 % across a
    county) in SQL, so filtering and ordering by distance need no per-row Python; demands without a position get
    NULL. With `km`, keep those within `km` (a bounding box the indexes can use, then the circle)."""
    ky = KM_PER_DEGREE
    kx = KM_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01)
    dy = (F("latitude") - Value(lat)) * Value(ky)
    dx = (F("longitude") - Value(lng)) * Value(kx)
    qs = qs.annotate(dist2=ExpressionWrapper(dy * dy + dx * dx, output_field=FloatField()))
    if km:
        qs = qs.filter(latitude__range=(lat - km / ky, lat + km / ky), longitude__range=(lng - km / kx, lng + km / kx),
                       dist2__lte=km * km)
    return qs


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine) in km."""
    r = 6371.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def home_position(member: Member | None) -> tuple[float, float] | None:
    """The member's household position from the grid register (when the member is registered as a resident of a
    household there), or None."""
    if member is None:
        return None
    from .services import household_position

    resident = Resident.objects.filter(person_id=member.person_id).select_related("org").first()
    if resident is None:
        return None
    return household_position(resident.org, resident.household, resident)
