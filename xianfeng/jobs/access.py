"""Who counts as a system administrator for system-wide pages (the job queue, the SMS outbox)."""

from typing import Any


def is_system_admin(user: Any) -> bool:
    """A superuser, or a county administrator of a root of the organisation tree."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if user.is_superuser:
        return True
    cache = user.__dict__.setdefault("_scope_cache", {})
    if "system_admin" not in cache:
        cache["system_admin"] = user.roles.filter(kind="county_admin", org__depth=1).exists()
    return cache["system_admin"]
