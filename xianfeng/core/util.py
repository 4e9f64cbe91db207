"""Small helpers with no better home."""

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Successive slices of at most `size` items (keeps IN lists under SQLite's variable limit)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
