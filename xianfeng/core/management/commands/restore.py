"""`xianfeng restore FILE [--force]`: replace the database's content with a backup made by `xianfeng backup`.

The file is checked before anything changes: it must be a backup of the same kind of database (SQLite file /
pg_dump custom archive) that reads cleanly (SQLite `quick_check`; `pg_restore --list`) and is this project's, at a
state this code can migrate from (`check_migration_state`): its applied migrations are a non-empty subset of the
migrations this code knows (same app labels, same names), the project's core apps are among them, and the core
tables are present. Any Django database, or an empty one with only a `django_migrations` table, is refused.
A target that already holds data is replaced only with --force.
SQLite: the online-backup API copies the backup's pages over the live database in one step.
PostgreSQL: `pg_restore --clean --if-exists --single-transaction`, so a failed restore changes nothing.
Stop the app servers and the worker first; run `xianfeng migrate` afterwards when restoring an older backup.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader

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


# Apps whose first migration every backup of this project has applied, and models whose tables it must hold.
CORE_APPS = ("contenttypes", "auth", "core", "orgs")
CORE_MODELS = ("contenttypes.ContentType", "core.AuditEvent", "orgs.Organisation", "orgs.Person", "orgs.Member")


def core_tables() -> set[str]:
    labels = (*CORE_MODELS, settings.AUTH_USER_MODEL)
    return {apps.get_model(label)._meta.db_table for label in labels}


def check_migration_state(path: Path, applied: set[tuple[str, str]], tables: set[str]) -> None:
    """Refuse (CommandError, nothing changed) a backup that is not this project's at a state this code can migrate
    from: `applied` are the backup's (app, name) rows of django_migrations, `tables` the tables it holds."""
    if not applied:
        raise CommandError(f"{path}: not a Xianfeng backup (its django_migrations table records no migration)")
    known = set(MigrationLoader(None, ignore_no_migrations=True, load=True).disk_migrations)
    foreign_apps = sorted({app for app, _ in applied} - {app for app, _ in known})
    if foreign_apps:
        raise CommandError(f"{path}: not a Xianfeng backup (migrations of apps this project does not have: "
                           f"{', '.join(foreign_apps[:5])})")
    unknown = sorted(applied - known)
    if unknown:
        shown = ", ".join(f"{app}.{name}" for app, name in unknown[:5])
        raise CommandError(f"{path}: made by a newer or different version of Xianfeng (migrations this code does "
                           f"not know: {shown}{' …' if len(unknown) > 5 else ''}); restore it with that version")
    missing_apps = [app for app in CORE_APPS if not any(a == app for a, _ in applied)]
    if missing_apps:
        raise CommandError(f"{path}: not a Xianfeng backup (no migration of {', '.join(missing_apps)} applied)")
    missing_tables = sorted(core_tables() - tables)
    if missing_tables:
        raise CommandError(f"{path}: not a complete Xianfeng backup (tables missing: {', '.join(missing_tables)})")


def check_sqlite_backup(path: Path) -> None:
    try:
        source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            status = source.execute("PRAGMA quick_check").fetchone()[0]
            tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            applied: set[tuple[str, str]] = set()
            if "django_migrations" in tables:
                applied = {(str(a), str(n)) for a, n in source.execute("SELECT app, name FROM django_migrations")}
        finally:
            source.close()
    except sqlite3.DatabaseError as exc:
        raise CommandError(f"{path}: unreadable SQLite backup ({exc})") from None
    if status != "ok":
        raise CommandError(f"{path}: damaged SQLite backup ({status})")
    if "django_migrations" not in tables:
        raise CommandError(f"{path}: an SQLite database but not a Xianfeng backup (no django_migrations table)")
    check_migration_state(path, applied, tables)


_PG_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (\S+) (\S+) ", re.MULTILINE)


def check_pg_backup(path: Path) -> None:
    result = subprocess.run([pg_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        raise CommandError(f"{path}: unreadable pg_dump archive ({result.stderr.strip().splitlines()[-1:]})")
    tables = {name for schema, name in _PG_TABLE.findall(result.stdout) if schema == "public"}
    if "django_migrations" not in tables:
        raise CommandError(f"{path}: a pg_dump archive but not of a Xianfeng database (no django_migrations table)")
    # The rows of django_migrations, as the COPY block pg_restore would run (a script on stdout; nothing restored).
    data = subprocess.run([pg_tool("pg_restore"), "--data-only", "--table=django_migrations", "--file=-", str(path)],
                          capture_output=True, text=True)
    if data.returncode != 0:
        raise CommandError(f"{path}: unreadable pg_dump archive ({data.stderr.strip().splitlines()[-1:]})")
    applied: set[tuple[str, str]] = set()
    copying = False
    for line in data.stdout.splitlines():
        if line.startswith("COPY ") and "django_migrations" in line:
            copying = True
            columns = [c.strip() for c in line[line.index("(") + 1:line.index(")")].split(",")]
            app_at, name_at = columns.index("app"), columns.index("name")
            continue
        if copying:
            if line == "\\.":
                break
            fields = line.split("\t")
            applied.add((fields[app_at], fields[name_at]))
    check_migration_state(path, applied, tables)


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
            pg, env = pg_args()
            connection.close()  # pg_restore drops and re-creates the tables: hold no locks on them
            run_tool([pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
                      "--single-transaction", "--exit-on-error", *pg, str(file)], env)
        self.stdout.write(f"restored the {kind} database from {file}")
