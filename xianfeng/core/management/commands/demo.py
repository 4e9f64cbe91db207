import argparse
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from xianfeng.core.demo import DEMO_PASSWORD, run_demo
from xianfeng.devtools.province import BulkError, build_province
from xianfeng.orgs.models import Organisation, User

LOGINS = [
    ("county_admin", "县级管理员 · 海盐县"),
    ("wuyuan_admin", "组织管理员 · 武原镇"),
    ("hebin_secretary", "书记 · 武原镇河滨社区"),
    ("qinshan_secretary", "书记 · 秦山镇秦万村（武原镇数据的局外人）"),
    ("member_demo", "党员 · 河滨社区"),
    ("resident_demo", "群众 · 河滨社区"),
    ("inspector_demo", "督查员 · 现场点评第七组"),
    ("hebin_grid", "网格员 · 河滨社区"),
    ("hebin_duty", "值班员 · 河滨社区（一键通告警）"),
    ("donghai_member", "党员 · 东海花苑社区双管党员（认领先锋服务岗）"),
    ("donghai_resident", "群众 · 东海花苑社区（确认岗位服务）"),
]


def _scale(value: str) -> float | str:
    """A fraction of the county, or "province" (the province dataset for benchmarks, xianfeng.devtools.province)."""
    if value == "province":
        return value
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--scale takes a number or 'province', not {value!r}") from None


class Command(BaseCommand):
    help = "Build the demo county (Haiyan, at the report's scale). The same every time for a seed."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2010)
        parser.add_argument("--scale", type=_scale, default=1.0,
                            help="fraction of the county's size (tests use small scales); 1.0 is the report's; "
                                 "'province' builds the province dataset for benchmarks")
        parser.add_argument("--fraction", type=float, default=1.0,
                            help="with --scale province: build this fraction of the province (0 < F ≤ 1)")
        parser.add_argument("--if-absent", action="store_true", help="do nothing if a county already exists")

    def handle(self, *args, seed, scale, if_absent, fraction=1.0, **options):
        if scale == "province":
            return self._province(seed=seed, fraction=fraction, if_absent=if_absent)
        if Organisation.objects.exists():
            if if_absent:
                self.stdout.write("demo county already present; nothing to do")
                self._print_logins()
                return
            raise CommandError("the database already has organisations; the demo needs an empty database")
        started = time.perf_counter()
        with transaction.atomic():
            ctx = run_demo(seed=seed, scale=scale, log=lambda s: self.stderr.write(s))
        summary = ctx.data.get("summary", {})
        figures = ", ".join(f"{v:,} {k}" for k, v in summary.items())
        self.stdout.write(f"built the demo county in {time.perf_counter() - started:.1f} s: {figures}")
        self._print_logins()

    def _province(self, *, seed: int, fraction: float, if_absent: bool) -> None:
        if not 0 < fraction <= 1:
            raise CommandError("--fraction must be greater than 0 and at most 1")
        if Organisation.objects.exists():
            if if_absent:
                self.stdout.write("organisations already present; nothing to do")
                return
            raise CommandError("the database already has organisations; the province needs an empty database")
        started = time.perf_counter()
        try:
            builder = build_province(seed=seed, fraction=fraction, log=lambda s: self.stderr.write(s))
        except BulkError as exc:
            raise CommandError(str(exc)) from None
        figures = ", ".join(f"{v:,} {k}" for k, v in builder.counts.items())
        self.stdout.write(f"built the province (fraction {fraction:g}) in {time.perf_counter() - started:.1f} s: "
                          f"{figures}")

    def _print_logins(self):
        present = set(User.objects.filter(username__in=[u for u, _ in LOGINS]).values_list("username", flat=True))
        self.stdout.write(f"demo logins (password {DEMO_PASSWORD}):")
        for username, what in LOGINS:
            if username in present:
                self.stdout.write(f"  {username:<18} {what}")
