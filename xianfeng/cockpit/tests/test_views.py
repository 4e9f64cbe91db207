"""The cockpit pages, exports and API through HTTP: drill-down within the viewer's scope, 404 outside it."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from openpyxl import load_workbook

from xianfeng.cockpit import export, metrics
from xianfeng.cockpit.figures import cockpit_for
from xianfeng.cockpit.models import Rollup
from xianfeng.core.models import AuditEvent
from xianfeng.core.scoping import encode_segment
from xianfeng.orgs.models import Organisation, OrgKind
from xianfeng.orgs.services import org_create


def _urls(org) -> list[str]:
    return [reverse("cockpit:org", args=[org.pk]), reverse("cockpit:rates", args=[org.pk]),
            reverse("cockpit:export_xlsx", args=[org.pk]), reverse("cockpit:export_pdf", args=[org.pk]),
            f"/api/v1/cockpit/{org.pk}/"]


def test_county_admin_sees_every_module_figure_with_links_and_the_children(world, records, client_for):
    metrics.rebuild()
    response = client_for("county_admin").get(reverse("cockpit:org", args=[world.county.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for key in ("members", "members_pledged", "pledges_fulfilled", "pledges_formulaic", "demands", "points_issued",
                "lessons", "teams", "households_visited", "cases_on_time", "calls_ack60", "fund_balance", "aid_fen",
                "inspections", "rectifications_open", "award_rounds_published"):
        assert f'data-testid="fig-{key}"' in html, key
    assert f'href="/orgs/members/?org={world.county.pk}&amp;current=1"' in html
    assert f'href="/pledges/list/?org={world.county.pk}&amp;status=fulfilled"' in html
    assert f'href="/grids/cases/?within={world.county.pk}&amp;figure=on_time&amp;part=x"' in html
    assert 'data-testid="den-pledges_fulfilled">50.0%' in html  # 1 fulfilled of 2 published
    assert reverse("cockpit:org", args=[world.wuyuan.pk]) in html
    assert "echarts" in html


def test_the_home_page_opens_the_viewers_topmost_organisation(world, client_for):
    response = client_for("wuyuan_admin").get(reverse("cockpit:home"))
    assert response.status_code == 302 and response["Location"] == reverse("cockpit:org", args=[world.wuyuan.pk])
    assert client_for("member").get(reverse("cockpit:home")).status_code == 404  # a member's role reads no figures


def test_drill_down_within_scope_and_404_outside(world, records, client_for):
    metrics.rebuild()
    wuyuan = client_for("wuyuan_admin")
    for org in (world.wuyuan, world.hebin, world.hebin_branch):
        assert wuyuan.get(reverse("cockpit:org", args=[org.pk])).status_code == 200
    qinshan = client_for("qinshan_secretary")
    for org in (world.county, world.wuyuan, world.hebin, world.qinshan):
        for url in _urls(org):
            assert qinshan.get(url).status_code == 404, url
    for url in _urls(Organisation(pk=999999, path="ZZZZ")):
        assert client_for("county_admin").get(url).status_code == 404, url
    assert client_for("county_admin").get("/api/v1/cockpit/abc/").status_code == 404
    for huge in ("/cockpit/99999999999999999999999/", "/api/v1/cockpit/99999999999999999999999/"):
        assert client_for("county_admin").get(huge).status_code == 404
    assert client_for("county_admin").get("/cockpit/abc/").status_code == 404


def test_anonymous_users_are_sent_to_sign_in_and_the_api_refuses_them(world, client):
    assert client.get(reverse("cockpit:org", args=[world.county.pk])).status_code == 302
    assert client.get(f"/api/v1/cockpit/{world.county.pk}/").status_code in (401, 403)


def test_the_breadcrumb_shows_only_ancestors_in_scope(world, client_for):
    html = client_for("wuyuan_admin").get(reverse("cockpit:org", args=[world.hebin.pk])).content.decode()
    assert reverse("cockpit:org", args=[world.wuyuan.pk]) in html
    assert reverse("cockpit:org", args=[world.county.pk]) not in html


def test_the_api_gives_the_same_figures_as_the_page(world, records, client_for):
    metrics.rebuild()
    data = client_for("county_admin").get(f"/api/v1/cockpit/{world.wuyuan.pk}/").json()
    figures = {f["key"]: f for s in data["sections"] for f in s["figures"]}
    c = cockpit_for(world.wuyuan)
    assert figures["pledges.fulfilled"]["value"] == c.figure("pledges.fulfilled").value == 1
    assert figures["pledges.fulfilled"]["denominator"] == 2
    assert figures["orgs.members"]["url"] == f"/orgs/members/?org={world.wuyuan.pk}&current=1"
    assert [child["name"] for child in data["children"]] == ["河滨社区"]
    assert len(data["trends"]["months"]) >= 12


def test_the_rates_panel_shows_every_registered_rate_and_a_funnel(world, records, client_for):
    response = client_for("county_admin").get(reverse("cockpit:rates", args=[world.county.pk]),
                                              {"rate": "pledges.fulfilled"})
    html = response.content.decode()
    assert response.status_code == 200
    for key in ("pledges.fulfilled", "grids.on_time", "grids.visit_coverage", "care.ack_60s"):
        assert f'data-testid="rate-{key}"' in html
    assert "cockpit-funnel-data" in html
    unknown = client_for("county_admin").get(reverse("cockpit:rates", args=[world.county.pk]), {"rate": "no.such"})
    assert unknown.status_code == 200


def test_the_xlsx_export_is_streamed_audited_and_matches_the_page(world, records, client_for):
    metrics.rebuild()
    response = client_for("county_admin").get(reverse("cockpit:export_xlsx", args=[world.county.pk]))
    assert response.status_code == 200 and isinstance(response, StreamingHttpResponse)
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    figures = {row[0]: row for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    assert figures["pledges.fulfilled"][3:5] == (1, 2)
    assert figures["orgs.members"][3] == 3
    every_org = list(book.worksheets[3].iter_rows(min_row=2, values_only=True))
    assert len(every_org) == Organisation.objects.count()
    assert AuditEvent.objects.filter(action="export", summary__startswith="cockpit xlsx").count() == 1


def test_the_pdf_export_is_a_pdf(world, records, client_for):
    metrics.rebuild()
    response = client_for("county_admin").get(reverse("cockpit:export_pdf", args=[world.wuyuan.pk]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_a_field_role_without_export_right_cannot_export(world, client_for):
    inspector = client_for("inspector")
    assert inspector.get(reverse("cockpit:org", args=[world.county.pk])).status_code == 200
    assert inspector.get(reverse("cockpit:export_xlsx", args=[world.county.pk])).status_code == 404


@pytest.mark.django_db
def test_a_big_export_is_written_row_by_row_not_held_in_memory(world):
    """5,000 organisations with rollups: the per-organisation rows come from a generator over server-side cursors
    and the workbook is spooled to a temporary file, so memory stays far below the size of the data."""
    town = org_create(name="大镇", code="BIG", kind=OrgKind.TOWN, parent=world.county)
    parent_path = town.path

    Organisation.objects.bulk_create([
        Organisation(code=f"BIG{i:05d}", name=f"村{i}", kind=OrgKind.VILLAGE, parent=town,
                     path=parent_path + encode_segment(i), depth=town.depth + 1, full_name=f"大镇村{i}")
        for i in range(5000)])
    ids = list(Organisation.objects.filter(parent=town).values_list("pk", flat=True))
    Rollup.objects.bulk_create([Rollup(org_id=pk, day=dt.date(2026, 1, 1) + dt.timedelta(days=d), metric=m, value=1)
                                for pk in ids for d in range(2) for m in ("members", "visits")])
    rows = export.own_rows(town)
    assert iter(rows) is rows  # a generator: nothing is read before the writer asks for it
    tracemalloc.start()
    response = export_response(world, town)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert isinstance(response, StreamingHttpResponse)
    size = int(response["Content-Length"])
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    assert sum(1 for _ in book.worksheets[3].iter_rows(min_row=2)) == 5001
    assert size > 100_000
    assert peak < 40 * 1024 * 1024, peak


def export_response(world, org):
    from django.test import RequestFactory

    from xianfeng.cockpit.views import export_xlsx

    request = RequestFactory().get("/")
    request.user = world.county_admin
    return export_xlsx(request, org.pk)


def test_a_failing_module_rate_shows_as_unavailable_not_as_an_error(world, client_for, monkeypatch):
    from xianfeng.core import rates

    def broken(orgs, *, start=None, end=None):
        raise RuntimeError("module fault")

    monkeypatch.setitem(rates._RATES, "zz.broken", rates.OrgRate("zz.broken", "坏比率", "x", "n", broken))
    client = client_for("county_admin")
    response = client.get(reverse("cockpit:rates", args=[world.county.pk]), {"rate": "zz.broken"})
    assert response.status_code == 200
    assert "不可用" in response.content.decode()
