"""`xianfeng import_roster FILE [--user USERNAME] [--dry-run]`: import a members roster, all or nothing."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from xianfeng.core.excel import SpreadsheetError
from xianfeng.orgs import roster
from xianfeng.orgs.models import User

STAGES = {"validate": "checking rows", "write": "writing"}


def _plain(text: str) -> str:
    """Progress is not an error: keep it out of the red Django gives stderr on a terminal."""
    return text


class Command(BaseCommand):
    help = ("Import members from a roster (.xlsx or .csv with the headers of the download template). If any row is "
            "bad nothing is imported and every bad row is listed (exit code 1).")

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx or .csv roster")
        parser.add_argument("--user", help="import as this user: only into organisations the user may change "
                                           "(default: the system, anywhere)")
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")

    def handle(self, *args, file: str, user: str | None = None, dry_run: bool = False, **options):
        by = None
        if user:
            by = User.objects.filter(username=user).first()
            if by is None:
                raise CommandError(f"there is no user {user!r}")
        path = Path(file)
        started = time.perf_counter()
        self._tty = self.stderr.isatty()
        self.stderr.write(f"reading {path.name} …", style_func=_plain)
        try:
            table = roster.roster_read(path)
        except SpreadsheetError as exc:
            raise CommandError(f"{path.name}: {exc}") from exc
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from exc
        result = roster.roster_import(rows=table.rows, row_numbers=table.row_numbers, actor=by, dry_run=dry_run,
                                      source=path.name, progress=self._progress)
        result.seconds = time.perf_counter() - started  # end to end, reading the file included
        if not result.ok:
            for error in result.errors:
                value = f" [{error.value}]" if error.value else ""
                self.stderr.write(f"{error}{value}")
            raise CommandError(result.summary(), returncode=1)
        self.stdout.write(result.summary())

    def _progress(self, stage: str, done: int, total: int) -> None:
        label = STAGES.get(stage, stage)
        if self._tty:
            self.stderr.write(f"\r{label} {done:,}/{total:,}", ending="\n" if done == total else "", style_func=_plain)
            self.stderr.flush()
        elif done == total:
            self.stderr.write(f"{label}: done", style_func=_plain)
