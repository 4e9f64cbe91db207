"""Jobs used only by the tests (imported by them, and by worker subprocesses with --import)."""

import os
import time
from pathlib import Path

from xianfeng.jobs.registry import job

CALLS: list[tuple[str, dict]] = []


@job("tests.record")
def record(**kwargs) -> None:
    CALLS.append(("record", kwargs))


@job("tests.boom", max_attempts=3, backoff=10)
def boom(**kwargs) -> None:
    CALLS.append(("boom", kwargs))
    raise RuntimeError("boom: this job always fails")


@job("tests.exit")
def exits() -> None:
    raise SystemExit(3)


@job("tests.append_line")
def append_line(path: str, token: str, pause: float = 0.0) -> None:
    """Append '<token> <pid>' to a file: each line is one run, so a token seen twice means the job ran twice."""
    if pause:
        time.sleep(pause)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{token} {os.getpid()}\n")


@job("tests.slow_once")
def slow_once(marker: str, path: str, seconds: float = 60.0) -> None:
    """The first run leaves a marker and hangs (to be killed); a later run sees the marker and finishes at once."""
    marker_path = Path(marker)
    if not marker_path.exists():
        marker_path.write_text(str(os.getpid()))
        time.sleep(seconds)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"done {os.getpid()}\n")


@job("tests.stop_self")
def stop_self() -> None:
    """Sends this process SIGTERM while the job runs (the worker must finish the job, then stop)."""
    import signal

    CALLS.append(("stop_self", {}))
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.05)


@job("tests.quick", stale_after=5)
def quick() -> None:
    """A short, urgent job: handed back 5 s after its worker stops beating."""
    CALLS.append(("quick", {}))


@job("tests.long", stale_after=3600)
def long() -> None:
    """A long job: its worker may go quiet for an hour before the sweeper takes it back."""
    CALLS.append(("long", {}))
