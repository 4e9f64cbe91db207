"""Background work: escalate rectification tasks that pass their deadline still open."""

from xianfeng.jobs.registry import daily, job

from . import services


@job(services.ESCALATE_JOB, max_attempts=5)
def rectification_due(rectification_id: int) -> None:
    """Scheduled at each task's creation for the morning after its deadline; does nothing if it was closed."""
    services.rectification_escalate(rectification_id=rectification_id)


@daily(at="07:30", name="inspections.escalate_overdue")
def escalate_overdue() -> None:
    """The sweep behind the per-task jobs: any overdue task not escalated yet (e.g. a deadline moved)."""
    services.rectifications_escalate_overdue()
