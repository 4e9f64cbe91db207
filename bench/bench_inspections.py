"""Supervision benchmarks.

Measured:
- the stratified draw over a 200,000-unit directory (the report's quotas, 4 inspectors with conflicts): goal ≤ 1 s;
- the funnel (exact binomial 95 % and 99.8 % limits) for 100,000 organisations: goal ≤ 2 s;
- the report of an inspection with 200 questionnaires, a published draw and a funnel plot: .docx goal ≤ 2 s,
  PDF goal ≤ 5 s (WeasyPrint, CJK font embedded).
Not measured: building the test inspection (a fresh SQLite file, migrated here).

Run: python -m bench.bench_inspections
"""

from __future__ import annotations

import random
import time

from bench.common import BENCH_DIR, fresh_sqlite, setup_django, verdict


def bench_draw() -> None:
    from xianfeng.inspections.draw import run_draw

    rng = random.Random(7)
    strata = ["village_community"] * 60 + ["enterprise"] * 25 + ["social"] * 8 + ["hospital"] * 3 + ["school"] * 4
    frame = sorted([f"U{i:07d}", rng.choice(strata)] for i in range(200_000))
    inspectors = [[str(i), [frame[rng.randrange(len(frame))][0] for _ in range(500)]] for i in range(4)]
    quotas = {"village_community": 15, "enterprise": 2, "social": 2, "hospital": 1, "school": 1}
    started = time.perf_counter()
    result = run_draw(frame=frame, quotas=quotas, seed="2026-09-12 4 7 1", inspectors=inspectors)
    took = time.perf_counter() - started
    print(f"draw over {len(frame):,} units: {took:.2f} s, {sum(map(len, result.selected.values()))} drawn "
          f"{verdict(took, 1.0)}")


def bench_funnel() -> None:
    import numpy as np

    from xianfeng.inspections.stats import funnel

    rng = np.random.default_rng(7)
    ns = rng.integers(1, 400, 100_000)
    xs = rng.binomial(ns, 0.96)
    rates = {i: (int(x), int(n)) for i, (x, n) in enumerate(zip(xs, ns, strict=True))}
    started = time.perf_counter()
    f = funnel(rates)
    took = time.perf_counter() - started
    print(f"funnel for {len(rates):,} organisations: {took:.2f} s, {len(f.below('998'))} below 99.8 % "
          f"{verdict(took, 2.0)}")


def bench_report() -> None:
    setup_django(fresh_sqlite(BENCH_DIR / "inspections.sqlite3"))
    import datetime as dt

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from xianfeng.core import rates as core_rates
    from xianfeng.core.testing import build_county
    from xianfeng.inspections import report, services
    from xianfeng.inspections.tests.conftest import add_units, answers, survey_bytes

    world = build_county()
    units = add_units(world)
    inspection = services.inspection_create(org=world.county, name="海盐县创先争优活动现场点评", group_name="现场点评第七组",
                                            start=dt.date(2026, 9, 13), end=dt.date(2026, 9, 16), leader=world.inspector,
                                            questionnaires_issued=200, reported_by="海盐县委", actor=world.inspector)
    frozen = services.draw_freeze(inspection=inspection, today=dt.date(2026, 9, 12), actor=world.inspector)
    services.draw_publish(draw=frozen, seed="s", actor=world.inspector)
    q = services.questionnaire_import(inspection=inspection, data=survey_bytes(), filename="s.xlsx", actor=world.inspector)
    services.responses_bulk_create(questionnaire=q, actor=world.inspector, rows=[
        {"answers": answers(aware=i > 0, satisfied="1" if i > 1 else "3"), "respondent_type": "resident",
         "method": "street", "client_key": str(i)} for i in range(200)])
    codes = {v.code: (9 + i % 2, 10) for i, v in enumerate(units["village"])}
    core_rates._RATES["bench.rate"] = core_rates.OrgRate(
        key="bench.rate", label="践诺率", numerator="x", denominator="n",
        provider=lambda orgs, start=None, end=None: {o.pk: codes[o.code] for o in orgs if o.code in codes})
    for fmt, goal in (("docx", 2.0), ("pdf", 5.0)):
        started = time.perf_counter()
        content, _ = report.render(report.build(inspection), fmt)
        took = time.perf_counter() - started
        print(f"report .{fmt}: {took:.2f} s, {len(content):,} bytes {verdict(took, goal)}")


def main() -> None:
    bench_draw()
    bench_funnel()
    bench_report()


if __name__ == "__main__":
    main()
