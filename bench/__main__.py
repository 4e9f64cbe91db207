"""`make bench`: run every benchmark module in bench/ in its own process, in a sensible order."""

import importlib.util
import subprocess
import sys
from pathlib import Path

ORDER = ["bench_demo", "bench_orgs", "bench_import"]


def main() -> int:
    here = Path(__file__).parent
    names = [p.stem for p in sorted(here.glob("bench_*.py"))]
    ordered = [n for n in ORDER if n in names] + [n for n in names if n not in ORDER]
    only = sys.argv[1:]
    failed = 0
    for name in ordered:
        if only and name not in only:
            continue
        if importlib.util.find_spec(f"bench.{name}") is None:
            continue
        print(f"== {name}", flush=True)
        result = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=here.parent)
        failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
