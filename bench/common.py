"""Shared plumbing for benchmarks: a Django set up on a chosen database, timing and percentiles.

Benchmarks are not tests: each prints its figures and the ratio to its baseline, as plain lines.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
DEMO_DB = BENCH_DIR / "demo.sqlite3"


def setup_django(database_url: str | None = None) -> None:
    """Point Django at `database_url` (default: the benchmark's demo SQLite file) and set it up."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{DEMO_DB}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xianfeng.settings")
    import django

    django.setup()


def fresh_sqlite(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall times in milliseconds of `repeat` calls."""
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def wall_and_cpu(fn: Callable[[], object], repeat: int) -> tuple[list[float], list[float]]:
    """Run fn `repeat` times; per call, the wall time and this process's CPU time in ms (the CPU figure is what the
    call costs whatever else shares the machine)."""
    wall, cpu = [], []
    for _ in range(repeat):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - cpu0) * 1000)
        wall.append((time.perf_counter() - wall0) * 1000)
    return wall, cpu


def summary(times_ms: list[float]) -> str:
    return (f"p50 {percentile(times_ms, 50):.1f} ms, p95 {percentile(times_ms, 95):.1f} ms, "
            f"mean {statistics.fmean(times_ms):.1f} ms, n={len(times_ms)}")


def verdict(value: float, goal: float, lower_is_better: bool = True) -> str:
    ok = value <= goal if lower_is_better else value >= goal
    return "meets goal" if ok else "MISSES goal"


def ensure_demo_db() -> None:
    """Build the demo county into the benchmark's SQLite file if it is not there yet (not timed)."""
    if DEMO_DB.exists():
        return
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("demo", verbosity=0)
