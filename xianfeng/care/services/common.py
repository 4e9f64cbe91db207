"""What every part of the care services shares: the error, amounts in yuan, names, constants, role look-ups."""

from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from xianfeng.core.text import clean_text as core_clean_text
from xianfeng.orgs.models import Organisation, Role

from ..models import (
    CareAction,
)

logger = logging.getLogger("xianfeng.care")

STEP_JOB = "care.alert_step"
ACK_SALT = "xianfeng.care.ack"
ALERT_KIND = "care.alert"
VISIT_KINDS = (CareAction.Kind.VISIT, CareAction.Kind.SPRING_BREEZE)
LEVEL_LABELS = {1: "结对志愿者和家属", 2: "网格团队", 3: "社区值班员", 4: "镇（街道）值班员", 5: "县级管理员（兜底）"}
_EVENT_ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,100}$")
_NONCE_RE = re.compile(r"^[A-Za-z0-9_\-]{8,64}$")
_SIG_RE = re.compile(r"^[0-9a-f]{64}$")
EVENT_TYPES = ("press", "test", "heartbeat", "low_battery")




class CareError(ValidationError):
    """A care action refused; nothing was written."""


def clean_text(value: Any, name: str, max_length: int, *, required: bool = True, multiline: bool = False) -> str:
    """core.text.clean_text (the one free-text cleaner), its refusal raised as a CareError like every other refusal
    of the care services."""
    try:
        return core_clean_text(value, name, max_length, required=required, multiline=multiline)
    except ValidationError as exc:
        raise CareError(exc.error_dict) from None


def parse_yuan(value: Any) -> int:
    """An amount typed in yuan ("1,234.50") as fen. Raises CareError for anything but a positive amount with at most
    two decimals."""
    text = str(value or "").strip().replace(",", "").replace("，", "").replace("¥", "").replace("元", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CareError({"amount": ["金额须为数字（元，最多两位小数）"]}) from None
    if not number.is_finite() or number <= 0:
        raise CareError({"amount": ["金额须大于0"]})
    fen = number * 100
    if fen != fen.to_integral_value():
        raise CareError({"amount": ["金额最多两位小数"]})
    if fen >= 10**13:
        raise CareError({"amount": ["金额过大"]})
    return int(fen)


def format_yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, rest = divmod(abs(int(fen)), 100)
    return f"{sign}{yuan:,}.{rest:02d}"


def display_name(user: Any) -> str:
    """A user's name as responders know it: the full name, else the linked person's name, else the username."""
    if user is None:
        return ""
    person = getattr(user, "person", None)
    return user.get_full_name() or (person.name if person is not None else "") or user.get_username()



def _role_holders(org_ids: list[int], kinds: tuple[str, ...]) -> dict[int, list[int]]:
    """{organisation id: [user ids holding one of `kinds` there]} for active users."""
    holders: dict[int, list[int]] = {}
    rows = (Role.objects.filter(org_id__in=org_ids, kind__in=kinds, user__is_active=True)
            .order_by("user_id").values_list("org_id", "user_id"))
    for org_id, user_id in rows:
        holders.setdefault(org_id, []).append(user_id)
    return holders


def _ancestor_ids(org: Organisation) -> list[int]:
    """`org` and its ancestors, nearest first."""
    prefixes = [org.path[:i] for i in range(len(org.path), 0, -4)]
    by_path = dict(Organisation.objects.filter(path__in=prefixes).values_list("path", "pk"))
    return [by_path[p] for p in prefixes if p in by_path]
