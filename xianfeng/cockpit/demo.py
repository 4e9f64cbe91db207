"""The demo county's rollups: built last, after every module has added its records through bulk paths."""

from xianfeng.core.demo import DemoContext, demo_step

from . import metrics


@demo_step(990)
def cockpit_rollups(ctx: DemoContext) -> None:
    metrics.rebuild()
