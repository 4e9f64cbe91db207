"""What every campaigns service shares: the policy check before a write, the clock, the subtree test."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.utils import timezone

from xianfeng.core.policy import require
from xianfeng.orgs.models import PARTY_KINDS, Organisation

logger = logging.getLogger(__name__)


def _require(actor: Any, action: str, obj: Any, *, reason: str | None = None) -> None:
    """The policy's check before a write; `actor` None is the system (the demo, management commands, jobs)."""
    if actor is not None:
        require(actor, action, obj, reason=reason)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else timezone.now()


def _in_subtree(org: Organisation, root: Organisation) -> bool:
    return org.path.startswith(root.path)


def party_kinds() -> list[str]:
    return sorted(PARTY_KINDS)
