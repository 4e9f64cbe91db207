"""Template filters for honest figures: 0.995 → 99.5%, interval ends with one decimal."""

from django import template

from ..stats import format_percent

register = template.Library()


@register.filter
def percent(value):
    """0.995 → "99.5%", 0.99 → "99%"."""
    if value is None or value == "":
        return "—"
    return format_percent(float(value))


@register.filter
def percent1(value):
    """An interval end with exactly one decimal: 0.9724 → "97.2%"."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.1f}%"


@register.filter
def method_label(value):
    """An interval method's name as people read it ("wilson" → "Wilson"); a weighted score says so."""
    from ..models import Inspection

    key, weighted = (value or "").removesuffix(" (weighted score)"), (value or "").endswith(" (weighted score)")
    label = dict(Inspection.IntervalMethod.choices).get(key, key)
    return f"{label}（{Inspection.SatisfactionMode.WEIGHTED.label}）" if weighted else label
