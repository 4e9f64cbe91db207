from django import template

register = template.Library()


@register.filter
def percent(pair) -> str:
    """(x, n) as a percentage with one decimal; '—' when n is 0."""
    x, n = pair
    return f"{100 * x / n:.1f}%" if n else "—"
