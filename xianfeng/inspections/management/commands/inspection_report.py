import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from xianfeng.inspections import report
from xianfeng.inspections.models import Inspection


class Command(BaseCommand):
    help = "Write an inspection's report as .docx (GB/T 9704 layout), PDF or HTML."

    def add_arguments(self, parser):
        parser.add_argument("inspection_id", type=int)
        parser.add_argument("--format", choices=["docx", "pdf", "html"], default="docx")
        parser.add_argument("-o", "--output", required=True, help="file to write")

    def handle(self, *args, inspection_id, format, output, **options):
        inspection = Inspection.objects.select_related("org").filter(pk=inspection_id).first()
        if inspection is None:
            raise CommandError(f"no inspection {inspection_id}")
        started = time.perf_counter()
        content, _ = report.render(report.build(inspection), format)
        Path(output).write_bytes(content)
        self.stdout.write(f"wrote {output} ({len(content):,} bytes, {format}) in {time.perf_counter() - started:.1f} s")
