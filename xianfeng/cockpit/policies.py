"""The cockpit's rollups are figures of an organisation's subtree: read by whoever may view that organisation (the
default organisation policy), written only by the cockpit's own jobs."""

from __future__ import annotations

from xianfeng.core.policy import OrgPolicy, register

from .models import Rollup, SubtreeMonth


@register(Rollup)
class RollupPolicy(OrgPolicy):
    """A day's figure of one organisation: read with `view` over it."""


@register(SubtreeMonth)
class SubtreeMonthPolicy(OrgPolicy):
    """A month's figure of a subtree: read with `view` over its root."""
