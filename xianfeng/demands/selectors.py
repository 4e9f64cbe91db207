"""Reads of the demand archive that pages and the API share: the communities a user belongs to, the board, the
lists behind the figures, the caller's own claims / records / pairings with those in staff scope, and distances.

Who may see which demand, and how much of it, is the Demand policy (policies.py).
"""

from __future__ import annotations

import math
from typing import Any

from django.db.models import ExpressionWrapper, F, FloatField, Q, QuerySet, Value

from xianfeng.core.policy import visible
from xianfeng.core.scoping import scope_paths, scope_q, subtree_q
from xianfeng.orgs.models import PARTY_KINDS, Member, Organisation, Resident, Role
from xianfeng.orgs.selectors import member_of

from .models import Claim, Demand, Pairing, ServiceRecord
from .positions import household_position


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
        if member.managing_org is not None:
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
    resident = Resident.objects.filter(person_id=member.person_id).select_related("org").first()
    if resident is None:
        return None
    return household_position(resident.org, resident.household, resident)


# ---- lists shared by pages and the API -----------------------------------------------------------------------------


def staff_demands(user: Any, action: str = "view") -> QuerySet[Demand]:
    """Demands in `user`'s staff scope for `action` (the organisation tree only: not the community's board)."""
    from .policies import DemandPolicy

    return DemandPolicy.staff_filter(Demand.objects.all(), user, action)


def demand_list_queryset(user: Any, org: Organisation, figure: str = "recorded", *,
                         open_only: bool = False) -> QuerySet[Demand]:
    """The demands the figures' list shows: in `user`'s staff view scope, in `org`'s subtree, behind `figure`'s
    numerator (demands/indicators.py)."""
    from .indicators import CLAIMED, DONE, RECORDED

    measure = {"recorded": RECORDED, "claimed": CLAIMED, "done": DONE}[figure]
    qs = (staff_demands(user).filter(subtree_q("org__path", org.path))
          .filter(pk__in=measure.records().values("pk")))
    return qs.filter(status=Demand.Status.OPEN) if open_only else qs


def _scope_or_own(qs: QuerySet, user: Any, own: Q, org_field: str) -> QuerySet:
    paths = scope_paths(user, "view")
    if paths is None:
        return qs
    q = own
    if paths:
        q |= scope_q([f"{org_field}__path"], paths)
    return qs.filter(q)


def claims_for(user: Any) -> QuerySet[Claim]:
    """The caller's own claims and the claims on demands in the caller's staff scope."""
    member = member_of(user)
    own = Q(member=member) if member else Q(pk__in=[])
    return _scope_or_own(Claim.objects.all(), user, own, "demand__org")


def records_for(user: Any) -> QuerySet[ServiceRecord]:
    """Service records: the caller's own, those on the caller's demands, those in the staff scope."""
    return visible(ServiceRecord, user, "view")


def pairings_for(user: Any) -> QuerySet[Pairing]:
    """The caller's own pairings and those in the staff scope."""
    member = member_of(user)
    own = Q(member=member) if member else Q(pk__in=[])
    return _scope_or_own(Pairing.objects.all(), user, own, "org")


def roots(user: Any, action: str) -> list[str]:
    """The roots of `user`'s scope for `action` (every top organisation for a superuser)."""
    paths = scope_paths(user, action)
    if paths is None:
        return list(Organisation.objects.filter(parent__isnull=True).values_list("path", flat=True))
    return paths


def board_categories(user: Any) -> list[str]:
    """The categories the board offers as a filter: those of the user's scope and communities."""
    from xianfeng.core.scoping import minimal_paths

    from .categories import categories_under

    return categories_under(minimal_paths(roots(user, "view") + community_paths(user)))


def may_create(user: Any) -> bool:
    """Staff with `change` somewhere, or a resident (from the roles the scoping cache already holds)."""
    paths = scope_paths(user, "change")
    if paths is None or paths:
        return True
    roles = user.__dict__.get("_scope_cache", {}).get("_roles") or []
    return any(kind == Role.Kind.RESIDENT for kind, _path in roles)


def create_orgs(user: Any) -> QuerySet[Organisation] | None:
    """Communities/villages where the user may record demands as staff, or None."""
    paths = scope_paths(user, "change")
    if paths is not None and not paths:
        return None
    qs = Organisation.objects.exclude(kind__in=PARTY_KINDS).filter(kind__in=["community", "village"])
    if paths is not None:
        q = subtree_q("path", paths[0])
        for p in paths[1:]:
            q |= subtree_q("path", p)
        qs = qs.filter(q)
    return qs.order_by("path")


def resident_org(user: Any) -> Organisation | None:
    role = Role.objects.filter(user=user, kind=Role.Kind.RESIDENT).select_related("org").first()
    return role.org if role else None


def figures_org(user: Any, value: str) -> Organisation | None:
    """The organisation a figures page or list is about: ?org= in the view scope, else the first of the scope."""
    if value.isdigit():
        return Organisation.objects.restrict(user, "view").filter(pk=int(value)).first()
    paths = scope_paths(user, "view")
    if paths is None:
        return Organisation.objects.filter(parent__isnull=True).order_by("path").first()
    if paths:
        return Organisation.objects.filter(path=paths[0]).first()
    return None


def in_community(user: Any, demand: Demand) -> bool:
    """Whether `demand` lies in (or above) one of the user's communities."""
    return any(demand.org.path.startswith(p) or p.startswith(demand.org.path) for p in community_paths(user))


def active_claim(member: Member | None, demand: Demand) -> Claim | None:
    if member is None:
        return None
    return Claim.objects.filter(demand=demand, member=member, status__in=Claim.ACTIVE).first()
