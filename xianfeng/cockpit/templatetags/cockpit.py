from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def share(cell) -> str:
    """(value, denominator) → "97.5%" ("—" without a denominator)."""
    value, denominator = cell
    if not denominator:
        return "—"
    return f"{value / denominator * 100:.1f}%"


@register.filter
def percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@register.filter
def thousands(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}"


@register.simple_tag
def children_rows(rows) -> str:
    """The children table's body, built in one pass of string joins (a county has over a hundred children;
    per-cell template rendering would dominate the page's time). Only names are text; numbers need no escaping."""
    base = reverse("cockpit:org", args=[0])[:-2]  # "/cockpit/"
    out = []
    for r in rows:
        tds = []
        for v, d in r.cells:
            if d is None:
                tds.append(f'<td class="text-end">{v:,}</td>')
            else:
                tds.append(f'<td class="text-end">{v:,} <span class="small text-muted">/ {d:,} · {share((v, d))}'
                           f"</span></td>")
        out.append(f'<tr><td><a href="{base}{r.org.pk}/" data-testid="child-{r.org.pk}">{escape(r.org.name)}</a> '
                   f'<span class="small text-muted">{escape(r.org.get_kind_display())}</span></td>'
                   f'<td class="text-end xf-hide-phone">{r.orgs:,}</td>{"".join(tds)}</tr>')
    return mark_safe("\n".join(out))  # noqa: S308 — every text value above is escaped
