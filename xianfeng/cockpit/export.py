"""The cockpit page as an .xlsx (streamed from a temporary file) and as a PDF (WeasyPrint)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from xianfeng.core.excel import Sheet
from xianfeng.core.scoping import subtree_q
from xianfeng.orgs.models import Organisation

from .figures import Cockpit, child_columns
from .metrics import all_metrics
from .models import Rollup


def _ratio(value: Any, denominator: int | None) -> Any:
    return round(value / denominator, 4) if denominator else ""


def figure_rows(c: Cockpit) -> Iterator[list[Any]]:
    for section in c.sections:
        for fig in section.figures:
            yield [fig.key, str(section.label), str(fig.label), fig.value, "" if fig.denominator is None else fig.denominator,
                   str(fig.denominator_label), _ratio(fig.value, fig.denominator), str(fig.unit),
                   _("live") if fig.live else _("rollup")]


def child_rows(c: Cockpit) -> Iterator[list[Any]]:
    for row in c.children:
        cells: list[Any] = [row.org.code, row.org.name, row.org.get_kind_display(), row.orgs]
        for value, denominator in row.cells:
            cells += [value, "" if denominator is None else denominator]
        yield cells


def own_rows(org: Organisation) -> Iterator[list[Any]]:
    """Every organisation of the subtree with its own records' figures (one row each), read with a server-side
    cursor in path order and assembled one organisation at a time: memory stays flat at any subtree size."""
    keys = [m.key for m in all_metrics()]
    orgs = (Organisation.objects.filter(subtree_q("path", org.path)).order_by("path")
            .values_list("id", "path", "code", "name", "kind").iterator(chunk_size=2000))
    sums = (Rollup.objects.filter(subtree_q("org__path", org.path)).values("org__path", "metric")
            .annotate(v=Sum("value")).order_by("org__path", "metric").values_list("org__path", "metric", "v")
            .iterator(chunk_size=2000))
    pending = next(sums, None)
    for _pk, path, code, name, kind in orgs:
        values: dict[str, int] = {}
        while pending is not None and pending[0] < path:
            pending = next(sums, None)
        while pending is not None and pending[0] == path:
            values[pending[1]] = int(pending[2])
            pending = next(sums, None)
        yield [code, name, kind, path, *(values.get(k, 0) for k in keys)]


def sheets(c: Cockpit) -> list[Sheet]:
    child_headers = [_("Code"), _("Name"), _("Kind"), _("Organisations")]
    for _key, label, _den in child_columns():
        child_headers += [str(label), _("of")]
    return [
        Sheet(_("Figures"), [_("Key"), _("Module"), _("Figure"), _("Value"), _("Denominator"), _("Denominator is"), _("Rate"),
                             _("Unit"), _("Source")], figure_rows(c)),
        Sheet(_("Children"), child_headers, child_rows(c), text_columns=[_("Code")]),
        Sheet(_("Trends"), [_("Month"), *c.trends["series"].keys()],
              ([month, *(c.trends["series"][k][i] for k in c.trends["series"])]
               for i, month in enumerate(c.trends["months"]))),
        Sheet(_("Every organisation (own records)"), [_("Code"), _("Name"), _("Kind"), _("Path"),
                                                      *(m.key for m in all_metrics())],
              own_rows(c.org), text_columns=[_("Code"), _("Path")]),
    ]


def pdf(c: Cockpit) -> bytes:
    from weasyprint import HTML

    html = render_to_string("cockpit/pdf.html", {"c": c, "columns": child_columns()})
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
