"""Pledges in the home page's work queue: pledges to review (staff), own pledges being carried out (members)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from xianfeng.core.policy import policy_for
from xianfeng.core.queue import entry
from xianfeng.orgs.models import Organisation

from .models import Pledge, Status


@entry("pledges_review", _("Pledges to review"), 10)
def to_review(user: Any) -> tuple[int, str] | None:
    if not policy_for(Organisation).any(user, "change"):
        return None
    n = Pledge.objects.restrict(user, "view").filter(status=Status.SUBMITTED).count()
    return n, reverse("pledges:list") + "?status=submitted"


@entry("pledges_progress", _("My pledges awaiting progress"), 110)
def in_progress(user: Any) -> tuple[int, str] | None:
    if not getattr(user, "person_id", None):
        return None
    n = Pledge.objects.owned_by(user).filter(status__in=[Status.PUBLISHED, Status.IN_PROGRESS]).count()
    return (n, reverse("pledges:mine")) if n else None
