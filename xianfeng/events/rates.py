"""Per-organisation rates this module publishes (read by the inspections funnel plot and the cockpit)."""

from __future__ import annotations

from xianfeng.core.rates import org_rate

from .figures import lesson_attendance


@org_rate("events.lesson_attendance", label="党课参学率", numerator="党员参学人次", denominator="应参学人次")
def events_lesson_attendance(orgs, *, start=None, end=None) -> dict[int, tuple[int, int]]:
    """Attendances / expected attendances of the subtree's members at party lessons held for them (figures.py)."""
    return lesson_attendance(orgs, start=start, end=end)
