"""`manage.py grids_import <village/community code> <file.geojson>`: grids and boundaries from a FeatureCollection."""

import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from xianfeng.grids.services import grids_import_geojson
from xianfeng.orgs.models import Organisation


class Command(BaseCommand):
    help = ("Import a village's or community's grids from GeoJSON (each feature: properties.name for a new grid, or "
            "properties.code to replace an existing grid's boundary). All or nothing.")

    def add_arguments(self, parser):
        parser.add_argument("org_code")
        parser.add_argument("path")

    def handle(self, *args, org_code, path, **options):
        org = Organisation.objects.filter(code=org_code).first()
        if org is None:
            raise CommandError(f"no organisation with code {org_code}")
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from None
        started = time.perf_counter()
        try:
            grids = grids_import_geojson(org=org, data=data)
        except ValidationError as exc:
            reasons = [m for ms in exc.message_dict.values() for m in ms]
            raise CommandError("nothing imported:\n" + "\n".join(reasons)) from None
        self.stdout.write(f"imported {len(grids)} grids of {org.name} in {time.perf_counter() - started:.1f} s; "
                          f"0 errors")
