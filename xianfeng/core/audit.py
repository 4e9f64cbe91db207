"""The audit trail: who did what, when, with the values before and after."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from django.db import models

from .models import AuditEvent


def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """A JSON-safe dict of a model's concrete field values (foreign keys by id)."""
    data: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        value = getattr(obj, field.attname)
        if isinstance(value, (dt.date, dt.datetime, decimal.Decimal)):
            value = str(value)
        data[field.attname] = value
    return data


def audit_record(
    *,
    by: Any,
    action: str,
    obj: models.Model | None = None,
    model: str = "",
    object_id: Any = "",
    summary: str = "",
    before: dict | None = None,
    after: dict | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Append one audit row. `by` may be None (the system) or an anonymous user."""
    if obj is not None:
        model = model or obj._meta.label
        object_id = object_id or obj.pk
    actor = by if getattr(by, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=actor,
        action=action,
        model=model,
        object_id=str(object_id or ""),
        summary=summary[:300],
        before=before,
        after=after,
        ip=ip,
    )


def changed(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ, for a compact audit row."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
