"""`xianfeng restore FILE [--force]`: replace the database's content with a backup made by `xianfeng backup`.

The file is checked before anything changes: it must be a backup of the same kind of database (SQLite file /
pg_dump custom archive) that reads cleanly (SQLite `quick_check`; `pg_restore --list`) and holds a Django
database (its migrations table). A target that already holds data is replaced only with --force.
SQLite: the online-backup API copies the backup's pages over the live database in one step.
PostgreSQL: `pg_restore --clean --if-exists --single-transaction`, so a failed restore changes nothing.
Stop the app servers and the worker first; run `xianfeng migrate` afterwards when restoring an older backup.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from .backup import backup_kind, pg_args, pg_tool, run_tool, sqlite_connection


def rows_present() -> list[str]:
    """The project's tables that hold at least one row (empty list: the target may be restored without --force)."""
    existing = set(connection.introspection.table_names())
    full = []
    for model in apps.get_models():
        if not model.__module__.startswith("xianfeng.") or model._meta.db_table not in existing:
            continue
        if model._base_manager.using(connection.alias).exists():
            full.append(model._meta.db_table)
    return full


def check_sqlite_backup(path: Path) -> None:
    try:
        source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            status = source.execute("PRAGMA quick_check").fetchone()[0]
            has_migrations = source.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'django_migrations'").fetchone()
        finally:
            source.close()
    except sqlite3.DatabaseError as exc:
        raise CommandError(f"{path}: unreadable SQLite backup ({exc})") from None
    if status != "ok":
        raise CommandError(f"{path}: damaged SQLite backup ({status})")
    if not has_migrations:
        raise CommandError(f"{path}: an SQLite database but not a Xianfeng backup (no django_migrations table)")


def check_pg_backup(path: Path) -> None:
    result = subprocess.run([pg_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        raise CommandError(f"{path}: unreadable pg_dump archive ({result.stderr.strip().splitlines()[-1:]})")
    if " TABLE public django_migrations " not in result.stdout:
        raise CommandError(f"{path}: a pg_dump archive but not of a Xianfeng database (no django_migrations table)")


class Command(BaseCommand):
    help = "Restore the database from a FILE made by `xianfeng backup` (refuses a non-empty database without --force)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--force", action="store_true", help="replace a database that already holds data")

    def handle(self, *args, file: Path, force: bool, **options):
        kind = backup_kind(file)
        if kind != connection.vendor:
            raise CommandError(f"{file} is a {kind} backup; this site's database is {connection.vendor}")
        (check_sqlite_backup if kind == "sqlite" else check_pg_backup)(file)
        full = rows_present()
        if full and not force:
            shown = ", ".join(full[:5]) + (" …" if len(full) > 5 else "")
            raise CommandError(f"the database is not empty ({len(full)} tables hold rows: {shown}); "
                               "pass --force to replace its content with the backup")
        if kind == "sqlite":
            target = sqlite_connection()
            if connection.in_atomic_block:
                raise CommandError("cannot restore inside a transaction")
            source = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
            try:
                source.backup(target)
            except sqlite3.OperationalError as exc:
                raise CommandError(f"restore failed: {exc} (stop the app servers and the worker first)") from None
            finally:
                source.close()
        else:
            args, env = pg_args()
            connection.close()  # pg_restore drops and re-creates the tables: hold no locks on them
            run_tool([pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
                      "--single-transaction", "--exit-on-error", *args, str(file)], env)
        self.stdout.write(f"restored the {kind} database from {file}")
