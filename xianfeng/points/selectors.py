"""Reads the points pages and the API share."""

from __future__ import annotations

from typing import Any

from django.db import models

from xianfeng.core.policy import visible
from xianfeng.orgs.models import PARTY_KINDS, Organisation


def shops(user: Any) -> models.QuerySet:
    """Units (not party organisations) where the user may run the shop: those in the user's change scope."""
    return visible(Organisation, user, "change").exclude(kind__in=PARTY_KINDS)
