"""Who may see and do what in care.

- A fund follows the organisation tree; `allocate` (move money to a sub-fund) is its owner's, or an administrator's
  over its organisation.
- A care case is read by the organisation's roles and by its carers; `care` (record an action, ask for aid) is staff
  over its organisation (change) or one of its carers.
- A disbursement is `review`ed by staff over its case's organisation and `decide`d by its fund's owner — never by
  the one who asked for it.
- An alert is `respond`ed to by someone in its chain, staff over its organisation, or a duty officer over it.

Actions beyond the roles' (`allocate`, `care`, `review`, `decide`, `respond`) are answered here and nowhere else.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from xianfeng.core.policy import NOTHING, OrgPolicy, in_org_scope, register
from xianfeng.core.scoping import scope_paths, scope_q
from xianfeng.orgs.models import Role

from .models import Alert, CareCase, CareFund, Device, Disbursement


def _user_pk(user: Any) -> int | None:
    return user.pk if getattr(user, "is_authenticated", False) and getattr(user, "is_active", False) else None


def _or(*parts: Q | None) -> Q | None:
    """Union of scopes: None (everything) wins, NOTHING parts drop out."""
    if any(p is None for p in parts):
        return None
    kept = [p for p in parts if p is not None and p != NOTHING]
    if not kept:
        return NOTHING
    q = kept[0]
    for p in kept[1:]:
        q |= p
    return q


@register(CareFund)
class CareFundPolicy(OrgPolicy):
    detail_page = "care:fund_detail"
    detail_api = "/api/v1/care-funds/{pk}/"

    def scope(self, user: Any, action: str) -> Q | None:
        if action == "allocate":
            pk = _user_pk(user)
            return _or(super().scope(user, "admin"), Q(owner_id=pk) if pk is not None else NOTHING)
        return super().scope(user, action)

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        fund: Any = obj
        if action == "allocate":
            pk = _user_pk(user)
            return (pk is not None and pk == fund.owner_id) or in_org_scope(user, "admin", [fund.org])
        return in_org_scope(user, action, [fund.org])


def _carer_q(user: Any) -> Q:
    pk = _user_pk(user)
    if pk is None:
        return NOTHING
    return Q(pk__in=CareCase.carers.through.objects.filter(user_id=pk).values("carecase_id"))


@register(CareCase)
class CareCasePolicy(OrgPolicy):
    detail_page = "care:case_detail"
    detail_api = "/api/v1/care-cases/{pk}/"

    def scope(self, user: Any, action: str) -> Q | None:
        if action == "view":
            return _or(super().scope(user, "view"), _carer_q(user))
        if action == "care":
            return _or(super().scope(user, "change"), _carer_q(user))
        return super().scope(user, action)

    def is_carer(self, user: Any, case: Any) -> bool:
        pk = _user_pk(user)
        return pk is not None and case.carers.filter(pk=pk).exists()

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        case: Any = obj
        if action == "view":
            return in_org_scope(user, "view", [case.org]) or self.is_carer(user, case)
        if action == "care":
            return in_org_scope(user, "change", [case.org]) or self.is_carer(user, case)
        return in_org_scope(user, action, [case.org])


@register(Disbursement)
class DisbursementPolicy(OrgPolicy):
    def scope(self, user: Any, action: str) -> Q | None:
        pk = _user_pk(user)
        if action == "review":
            paths = scope_paths(user, "change")
            if paths is None:
                return ~Q(requested_by_id=pk) if pk is not None else None
            if not paths or pk is None:
                return NOTHING
            return scope_q(["case__org__path"], paths) & ~Q(requested_by_id=pk)
        if action == "decide":
            if pk is None:
                return NOTHING
            return Q(fund__owner_id=pk) & ~Q(requested_by_id=pk)
        return super().scope(user, action)

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        d: Any = obj
        pk = _user_pk(user)
        if action == "review":
            return pk is not None and pk != d.requested_by_id and in_org_scope(user, "change", [d.case.org])
        if action == "decide":
            return pk is not None and pk != d.requested_by_id and pk == d.fund.owner_id
        return super().allows(user, action, obj)


@register(Device)
class DevicePolicy(OrgPolicy):
    detail_page = "care:device_detail"
    detail_api = "/api/v1/care-devices/{pk}/"


def _prefixes(path: str) -> list[str]:
    """The paths of an organisation and its ancestors, nearest first."""
    return [path[:i] for i in range(len(path), 0, -4)]


@register(Alert)
class AlertPolicy(OrgPolicy):
    """`respond` is decided per alert (its chain is a copy on the alert, not a column to filter on)."""

    detail_page = "care:alert_detail"
    detail_api = "/api/v1/care-alerts/{pk}/"

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        alert: Any = obj
        if action != "respond":
            return super().allows(user, action, obj)
        pk = _user_pk(user)
        if pk is None:
            return False
        if pk in alert.chain_users() or in_org_scope(user, "change", [alert.org]):
            return True
        return Role.objects.filter(user_id=pk, kind=Role.Kind.DUTY_OFFICER,
                                   org__path__in=_prefixes(alert.org.path)).exists()
