"""Background work for cases: reminders before the deadline and escalation up the tree."""

from xianfeng.jobs.registry import periodic

from .services import escalation_sweep


@periodic(every=60, name="grids.escalate")
def escalate() -> None:
    """Every minute: remind handlers of cases near their deadline; raise unaccepted or overdue cases one level."""
    while True:
        stats = escalation_sweep()
        if stats["reminded"] == 0 and stats["escalated"] == 0:
            break
