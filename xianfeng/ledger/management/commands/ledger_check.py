import sys

from django.core.management.base import BaseCommand

from xianfeng.ledger.services import ledger_verify


class Command(BaseCommand):
    help = ("Recompute every account balance and every transaction's sums from the entries; list each mismatch. "
            "Exit code 1 if there is any.")

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=200, help="list at most this many problems")

    def handle(self, *args, limit, **options):
        check = ledger_verify(limit=limit)
        for line in check.problems:
            self.stderr.write(line)
        summary = (f"checked {check.accounts:,} accounts, {check.transactions:,} transactions, "
                   f"{check.entries:,} entries in {check.seconds:.1f} s; ")
        if check.ok:
            self.stdout.write(summary + "0 problems")
            return
        self.stdout.write(summary + f"{len([p for p in check.problems if not p.startswith('…')]):,}"
                          f"{'+' if check.problems[-1].startswith('…') else ''} problems")
        sys.exit(1)
