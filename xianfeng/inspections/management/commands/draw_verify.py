import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from xianfeng.inspections.draw import verify_record
from xianfeng.inspections.models import Draw


class Command(BaseCommand):
    help = ("Re-run a published draw from its published inputs and check it gives the published result. "
            "Give a draw id (the record stored here) or --file with a record downloaded from the portal.")

    def add_arguments(self, parser):
        parser.add_argument("draw_id", nargs="?", type=int)
        parser.add_argument("--file", help="a published record (JSON) to verify instead of the stored one")

    def handle(self, *args, draw_id=None, file=None, **options):
        if file:
            try:
                record = json.loads(Path(file).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read {file}: {exc}") from None
            source = file
        elif draw_id is not None:
            draw = Draw.objects.filter(pk=draw_id, status=Draw.Status.PUBLISHED).first()
            if draw is None:
                raise CommandError(f"no published draw {draw_id}")
            record = draw.record
            source = f"draw {draw_id}"
            if record.get("hashes", {}).get("frame") != draw.frame_sha256:
                raise CommandError("frame hash differs: the record's frame is not the list frozen and published "
                                   f"before the seed ({draw.frame_sha256})")
        else:
            raise CommandError("give a draw id or --file")
        problems = verify_record(record)
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"{source}: NOT reproduced ({len(problems)} difference(s))")
        selected = sum(len(v) for v in record["result"]["selected"].values())
        self.stdout.write(f"{source}: reproduced — {selected} units from {len(record['inputs']['frame']):,}, "
                          f"result sha256 {record['hashes']['result']}")
