"""`xianfeng backup FILE`: a consistent copy of the whole database, taken while the site runs.

SQLite: the online-backup API (`sqlite3.Connection.backup`) copies the pages under SQLite's own locking into a
temporary file beside FILE, which is renamed into place when complete (a failed backup never leaves a half file).
PostgreSQL: `pg_dump --format=custom` (one consistent snapshot), restorable with `xianfeng restore FILE`.

A backup holds ID numbers, password hashes, API tokens and device secrets: it is written readable by its owner only
(mode 0600, the umask set before the first byte), and FILE may never be the live database itself or one of its
-wal/-shm/-journal files (compared after resolving symlinks, and by inode), nor lie inside PostgreSQL's data
directory, --force or not.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


def backup_kind(path: Path) -> str:
    """'sqlite' or 'postgresql' from the file's first bytes; CommandError if it is neither."""
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except OSError as exc:
        raise CommandError(f"{path}: cannot read ({exc.strerror})") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise CommandError(f"{path}: not a backup (neither an SQLite database nor a pg_dump custom-format archive)")


def pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise CommandError(f"{name} is not installed: install PostgreSQL's client tools (Debian: postgresql-client)")
    return path


def pg_args() -> tuple[list[str], dict[str, str]]:
    """Connection arguments and environment for pg_dump/pg_restore, from the settings of the default database."""
    s = connection.settings_dict
    args = []
    if s.get("HOST"):
        args += ["--host", str(s["HOST"])]
    if s.get("PORT"):
        args += ["--port", str(s["PORT"])]
    if s.get("USER"):
        args += ["--username", str(s["USER"])]
    env = dict(os.environ)
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = str(s["PASSWORD"])
    return args + ["--no-password", "--dbname", str(s["NAME"])], env


def run_tool(cmd: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise CommandError(f"{Path(cmd[0]).name} failed: {message[-1] if message else result.returncode}")


def live_paths() -> list[Path]:
    """The files of the live database a backup must never overwrite (resolved, symlinks followed)."""
    name = str(connection.settings_dict.get("NAME") or "")
    if connection.vendor == "sqlite":
        if not name or name == ":memory:" or name.startswith("file:"):
            return []
        base = Path(name).resolve()
        return [base, *(base.with_name(base.name + suffix) for suffix in ("-wal", "-shm", "-journal"))]
    if connection.vendor == "postgresql":
        try:
            with connection.cursor() as cursor:
                cursor.execute("SHOW data_directory")  # superusers and pg_read_all_settings only
                return [Path(cursor.fetchone()[0]).resolve()]
        except Exception:  # noqa: BLE001 — not allowed to read it: nothing to compare with
            return []
    return []


def refuse_live_target(file: Path) -> None:
    """CommandError if `file` is (or, for PostgreSQL, lies inside) the live database, by path or by inode."""
    target = file.resolve()
    for live in live_paths():
        same = target == live or (connection.vendor == "postgresql" and live in target.parents)
        with contextlib.suppress(OSError):
            same = same or (file.exists() and live.exists() and os.path.samefile(file, live))
        if same:
            raise CommandError(f"{file} is the live database ({live}); choose another file for the backup")


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Files created inside (here and by pg_dump) are readable by their owner only."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def sqlite_connection() -> sqlite3.Connection:
    """The raw sqlite3 connection under Django's (works for file and in-memory databases alike)."""
    connection.ensure_connection()
    return connection.connection


class Command(BaseCommand):
    help = "Back up the whole database to FILE (SQLite: online-backup API; PostgreSQL: pg_dump custom format)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")

    def handle(self, *args, file: Path, force: bool, **options):
        refuse_live_target(file)
        if file.exists() and not force:
            raise CommandError(f"{file} exists; pass --force to overwrite it")
        if file.exists() and not file.is_file():
            raise CommandError(f"{file} is not a regular file")
        if not file.parent.is_dir():
            raise CommandError(f"{file.parent}: no such directory")
        partial = file.with_name(f".{file.name}.partial")
        partial.unlink(missing_ok=True)
        with private_files():
            try:
                os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                if connection.vendor == "sqlite":
                    target = sqlite3.connect(partial)
                    try:
                        sqlite_connection().backup(target)
                    finally:
                        target.close()
                elif connection.vendor == "postgresql":
                    pg, env = pg_args()
                    run_tool([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file",
                              str(partial), *pg], env)
                else:
                    raise CommandError(f"backups of {connection.vendor} databases are not supported")
                os.chmod(partial, 0o600)
                os.replace(partial, file)
            finally:
                partial.unlink(missing_ok=True)
        self.stdout.write(f"backed up the {connection.vendor} database to {file} ({file.stat().st_size:,} bytes)")
