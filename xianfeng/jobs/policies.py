"""Who may see and retry background jobs (xianfeng.core.policy): system administrators only (a superuser, or a
county administrator of a root of the tree — `core.scoping.is_system_admin`). Everyone else sees no job at all (404)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from xianfeng.core.policy import NOTHING, Policy, register
from xianfeng.core.scoping import is_system_admin

from .models import Job


@register(Job)
class JobPolicy(Policy):
    detail_page = "jobs:detail"
    detail_api = "/api/v1/jobs/{pk}/"

    def scope(self, user: Any, action: str) -> Q | None:
        return None if is_system_admin(user) else NOTHING

    def allows(self, user: Any, action: str, obj: Any) -> bool:
        return is_system_admin(user)
