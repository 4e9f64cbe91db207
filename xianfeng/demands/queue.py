"""Demands in the home page's work queue: demands waiting to be claimed (staff), claims not yet served (members)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from xianfeng.core.policy import policy_for
from xianfeng.core.queue import entry
from xianfeng.orgs.models import Organisation
from xianfeng.orgs.selectors import scope_roots

from .models import Claim
from .selectors import demand_list_queryset


@entry("demands_open", _("Demands waiting to be claimed"), 20)
def open_demands(user: Any) -> tuple[int, str] | None:
    """In the user's first organisation (the one demands:list opens with)."""
    if not policy_for(Organisation).any(user, "view"):
        return None
    org = scope_roots(user, "view").order_by("path").first()
    if org is None:
        return None
    n = demand_list_queryset(user, org, open_only=True).order_by().count()
    return n, reverse("demands:list") + f"?org={org.pk}&status=open"


@entry("claims", _("Demands claimed, not yet served"), 100)
def claims(user: Any) -> tuple[int, str] | None:
    if not getattr(user, "person_id", None):
        return None
    n = Claim.objects.filter(member__person_id=user.person_id, status__in=Claim.ACTIVE).count()
    return (n, reverse("demands:mine")) if n else None
