"""The demo county for the crawl: built once, cached on disk, and swapped in as the database for tests/crawl.

Building the county takes a minute or two, so the built database is kept between sessions under a key made of the
migration files, the demo's own modules and the seed:
- SQLite: a file in the cache folder (`XIANFENG_CRAWL_CACHE`, default ~/.cache/xianfeng); each session copies it and
  points the default connection at the copy, so the cached file is never written.
- PostgreSQL: a database `xfcrawl_<key>` on the same server; each session clones it (`CREATE DATABASE … TEMPLATE`),
  points the default connection at the clone and drops the clone afterwards.
`XIANFENG_CRAWL_REBUILD=1` builds it again even if the key matches (e.g. after changing a service the demo calls).
While a module of tests/crawl runs, the suite's own (empty) test database is left untouched; it comes back afterwards.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path

import django
import pytest
from django.core.management import call_command
from django.db import connections

DEMO_SEED = 2010
ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = Path(os.environ.get("XIANFENG_CRAWL_CACHE") or Path.home() / ".cache" / "xianfeng")

# Filled by the crawl, printed at the end of the session (see pytest_terminal_summary).
REPORT: list[str] = []


def cache_key() -> str:
    """The migration state, the demo's code and the seed: a county built from the same three is the same county."""
    digest = hashlib.sha256(f"django {django.get_version()} seed {DEMO_SEED}\n".encode())
    sources = sorted(ROOT.glob("xianfeng/*/migrations/*.py")) + sorted(ROOT.glob("xianfeng/*/demo.py"))
    for path in sources:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def database_named(name: str):
    """Point the default connection at another database, then back. The old connection is kept open meanwhile:
    an in-memory SQLite test database would vanish if it were closed."""
    conn = connections["default"]
    saved_name, saved_connection = conn.settings_dict["NAME"], conn.connection
    conn.connection = None
    conn.settings_dict["NAME"] = name
    try:
        yield conn
    finally:
        conn.close()
        conn.settings_dict["NAME"] = saved_name
        conn.connection = saved_connection


def _build(log) -> None:
    """Migrate the (empty) database the default connection points at and build the demo county in it."""
    from django.db import transaction

    from xianfeng.core.demo import run_demo

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    with transaction.atomic():
        run_demo(seed=DEMO_SEED, log=lambda s: None)
    log(f"built the demo county (seed {DEMO_SEED}) in {time.perf_counter() - started:.0f} s")


def _sqlite_county(log) -> Path:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    key = cache_key()
    target = CACHE_DIR / f"demo-{key}.sqlite3"
    with open(CACHE_DIR / "demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session building the same county: wait for it, then reuse it
        if target.exists() and not os.environ.get("XIANFENG_CRAWL_REBUILD"):
            return target
        building = CACHE_DIR / f"demo-{key}.building-{os.getpid()}.sqlite3"
        leftovers = [building, Path(f"{building}-wal"), Path(f"{building}-shm")]
        try:
            with database_named(str(building)) as conn:
                _build(log)
                with conn.cursor() as cursor:
                    cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    cursor.execute("PRAGMA journal_mode=DELETE")  # one self-contained file to copy
            os.replace(building, target)
        finally:
            for path in leftovers:
                path.unlink(missing_ok=True)
        for old in CACHE_DIR.glob("demo-*.sqlite3"):  # counties of older migration states
            if old != target and ".building-" not in old.name:
                old.unlink(missing_ok=True)
    return target


def _pg_exists(cursor, name: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
    return cursor.fetchone() is not None


def _pg_county(log) -> str:
    conn = connections["default"]
    cached = f"xfcrawl_{cache_key()}"
    with conn._nodb_cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [cached])  # one builder per key at a time
        try:
            if _pg_exists(cursor, cached) and os.environ.get("XIANFENG_CRAWL_REBUILD"):
                cursor.execute(f'DROP DATABASE "{cached}"')
            if not _pg_exists(cursor, cached):
                building = f"{cached}_b{os.getpid()}"
                cursor.execute(f'DROP DATABASE IF EXISTS "{building}"')
                cursor.execute(f'CREATE DATABASE "{building}"')
                try:
                    with database_named(building):
                        _build(log)
                    cursor.execute(f'ALTER DATABASE "{building}" RENAME TO "{cached}"')
                finally:
                    cursor.execute(f'DROP DATABASE IF EXISTS "{building}"')
        finally:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [cached])
    return cached


@pytest.fixture(scope="session")
def demo_county_source(django_db_setup, django_db_blocker):
    """The cached demo county: a SQLite file path or a PostgreSQL database name (built if missing)."""
    with django_db_blocker.unblock():
        if connections["default"].vendor == "postgresql":
            return _pg_county(REPORT.append)
        return str(_sqlite_county(REPORT.append))


@pytest.fixture(scope="module")
def demo_county(demo_county_source, django_db_blocker):
    """The default connection points at a fresh copy of the demo county while a module of tests/crawl runs (module
    scope: the suite's own test database is back before any other directory's tests)."""
    conn = connections["default"]
    with django_db_blocker.unblock():
        if conn.vendor == "postgresql":
            clone = f"{conn.settings_dict['NAME']}_crawl"
            with conn._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{clone}"')
                cursor.execute(f'CREATE DATABASE "{clone}" TEMPLATE "{demo_county_source}"')
            try:
                with database_named(clone):
                    yield demo_county_source
            finally:
                with conn._nodb_cursor() as cursor:
                    cursor.execute(f'DROP DATABASE IF EXISTS "{clone}"')
        else:
            with tempfile.TemporaryDirectory(prefix="xianfeng-crawl-") as folder:
                copy = Path(folder) / "demo.sqlite3"
                shutil.copyfile(demo_county_source, copy)
                with database_named(str(copy)):
                    yield demo_county_source


@pytest.fixture(scope="session")
def crawl_report() -> list[str]:
    """Lines the crawl prints again at the end of the session."""
    return REPORT


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.section("crawl of the demo county")
        for line in REPORT:
            terminalreporter.write_line(line)
