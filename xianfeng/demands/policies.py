"""Who may see and do what in the demand archive.

A demand is seen at one of four levels (`DemandPolicy.level`):

    staff     — a role with `view` over the demand's organisation: everything (phone masked unless unmasked)
    owner     — the resident who posted it (or whose demand it is): everything about his own demand
    claimer   — a member holding an active claim on it: the resident's name, phone and address, only while the
                claim lasts (a withdrawn, lapsed or finished claim ends it)
    public    — a member or resident of the community, or a member whose claim on it has ended: category, area,
                urgency, time — nothing personal

Anyone else: the demand does not exist (404). `view` is any of the four; every other action is the organisation
tree's (`change` over the demand's organisation: assign, close).

A claim is withdrawn by its member or by staff with `change`; a service record is confirmed (or rejected) by the
resident served, or by staff with `change` on the resident's behalf.
"""

from __future__ import annotations

import functools
import operator
from typing import Any, cast

from django.db.models import Q, QuerySet

from xianfeng.core.policy import NOTHING, NotFound, OrgPolicy, in_org_scope, policy_for, register
from xianfeng.core.scoping import subtree_q
from xianfeng.orgs.models import Member, Role
from xianfeng.orgs.selectors import member_of

from .models import Claim, Demand, ServiceRecord
from .selectors import community_paths, in_community

LEVELS = ("staff", "owner", "claimer", "public")


def _any(parts: list[Q]) -> Q:
    return functools.reduce(operator.or_, parts) if parts else NOTHING


@register(Demand)
class DemandPolicy(OrgPolicy):
    detail_page = "demands:detail"
    detail_api = "/api/v1/demands/{pk}/"

    @staticmethod
    def staff_filter(qs: QuerySet, user: Any, action: str = "view") -> QuerySet:
        """`qs` narrowed to the organisation tree only (the staff scope), whatever the community sees."""
        return OrgPolicy.filter(_STAFF, qs, user, action)

    def scope(self, user: Any, action: str) -> Q | None:
        staff = super().scope(user, action)
        if action != "view" or staff is None:
            return staff
        if not getattr(user, "is_authenticated", False):
            return NOTHING
        parts = [] if staff == NOTHING else [staff]
        parts.append(Q(created_by_id=user.pk))
        if user.person_id:
            parts.append(Q(resident__person_id=user.person_id))
        member = member_of(user)
        if member is not None:
            parts.append(Q(pk__in=Claim.objects.filter(member=member).values("demand_id")))
        for path in community_paths(user):
            parts.append(subtree_q("org__path", path))
            above = [path[:i] for i in range(4, len(path), 4)]
            if above:
                parts.append(Q(org__path__in=above))
        return _any(parts)

    def level(self, user: Any, demand: Demand) -> str | None:
        """How much of `demand` the user may see: "staff", "owner", "claimer", "public" or None (not at all)."""
        if not getattr(user, "is_authenticated", False):
            return None
        if in_org_scope(user, "view", [demand.org]):
            return "staff"
        if demand.created_by_id == user.pk:
            return "owner"
        if demand.resident is not None and user.person_id and demand.resident.person_id == user.person_id:
            return "owner"
        member = member_of(user)
        claims = set(Claim.objects.filter(demand=demand, member=member).values_list("status", flat=True)) \
            if member is not None else set()
        if claims & set(Claim.ACTIVE):
            return "claimer"
        if claims or in_community(user, demand):
            return "public"
        return None

    def allows(self, user: Any, action: str, obj: Any) -> bool:
        if action == "view":
            return self.level(user, obj) is not None
        return in_org_scope(user, action, self.orgs_of(obj))

    def may_create(self, user: Any, org: Any, source: str) -> bool:
        """Recording a demand: a resident posts his own need to the community where he holds the resident role;
        otherwise a role with `view` over the organisation (staff, and the grid workers who find needs on visits —
        the pages and the API offer only the organisations the user may `change`)."""
        if source == Demand.Source.RESIDENT:
            return (Role.objects.filter(user=user, kind=Role.Kind.RESIDENT, org=org).exists()
                    or in_org_scope(user, "change", [org]))
        return in_org_scope(user, "view", [org])

    def read(self, user: Any, pk: Any, qs: QuerySet | None = None) -> tuple[Demand, str]:
        """The demand `pk` and the user's level on it; NotFound when missing or not visible at all (the same)."""
        qs = Demand.objects.select_related("org", "resident__person", "created_by") if qs is None else qs
        demand = qs.filter(pk=pk).first() if str(pk).isascii() and str(pk).isdigit() and len(str(pk)) <= 18 else None
        level = self.level(user, demand) if demand is not None else None
        if demand is None or level is None:
            raise NotFound
        return demand, level


_STAFF = OrgPolicy(Demand)


@register(Claim)
class ClaimPolicy(OrgPolicy):
    """Staff scope through the demand's organisation; `withdraw`: the claiming member, or staff with `change`."""

    def allows(self, user: Any, action: str, obj: Any) -> bool:
        if action == "withdraw":
            if not getattr(user, "is_authenticated", False):
                return False
            if user.person_id is not None and Member.objects.filter(pk=obj.member_id,
                                                                    person_id=user.person_id).exists():
                return True
            return in_org_scope(user, "change", [obj.demand.org])
        return super().allows(user, action, obj)


@register(ServiceRecord)
class ServiceRecordPolicy(OrgPolicy):
    """`view`: the member who served, the resident whose demand it is (who posted it, or the demand's resident),
    staff in scope. `confirm` (and reject): the resident served confirms as himself, staff with `change` on the
    resident's behalf (`on_behalf`). `photo`: the member who served, those who confirm, those who see it."""

    detail_api = "/api/v1/service-records/{pk}/"

    def scope(self, user: Any, action: str) -> Q | None:
        if action == "confirm":
            staff = super().scope(user, "change")
            if staff is None:
                return None
            if not getattr(user, "is_authenticated", False):
                return NOTHING
            parts = [] if staff == NOTHING else [staff]
            parts.append(Q(demand__created_by_id=user.pk, demand__source=Demand.Source.RESIDENT))
            if user.person_id:
                parts.append(Q(demand__resident__person_id=user.person_id))
                parts.append(Q(demand__isnull=True, pairing__resident__person_id=user.person_id)
                             | Q(demand__isnull=False, demand__resident__isnull=True,
                                 pairing__resident__person_id=user.person_id))
            return _any(parts)
        staff = super().scope(user, action)
        if action != "view" or staff is None:
            return staff
        member = member_of(user)
        parts = [Q(member=member)] if member is not None else []
        if getattr(user, "is_authenticated", False):
            parts.append(Q(demand__created_by_id=user.pk))
            if user.person_id:
                parts.append(Q(demand__resident__person_id=user.person_id))
        if staff != NOTHING:
            parts.append(staff)
        return _any(parts)

    def confirms(self, user: Any, record: ServiceRecord) -> tuple[bool, bool]:
        """(may confirm, on behalf): the resident served (who posted the demand, or the demand's / pairing's
        resident) confirms as himself; community staff confirm on the resident's behalf."""
        if not getattr(user, "is_authenticated", False):
            return False, False
        demand = record.demand
        if demand is not None and demand.created_by_id == user.pk and demand.source == Demand.Source.RESIDENT:
            return True, False
        resident = ((demand.resident if demand is not None else None)
                    or (record.pairing.resident if record.pairing else None))
        if resident is not None and user.person_id and resident.person_id == user.person_id:
            return True, False
        if in_org_scope(user, "change", [record.org]):
            return True, True
        return False, False

    def allows(self, user: Any, action: str, obj: Any) -> bool:
        if action == "confirm":
            return self.confirms(user, obj)[0]
        if action == "photo":  # the member who served, those who confirm, those who see the record
            own = bool(getattr(user, "person_id", None)) and obj.member.person_id == user.person_id
            return own or self.confirms(user, obj)[0] or self.allows(user, "view", obj)
        if action == "view":
            return super().allows(user, action, obj)
        return in_org_scope(user, action, self.orgs_of(obj))


def demand_policy() -> DemandPolicy:
    return cast(DemandPolicy, policy_for(Demand))


def record_policy() -> ServiceRecordPolicy:
    return cast(ServiceRecordPolicy, policy_for(ServiceRecord))
