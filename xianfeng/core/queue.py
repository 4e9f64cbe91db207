"""我的待办: what is waiting for this user, each count the exact count of the list it links to.

The apps own their entries: each declares them in its `queue.py` with `@entry(key, label, order)`; a function takes
the user and returns `(count, url)`, or None when the entry does not apply to them. The count must use the list
page's own filter, so the number on the home page is the number of rows the link shows
(`grids/tests/test_home_queue.py`). Entries with nothing waiting are kept for staff (a zero is news too) only when the
function returns a count; members see only what is non-zero (the entry returns None otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Count = Callable[[Any], "tuple[int, str] | None"]


@dataclass(frozen=True)
class Entry:
    key: str
    label: Any
    order: int
    count: Count


_entries: dict[str, Entry] = {}


def entry(key: str, label: Any, order: int) -> Callable[[Count], Count]:
    """Register a work-queue entry (in an app's queue.py, found when the core app is ready)."""

    def register(fn: Count) -> Count:
        _entries[key] = Entry(key, label, order, fn)
        return fn

    return register


def entries() -> list[Entry]:
    return sorted(_entries.values(), key=lambda e: (e.order, e.key))


def work_queue(user: Any) -> list[dict[str, Any]]:
    """[{key, label, count, url}] for the signed-in user, in the entries' order; empty for someone with nothing to
    do."""
    items = []
    for e in entries():
        found = e.count(user)
        if found is not None:
            count, url = found
            items.append({"key": e.key, "label": e.label, "count": count, "url": url})
    return items
