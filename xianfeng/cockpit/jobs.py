"""The worker keeps the rollups current: dirty organisations every minute, everything once a night."""

from xianfeng.jobs.registry import daily, periodic

from . import metrics


@periodic(every=60, name="cockpit.refresh")
def refresh() -> None:
    """Recompute the rollups of organisations whose records changed since the last run (their dirty marks)."""
    metrics.refresh()


@daily(at="02:30", name="cockpit.rebuild")
def rebuild() -> None:
    """Rebuild every rollup: the visit-coverage snapshot moves with the date, and bulk writes send no signals."""
    metrics.rebuild()
