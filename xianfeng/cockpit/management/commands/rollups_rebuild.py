"""`xianfeng rollups_rebuild`: rebuild every cockpit rollup from the live tables with set-based SQL."""

import time

from django.core.management.base import BaseCommand

from xianfeng.cockpit import metrics


class Command(BaseCommand):
    help = "Rebuild the cockpit's per-organisation, per-day rollups (run after bulk loads such as the demo)."

    def handle(self, *args, **options):
        started = time.perf_counter()
        total = len(metrics.all_metrics()) + 1  # and the subtree totals
        done = [0]

        def progress(key: str) -> None:
            done[0] += 1
            if options["verbosity"] >= 2:
                self.stdout.write(f"[{done[0]}/{total}] {key}")

        rows = metrics.rebuild(progress=progress)
        self.stdout.write(f"rebuilt {total - 1} metrics into {rows:,} rollup rows in {time.perf_counter() - started:.1f} s")
