"""Who may see and do what in grids: grids, households and teams follow the organisation tree (the default policy);
a case belongs to two organisations (its village/community and its handling unit), is readable by its reporter, and
its lifecycle steps are split between staff, the handling unit and the reporter."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from xianfeng.core.policy import NOTHING, NotFound, OrgPolicy, Policy, in_org_scope, policy_for, register, visible
from xianfeng.core.scoping import is_system_admin, scope_paths, scope_q
from xianfeng.orgs.models import Organisation

from .models import Case, CaseCategory, Grid, GridTeam, Household, Open311Client, Status, unit_exists


@register(Grid)
class GridPolicy(OrgPolicy):
    detail_page = "grids:grid_detail"
    detail_api = "/api/v1/grids/{pk}/"


@register(GridTeam)
class GridTeamPolicy(OrgPolicy):
    detail_page = "grids:team_detail"


@register(Household)
class HouseholdPolicy(OrgPolicy):
    detail_page = "grids:visit_new"


# Which steps each state allows (the services enforce the same; this also decides which buttons a page shows).
STATE_ACTIONS: dict[str, set[str]] = {
    Status.OPENED: {"dispatch", "merge"},
    Status.DISPATCHED: {"accept", "return", "merge"},
    Status.ACCEPTED: {"start", "return", "suspend", "merge"},
    Status.HANDLING: {"report", "suspend", "merge"},
    Status.REPORTED: {"verify", "reject", "merge"},
    Status.VERIFIED: {"close", "merge"},
    Status.CLOSED: {"reopen", "rate"},
    Status.RETURNED: {"dispatch", "merge"},
    Status.SUSPENDED: {"resume", "merge"},
    Status.REOPENED: {"dispatch", "merge"},
    Status.MERGED: set(),
}
STAFF_ACTIONS = {"dispatch", "verify", "reject", "close", "suspend", "resume", "merge"}
HANDLER_ACTIONS = {"accept", "return", "start", "report"}
REPORTER_ACTIONS = {"reopen", "rate"}
ALL_ACTIONS = STAFF_ACTIONS | HANDLER_ACTIONS | REPORTER_ACTIONS


@register(Case)
class CasePolicy(OrgPolicy):
    """A case is in scope when its village/community or its handling unit is. Two spellings of the same scope: the
    default (`scope`, what `restrict()` uses) resolves the scope to organisation ids first (one indexed subquery):
    best for counts and sets. `filter_per_row` checks each row's two organisations by primary key: best for reading
    the first rows of a list in index order (newest first, keyset), where the planner would otherwise gather every
    case of the scope and sort them.

    Besides the scope, the reporter may read his or her own case (`allows(user, "view", case)`; the detail page and
    the API detail), and take the reporter's steps on it."""

    detail_page = "grids:case_detail"
    detail_api = "/api/v1/cases/{pk}/"

    def scope(self, user: Any, action: str) -> Q | None:
        paths = scope_paths(user, action)
        if paths is None:
            return None
        if not paths:
            return NOTHING
        orgs = visible(Organisation, user, action).values("pk")
        return Q(org_id__in=orgs) | Q(handling_unit_id__in=orgs)

    def filter_per_row(self, qs: models.QuerySet, user: Any, action: str) -> models.QuerySet:
        paths = scope_paths(user, action)
        if paths is None:
            return qs.all()
        if not paths:
            return qs.none()
        return qs.filter(unit_exists(scope_q(["path"], paths)))

    def units(self, case: Any) -> list[Any]:
        return [case.org] + ([case.handling_unit] if case.handling_unit_id else [])

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        case: Any = obj
        if in_org_scope(user, action, self.units(case)):
            return True
        return action == "view" and is_reporter(user, case)

    # -- the lifecycle's steps --------------------------------------------------------------------------------------

    def part(self, user: Any, case: Any) -> set[str]:
        """The steps `user` has a part in on `case`, whatever its state: staff (change over either organisation),
        the handling unit (view over it), the reporter."""
        allowed: set[str] = set()
        if in_org_scope(user, "change", self.units(case)):
            allowed |= STAFF_ACTIONS | HANDLER_ACTIONS
        elif case.handling_unit_id and in_org_scope(user, "view", [case.handling_unit]):
            allowed |= HANDLER_ACTIONS
        if is_reporter(user, case):
            allowed |= REPORTER_ACTIONS
        return allowed

    def steps(self, user: Any, case: Any) -> set[str]:
        """The steps `user` may take on `case` now (its state, its handler, whether it was rated)."""
        allowed = self.part(user, case)
        if case.handler_id is not None and case.handler_id == getattr(user, "pk", None):
            allowed -= {"verify", "reject"}
        if case.status == Status.CLOSED and case.rating:
            allowed.discard("rate")
        return allowed & STATE_ACTIONS[case.status]

    def require_part(self, user: Any, case: Any, step: str) -> None:
        """NotFound (like a missing case) unless `user` has a part in `step` on `case`; whether the state allows the
        step now is the service's to say."""
        if step not in self.part(user, case):
            raise NotFound


def is_reporter(user: Any, case: Any) -> bool:
    return case.reporter_id is not None and case.reporter_id == getattr(user, "pk", None)


def cases() -> CasePolicy:
    policy = policy_for(Case)
    assert isinstance(policy, CasePolicy)
    return policy


@register(CaseCategory)
class CaseCategoryPolicy(Policy):
    """The county's case catalogue (categories, deadlines, default handling units): read by anyone who may view some
    organisation (the case forms offer it); changed by system administrators only (the read-only admin shows it)."""

    def scope(self, user: Any, action: str) -> Q | None:
        if is_system_admin(user):
            return None
        if action == "view" and policy_for(Organisation).any(user, "view"):
            return None
        return NOTHING


@register(Open311Client)
class Open311ClientPolicy(Policy):
    """Open311 API keys of outside systems: system administrators only."""

    def scope(self, user: Any, action: str) -> Q | None:
        return None if is_system_admin(user) else NOTHING
