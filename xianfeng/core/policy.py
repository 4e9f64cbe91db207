"""Who may see and do what: one policy per model, declared in each app's `policies.py`.

A policy answers two questions and nothing else:

- `scope(user, action)` — which rows of the model `user` may do `action` on, as a filter (`Model.objects.restrict()`
  is this filter; list pages, API lists and counts all go through it);
- `allows(user, action, obj)` — whether `user` may do `action` on one object.

Pages, the API and services ask the policy; none of them calls `scope_paths()` or `can()` or raises a 404 by hand.
Out of scope is indistinguishable from missing (`NotFound`, a 404); in scope but not allowed is `NotAllowed`
(a 403 with a reason).

The default policy, used for every model that declares none, is the organisation tree: a row belongs to the
organisations named in the model's `scope_org_fields` (default `("org",)`), and a user may do an action on it if they
hold a role granting that action at one of those organisations or above. An app's policy subclasses `OrgPolicy` (to
add rules such as "and the member may always see their own") or `Policy` (for rows that are not the tree's).

Policies are found by `autodiscover_modules("policies")` when the core app is ready; `register(Model)` records one.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import connections, models
from django.db.models import Q
from django.http import Http404

from .scoping import ANY_LIMIT, ROLE_ACTIONS, scope_paths, scope_q, subtree_q

M = TypeVar("M", bound=models.Model)

NOTHING = Q(pk__in=[])


class NotFound(Http404):
    """Missing, or out of the user's scope: the same answer for both (404)."""


class NotAllowed(PermissionDenied):
    """In the user's scope, but this action is not theirs: a 403 that says why."""

    def __init__(self, reason: str = "您的角色不允许此操作"):
        super().__init__(reason)
        self.reason = reason


class Conflict(ValidationError):
    """The request clashes with the current state (already decided, already claimed…): 409 in the API, the message
    on the page."""


class Policy:
    """Base policy: nobody but a superuser may do anything. Subclasses override `scope` and, where one object needs
    more than being in scope, `allows`."""

    model: type[models.Model]
    actions: frozenset[str] = frozenset(ROLE_ACTIONS)
    # Where one object is read through each front door, for the generated permission matrix
    # (tests/security/test_policy_matrix.py): a URL name taking the object's pk, and an API path with "{pk}".
    detail_page: str | None = None
    detail_api: str | None = None

    def __init__(self, model: type[models.Model]):
        self.model = model

    # -- the two questions ----------------------------------------------------------------------------------------

    def scope(self, user: Any, action: str) -> Q | None:
        """The rows `user` may do `action` on; None means every row."""
        if getattr(user, "is_superuser", False) and getattr(user, "is_active", False):
            return None
        return NOTHING

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        """Whether `user` may do `action` on `obj`. The default asks the database whether `obj` is in scope."""
        q = self.scope(user, action)
        if q is None:
            return True
        if q == NOTHING:
            return False
        return self.model._default_manager.filter(q, pk=obj.pk).exists()

    # -- derived --------------------------------------------------------------------------------------------------

    def filter(self, qs: models.QuerySet, user: Any, action: str) -> models.QuerySet:
        q = self.scope(user, action)
        if q is None:
            return qs.all()
        if q == NOTHING:
            return qs.none()
        return qs.filter(q)

    def any(self, user: Any, action: str) -> bool:
        """Whether `user` may do `action` on some row at all (menus, and pages that are empty lists otherwise)."""
        return self.scope(user, action) != NOTHING


class OrgPolicy(Policy):
    """Rows that belong to organisations of the tree (`scope_org_fields`): a role at the organisation or above."""

    def org_fields(self) -> tuple[str, ...]:
        return tuple(getattr(self.model, "scope_org_fields", ("org",)))

    def path_fields(self) -> list[str]:
        return [f"{f}__path" if f else "path" for f in self.org_fields()]

    def scope(self, user: Any, action: str) -> Q | None:
        paths = scope_paths(user, action)
        if paths is None:
            return None
        if not paths:
            return NOTHING
        return scope_q(self.path_fields(), paths)

    def filter(self, qs: models.QuerySet, user: Any, action: str) -> models.QuerySet:
        names = self.org_fields()
        if (type(self).scope is OrgPolicy.scope and action in ROLE_ACTIONS and len(names) > 1
                and all(n and "__" not in n for n in names) and connections[qs.db].vendor == "postgresql"
                and (paths := scope_paths(user, action))):
            # Two organisation columns (a member's organisation or managing organisation; a case's organisation or
            # handling unit): an OR over two joins defeats the indexes and scans the table (4,000,000 members:
            # 280–590 ms for a county's 44,000). With the subtrees' organisation ids in hand, PostgreSQL ORs two
            # index scans (5–12 ms). A scope of more than ANY_LIMIT organisations (a city, a province) keeps the
            # joins: a long list would cost more than the scan.
            org_model = self.model._meta.get_field(names[0]).related_model
            ids = list(org_model._default_manager.filter(scope_q(["path"], paths)).order_by()  # type: ignore[union-attr]
                       .values_list("id", flat=True)[:ANY_LIMIT + 1])
            if len(ids) <= ANY_LIMIT:
                return qs.filter(functools.reduce(operator.or_, [Q(**{f"{n}_id__in": ids}) for n in names]))
        return super().filter(qs, user, action)

    def orgs_of(self, obj: models.Model) -> list[Any]:
        """The organisations `obj` belongs to (for `allows` without a query)."""
        orgs = []
        for name in self.org_fields():
            if not name:
                orgs.append(obj)
                continue
            target: Any = obj
            for part in name.split("__"):
                target = getattr(target, part, None)
                if target is None:
                    break
            if target is not None:
                orgs.append(target)
        return orgs

    def allows(self, user: Any, action: str, obj: models.Model) -> bool:
        if type(self).scope is not OrgPolicy.scope:
            return super().allows(user, action, obj)
        return in_org_scope(user, action, self.orgs_of(obj))


def in_org_scope(user: Any, action: str, orgs: Iterable[Any]) -> bool:
    """Whether `user` may do `action` on something belonging to any of `orgs` (organisations with a `path`)."""
    paths = scope_paths(user, action)
    if paths is None:
        return True
    return any(org is not None and org.path.startswith(p) for org in orgs for p in paths)


def org_subtree(field: str, org: Any) -> Q:
    """Rows whose organisation `field` (a path column, e.g. "org__path") lies under `org`."""
    return subtree_q(field, org.path)


# -- the registry -------------------------------------------------------------------------------------------------

_registry: dict[type[models.Model], Policy] = {}


def register(model: type[models.Model]) -> Callable[[type[Policy]], type[Policy]]:
    """Class decorator: `@register(Pledge) class PledgePolicy(OrgPolicy): …`."""

    def decorate(cls: type[Policy]) -> type[Policy]:
        _registry[model] = cls(model)
        return cls

    return decorate


def policy_for(model: type[models.Model]) -> Policy:
    policy = _registry.get(model)
    if policy is None:
        for base in model.__mro__[1:]:  # a proxy model uses its concrete model's policy
            if base in _registry:
                return _registry[base]  # type: ignore[index]
        policy = _registry.setdefault(model, OrgPolicy(model))
    return policy


def registered() -> dict[type[models.Model], Policy]:
    """Every model with a policy declared in an app (the permission-matrix test walks these)."""
    return dict(_registry)


# -- what pages, the API and services call ------------------------------------------------------------------------


def visible(source: type[M] | models.QuerySet, user: Any, action: str = "view") -> models.QuerySet:
    """The rows of `source` (a model or a queryset of it) that `user` may do `action` on."""
    qs = source._default_manager.all() if isinstance(source, type) else source
    return policy_for(qs.model).filter(qs, user, action)


def get_visible(source: type[M] | models.QuerySet, user: Any, action: str = "view", **lookup: Any) -> Any:
    """One row `user` may do `action` on, or NotFound — whether it is missing, out of scope, or the lookup is not
    even a valid key (`pk="abc"`)."""
    try:
        return visible(source, user, action).get(**lookup)
    except (ObjectDoesNotExist, TypeError, ValueError, ValidationError, OverflowError):
        raise NotFound from None


def get_or_404(source: type[M] | models.QuerySet, **lookup: Any) -> Any:
    """One row of `source` (already narrowed by its caller — a public queryset, a scope), or NotFound."""
    qs = source._default_manager.all() if isinstance(source, type) else source
    try:
        return qs.get(**lookup)
    except (ObjectDoesNotExist, TypeError, ValueError, ValidationError, OverflowError):
        raise NotFound from None


def allows(user: Any, action: str, obj: models.Model) -> bool:
    return policy_for(type(obj)).allows(user, action, obj)


def require(user: Any, action: str, obj: models.Model, *, reason: str | None = None) -> None:
    """Services call this before they change anything. Without `reason`, refusal is NotFound (the caller must not
    learn that the object exists); with one, and when the user may at least see the object, it is NotAllowed."""
    policy = policy_for(type(obj))
    if policy.allows(user, action, obj):
        return
    if reason is not None and action != "view" and policy.allows(user, "view", obj):
        raise NotAllowed(reason)
    raise NotFound


def require_any(user: Any, action: str, model: type[models.Model]) -> None:
    """Pages that list a model: NotFound for a user who may do `action` on no row of it at all."""
    if not policy_for(model).any(user, action):
        raise NotFound


def ensure(condition: bool) -> None:
    """NotFound unless `condition`: for the rare page whose rule is not a model's (a feature switched off)."""
    if not condition:
        raise NotFound
