"""The cockpit page at county scale on SQLite (goal p95 ≤ 100 ms) and, when PROVINCE_DATABASE_URL names a database
built by `xianfeng demo --scale province` (followed by `xianfeng rollups_rebuild`), at province scale on PostgreSQL
(goal p95 ≤ 300 ms).

County: the demo county is built into its own SQLite file (var/bench/cockpit-demo.sqlite3; delete it to rebuild),
then the county, a town and a community page are requested through the full middleware stack as the county admin.
Province: the root, a city and a county page are rendered by the view as an existing superuser or root county
admin of that database (nothing is written to it). The rates panel (registered rates, computed live by the modules) loads after the page
and is timed apart.

    .venv/bin/python -m bench bench_cockpit
    PROVINCE_DATABASE_URL=postgres://… .venv/bin/python -m bench bench_cockpit
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.common import BENCH_DIR, ROOT, percentile, setup_django, summary, timed, verdict

DB = BENCH_DIR / "cockpit-demo.sqlite3"
COUNTY_GOAL_MS = 100.0
PROVINCE_GOAL_MS = 300.0
REPEAT = 60


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _build_county() -> None:
    if DB.exists():
        return
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{DB}"}
    cli = [sys.executable, "-m", "xianfeng.cli"]
    subprocess.run([*cli, "migrate", "-v0"], check=True, env=env, cwd=ROOT)
    started = time.perf_counter()
    subprocess.run([*cli, "demo"], check=True, env=env, cwd=ROOT, capture_output=True)
    print(f"built the demo county into {DB.name} in {time.perf_counter() - started:.0f} s (not timed below)")


def _report(label: str, times: list[float], goal: float) -> None:
    p95 = percentile(times, 95)
    print(f"{label}: {summary(times)}; goal p95 ≤ {goal:.0f} ms — {verdict(p95, goal)} (ratio {p95 / goal:.2f}); "
          f"{_load()}")


def county() -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    _build_county()
    setup_django(f"sqlite:///{DB}")
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from xianfeng.cockpit import metrics
    from xianfeng.cockpit.models import Rollup
    from xianfeng.orgs.models import Organisation, OrgKind, User

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    metrics.rebuild()
    print(f"rollups_rebuild, county: {Rollup.objects.count():,} rows in {time.perf_counter() - started:.2f} s; "
          f"{_load()}")
    started = time.perf_counter()
    metrics.recompute(Organisation.objects.filter(kind=OrgKind.BRANCH).values_list("pk", flat=True)[:50])
    print(f"incremental refresh of 50 dirty branches: {(time.perf_counter() - started) * 1000:.0f} ms")

    client = Client()
    client.force_login(User.objects.get(username="county_admin"))
    county_org = Organisation.objects.filter(parent__isnull=True).order_by("path").first()
    town = Organisation.objects.filter(parent=county_org, kind=OrgKind.TOWN).order_by("path").first()
    village = Organisation.objects.filter(parent=town, kind__in=[OrgKind.COMMUNITY, OrgKind.VILLAGE]).first()
    for org in (county_org, town, village):
        url = f"/cockpit/{org.pk}/"
        assert client.get(url).status_code == 200
        queries = [0]

        def count(execute, sql, params, many, context, queries=queries):
            queries[0] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            client.get(url)
        times = timed(lambda url=url: client.get(url), REPEAT)
        _report(f"cockpit page, {org.name} ({queries[0]} queries), SQLite", times, COUNTY_GOAL_MS)
    rates = f"/cockpit/{county_org.pk}/rates/"
    client.get(rates)
    times = timed(lambda: client.get(rates), 10)
    print(f"rates panel (live registered rates + funnel), {county_org.name}: {summary(times)} (no goal; loaded "
          f"after the page)")
    api = f"/api/v1/cockpit/{county_org.pk}/"
    times = timed(lambda: client.get(api), 30)
    print(f"API figures, {county_org.name}: {summary(times)}")
    started = time.perf_counter()
    response = client.get(f"/cockpit/{county_org.pk}/cockpit.xlsx")
    size = sum(len(chunk) for chunk in response.streaming_content)
    response.close()
    print(f"xlsx export, {county_org.name}: {(time.perf_counter() - started) * 1000:.0f} ms, {size:,} bytes")


def province(url: str) -> None:
    setup_django(url)
    from django.db import connection
    from django.test import RequestFactory

    from xianfeng.cockpit.figures import cockpit_for
    from xianfeng.cockpit.models import Rollup
    from xianfeng.cockpit.views import org_page
    from xianfeng.orgs.models import Organisation, User

    if not Rollup.objects.exists():
        print("province database has no rollups: run `xianfeng rollups_rebuild` on it first")
        return
    root = Organisation.objects.filter(parent__isnull=True).order_by("path").first()
    city = Organisation.objects.filter(parent=root).order_by("path").first()
    county_org = Organisation.objects.filter(parent=city).order_by("path").first() if city else None
    viewer = (User.objects.filter(is_superuser=True, is_active=True).first()
              or User.objects.filter(roles__kind="county_admin", roles__org=root, is_active=True).first())
    factory = RequestFactory()
    vendor = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}.get(connection.vendor, connection.vendor)
    scale = f"{Organisation.objects.count():,} organisations, {Rollup.objects.count():,} rollup rows"

    def render(org):
        request = factory.get(f"/cockpit/{org.pk}/")
        request.user = viewer
        request.session = {}
        response = org_page(request, org.pk)
        assert response.status_code == 200
        return response

    def figures(org):
        return cockpit_for(org)

    for org in (o for o in (root, city, county_org) if o is not None):
        if viewer is not None:
            render(org)
            times = timed(lambda org=org: render(org), 30)
            _report(f"cockpit page, {org.name} ({scale}, as {viewer.username}), {vendor}", times,
                    PROVINCE_GOAL_MS)
        else:  # no login that sees the root: time the page's figures without the template
            figures(org)
            times = timed(lambda org=org: figures(org), 30)
            _report(f"cockpit figures (no viewer in this database: page template not rendered), {org.name} ({scale}), "
                    f"{vendor}", times, PROVINCE_GOAL_MS)


def main() -> None:
    if "--province" in sys.argv:
        province(os.environ["PROVINCE_DATABASE_URL"])
        return
    url = os.environ.get("PROVINCE_DATABASE_URL")
    if url:  # Django is set up once per process: the province runs in its own
        subprocess.run([sys.executable, "-m", "bench.bench_cockpit", "--province"], check=False, cwd=ROOT)
    else:
        print("province: PROVINCE_DATABASE_URL is not set; skipped")
    county()


if __name__ == "__main__":
    main()
