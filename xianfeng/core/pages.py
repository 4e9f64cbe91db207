"""Public pages served to visitors who are not signed in: one rendering serves them all."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class PageCache:
    """Rendered public pages kept in this process (a small LRU with a lifetime). Keys carry the board's version from
    the database, so no process ever serves a page older than the last pledge write; a process-local store avoids
    pickling 25 KB per request (and a network round trip where the shared cache is Redis)."""

    def __init__(self, size: int = 512):
        self.size = size
        self.pages: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self.lock:
            hit = self.pages.get(key)
            if hit is None:
                return None
            if hit[0] < time.monotonic():
                del self.pages[key]
                return None
            self.pages.move_to_end(key)
            return hit[1]

    def set(self, key: str, page: bytes, ttl: float) -> None:
        with self.lock:
            self.pages[key] = (time.monotonic() + ttl, page)
            self.pages.move_to_end(key)
            while len(self.pages) > self.size:
                self.pages.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.pages.clear()


def signed_in(request) -> bool:
    """Whether the visitor is signed in, without loading a session when there is no session cookie."""
    from django.conf import settings

    return settings.SESSION_COOKIE_NAME in request.COOKIES and request.user.is_authenticated
