"""Policies of core's own models: neither belongs to an organisation of the tree, so neither takes the default."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from .models import AuditEvent, LoginFailure
from .policy import NOTHING, Policy, register
from .scoping import is_system_admin


@register(AuditEvent)
class AuditEventPolicy(Policy):
    """The audit trail: superusers only (the read-only admin); nobody writes it but `audit_record`."""


@register(LoginFailure)
class LoginFailurePolicy(Policy):
    """Failed sign-ins: system administrators (the sign-in locks page, where they lift a lock)."""

    def scope(self, user: Any, action: str) -> Q | None:
        return None if is_system_admin(user) else NOTHING
