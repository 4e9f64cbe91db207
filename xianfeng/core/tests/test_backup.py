"""`xianfeng backup` / `xianfeng restore`: a backup restores every table row for row; bad files and non-empty targets
are refused and change nothing. Runs on SQLite (online-backup API) and on PostgreSQL (pg_dump/pg_restore)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from xianfeng.core.management.commands.backup import PG_MAGIC, SQLITE_MAGIC, backup_kind
from xianfeng.core.testing import build_county, make_member
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import Member, Organisation, OrgKind

pytestmark = pytest.mark.django_db(transaction=True)


def snapshot() -> dict[str, list[tuple]]:
    """Every table's rows, in a stable order."""
    quote = connection.ops.quote_name
    tables = sorted(t for t in connection.introspection.table_names() if not t.startswith("sqlite_"))
    out = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {quote(table)}")  # noqa: S608 (names from the database's own catalogue)
            out[table] = sorted(cursor.fetchall(), key=repr)
    return out


def mutate(world) -> None:
    """Change the database in several ways after the backup: insert, update, delete."""
    org_services.org_create(name="新建社区", code="330424001099", kind=OrgKind.COMMUNITY, parent=world.wuyuan)
    Organisation.objects.filter(pk=world.hebin.pk).update(name="改名社区")
    make_member("后来党员", world.hebin_branch)


@pytest.fixture
def populated():
    world = build_county()
    make_member("张三", world.hebin_branch)
    return world


def test_backup_restore_round_trip_compares_every_table(populated, tmp_path):
    before = snapshot()
    assert sum(len(rows) for rows in before.values()) > 50
    path = tmp_path / "site.backup"
    call_command("backup", str(path))
    assert path.stat().st_size > 0
    assert backup_kind(path) == connection.vendor
    mutate(populated)
    assert snapshot() != before
    call_command("restore", str(path), "--force")
    after = snapshot()
    assert after.keys() == before.keys()
    for table in before:
        assert after[table] == before[table], table


def test_restore_into_an_emptied_database_needs_no_force(populated, tmp_path):
    before = snapshot()
    path = tmp_path / "site.backup"
    call_command("backup", str(path))
    call_command("flush", interactive=False, verbosity=0)
    assert not Organisation.objects.exists()
    call_command("restore", str(path))
    assert snapshot() == before


def test_restore_refuses_a_non_empty_database_without_force(populated, tmp_path):
    path = tmp_path / "site.backup"
    call_command("backup", str(path))
    mutate(populated)
    changed = snapshot()
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(path))
    assert snapshot() == changed


def test_backup_refuses_to_overwrite_without_force(populated, tmp_path):
    path = tmp_path / "site.backup"
    path.write_text("keep me")
    with pytest.raises(CommandError, match="exists"):
        call_command("backup", str(path))
    assert path.read_text() == "keep me"
    call_command("backup", str(path), "--force")
    assert backup_kind(path) == connection.vendor
    assert not list(tmp_path.glob(".*partial"))


def test_backup_into_a_missing_directory_is_refused(populated, tmp_path):
    with pytest.raises(CommandError, match="no such directory"):
        call_command("backup", str(tmp_path / "nowhere" / "site.backup"))


@pytest.mark.parametrize("content", [b"", b"hello, world\n", b"PK\x03\x04 a zip file", SQLITE_MAGIC[:10]])
def test_restore_refuses_a_file_that_is_not_a_backup(populated, tmp_path, content):
    path = tmp_path / "wrong.backup"
    path.write_bytes(content)
    before = snapshot()
    with pytest.raises(CommandError, match="not a backup"):
        call_command("restore", str(path), "--force")
    assert snapshot() == before


def test_restore_refuses_a_missing_file(populated, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("restore", str(tmp_path / "absent.backup"))


def test_restore_refuses_a_foreign_database_file(populated, tmp_path):
    path = tmp_path / "other.sqlite3"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    other.commit()
    other.close()
    before = snapshot()
    expected = "not a Xianfeng backup" if connection.vendor == "sqlite" else "is a sqlite backup"
    with pytest.raises(CommandError, match=expected):
        call_command("restore", str(path), "--force")
    assert snapshot() == before


def test_restore_refuses_a_damaged_archive(populated, tmp_path):
    path = tmp_path / "site.backup"
    call_command("backup", str(path))
    data = path.read_bytes()
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(data[: len(data) // 3])  # truncated: the header is right, the rest is missing
    members = Member.objects.count()
    with pytest.raises(CommandError):
        call_command("restore", str(damaged), "--force")
    assert Member.objects.count() == members


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=32))
def test_backup_kind_accepts_only_the_two_formats(tmp_path_factory, head):
    path: Path = tmp_path_factory.mktemp("kind") / "f"
    path.write_bytes(head)
    if head.startswith(SQLITE_MAGIC):
        assert backup_kind(path) == "sqlite"
    elif head.startswith(PG_MAGIC):
        assert backup_kind(path) == "postgresql"
    else:
        with pytest.raises(CommandError, match="not a backup"):
            backup_kind(path)


# ---- the backup's owner, the live database, and whose backup it is ----------------------------------------------


def test_a_backup_is_readable_by_its_owner_only(populated, tmp_path):
    path = tmp_path / "site.backup"
    path.write_text("an old world-readable backup")
    path.chmod(0o644)
    call_command("backup", str(path), "--force")
    assert path.stat().st_mode & 0o777 == 0o600
    fresh = tmp_path / "fresh.backup"
    call_command("backup", str(fresh))
    assert fresh.stat().st_mode & 0o777 == 0o600


def _xianfeng(var: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "XIANFENG_VAR": str(var)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "xianfeng.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[3])


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the live SQLite file; PostgreSQL's data directory below")
def test_backup_refuses_the_live_database_even_through_a_symlink_or_with_force(tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    live = var / "xianfeng.sqlite3"
    sqlite3.connect(live).execute("CREATE TABLE keep (x)").connection.commit()
    before = live.read_bytes()
    link = tmp_path / "innocent.backup"
    link.symlink_to(live)
    hard = tmp_path / "hard.backup"
    os.link(live, hard)
    for target in (live, link, hard, Path(f"{live}-wal")):
        done = _xianfeng(var, "backup", str(target), "--force")
        assert done.returncode != 0 and "is the live database" in done.stderr, (target, done.stderr)
    assert live.read_bytes() == before
    ok = _xianfeng(var, "backup", str(tmp_path / "good.backup"))
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "good.backup").stat().st_mode & 0o777 == 0o600


def _sqlite_file(path: Path, statements: list[str]) -> Path:
    db = sqlite3.connect(path)
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()
    return path


MIGRATIONS_TABLE = "CREATE TABLE django_migrations (id INTEGER PRIMARY KEY, app TEXT, name TEXT, applied TEXT)"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite backups restore into SQLite only")
@pytest.mark.parametrize(("statements", "reason"), [
    ([MIGRATIONS_TABLE], "records no migration"),
    ([MIGRATIONS_TABLE, "INSERT INTO django_migrations (app, name) VALUES ('shop', '0001_initial')"],
     "apps this project does not have: shop"),
    ([MIGRATIONS_TABLE, "INSERT INTO django_migrations (app, name) VALUES ('orgs', '0999_from_the_future')"],
     "newer or different version"),
    ([MIGRATIONS_TABLE, "INSERT INTO django_migrations (app, name) VALUES ('contenttypes', '0001_initial')"],
     "no migration of auth, core, orgs"),
])
def test_restore_refuses_a_django_database_that_is_not_this_projects(populated, tmp_path, statements, reason):
    path = _sqlite_file(tmp_path / "other.sqlite3", statements)
    before = snapshot()
    with pytest.raises(CommandError, match=reason):
        call_command("restore", str(path), "--force")
    assert snapshot() == before


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite backups restore into SQLite only")
def test_restore_refuses_a_backup_without_the_core_tables(populated, tmp_path):
    path = tmp_path / "site.backup"
    call_command("backup", str(path))
    _sqlite_file(path, ["DROP TABLE orgs_member"])
    before = snapshot()
    with pytest.raises(CommandError, match="tables missing: orgs_member"):
        call_command("restore", str(path), "--force")
    assert snapshot() == before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump archives")
def test_restore_refuses_a_pg_archive_of_another_django_project(populated, tmp_path):
    path = tmp_path / "site.backup"
    call_command("backup", str(path))
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('shop', '0001_initial', now())")
    other = tmp_path / "other.backup"
    call_command("backup", str(other))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'shop'")
    before = snapshot()
    with pytest.raises(CommandError, match="apps this project does not have: shop"):
        call_command("restore", str(other), "--force")
    assert snapshot() == before
    call_command("restore", str(path), "--force")  # the project's own archive passes the same check
