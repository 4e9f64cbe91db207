"""The categories a points rule can give a base to: every module that awards points says which it uses.

A module that awards points below the card (demands, events, posts) registers where its categories come from with
`register(source)`, a function of an organisation returning category names; the rules page offers their union.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

VOLUNTEER = "志愿服务"  # volunteer hours approved at activities (events)
POST_SERVICE = "先锋岗"  # services of a responsibility post (posts)

Source = Callable[[Any], list[str]]
_sources: list[Source] = []


def register(source: Source) -> Source:
    if source not in _sources:
        _sources.append(source)
    return source


def categories_for(org: Any) -> list[str]:
    """Every category in use for `org`, in the registering modules' order, each once."""
    names: list[str] = []
    for source in _sources:
        names.extend(name for name in source(org) if name not in names)
    return names
