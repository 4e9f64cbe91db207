"""Dirty marks: every saved or deleted row of a rolled-up table marks its organisation(s) in the same transaction.

Services change state with `save()` and, for conditional UPDATEs that send no signal, append a history row that is
saved: the app that owns the figure says so in its indicators.py (`watch()`), and those rows are watched too. Bulk loads send no
signals; they end with `xianfeng rollups_rebuild`, and the nightly rebuild repairs anything missed.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db.models.signals import post_delete, post_save

# model label → attribute paths to the organisation ids whose own rollups a row counts in: from the apps' indicators
# (xianfeng.core.indicators.watched(): every rolled-up measure's table, and the history rows the apps watch)
WATCHED: dict[str, tuple[str, ...]] = {}


def _resolve(instance: Any, path: str) -> Any:
    value = instance
    for part in path.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def org_ids_of(instance: Any) -> set[int]:
    paths = WATCHED.get(instance._meta.label, ())
    return {int(v) for v in (_resolve(instance, p) for p in paths) if v is not None}


def mark(org_ids: set[int]) -> None:
    from .models import DirtyOrg

    if org_ids:
        DirtyOrg.objects.bulk_create([DirtyOrg(org_id=pk) for pk in sorted(org_ids)])


def _on_change(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if raw:  # fixture loading
        return
    mark(org_ids_of(instance))


def _on_audit(sender: Any, instance: Any, created: bool = False, raw: bool = False, **kwargs: Any) -> None:
    """org_move re-parents a subtree with UPDATEs (no model signal) and audits it: the subtree totals must be
    rebuilt (the per-organisation rows do not change)."""
    from .metrics import TREE_CHANGED

    if created and not raw and instance.action == "move" and instance.model == "orgs.Organisation":
        mark({TREE_CHANGED})


def connect() -> None:
    from xianfeng.core.indicators import watched
    from xianfeng.core.models import AuditEvent

    post_save.connect(_on_audit, sender=AuditEvent, dispatch_uid="cockpit-tree-moved")
    WATCHED.clear()
    WATCHED.update(watched())
    for label in WATCHED:
        model = apps.get_model(label)
        post_save.connect(_on_change, sender=model, dispatch_uid=f"cockpit-dirty-save-{label}")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"cockpit-dirty-delete-{label}")
