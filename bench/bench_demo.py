"""`xianfeng demo` on a fresh SQLite file: the full county, timed end to end (migrations not timed). Goal ≤ 60 s."""

import subprocess
import sys
import time

from bench.common import BENCH_DIR, DEMO_DB, ROOT, fresh_sqlite, verdict

GOAL_S = 60.0


def main() -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    url = fresh_sqlite(DEMO_DB)
    env = {**__import__("os").environ, "DATABASE_URL": url}
    cli = [sys.executable, "-m", "xianfeng.cli"]
    subprocess.run([*cli, "migrate", "-v0"], check=True, env=env, cwd=ROOT)
    started = time.perf_counter()
    out = subprocess.run([*cli, "demo"], check=True, env=env, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("built the demo county")), "")
    print(f"demo county (SQLite): {elapsed:.1f} s, goal ≤ {GOAL_S:.0f} s, ratio to goal {elapsed / GOAL_S:.2f} "
          f"— {verdict(elapsed, GOAL_S)}")
    print(f"  {line}")


if __name__ == "__main__":
    main()
