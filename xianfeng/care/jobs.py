"""The care module's background work: alert steps, the offline sweep, the rescue of lost steps, overdue visits."""

from xianfeng.jobs.registry import daily, job, periodic

from . import services


# An alert step must never be parked: many quick retries instead of the queue's default few slow ones. A step is a
# few milliseconds of work, so a worker silent for 10 s is dead: the sweeper hands the step back then (the 60-s
# target leaves room for it), while long jobs keep the queue's default threshold.
@job(services.STEP_JOB, max_attempts=100, backoff=1, stale_after=10)
def alert_step(step_id: int) -> None:
    services.alert_step_run(step_id=step_id)


@periodic(every=30, name="care.offline_sweep")
def offline_sweep() -> None:
    """Devices whose heartbeat is overdue become offline and raise an alert to the duty officers."""
    services.devices_offline_sweep()


@periodic(every=15, name="care.rescue_steps")
def rescue_steps() -> None:
    """Belt and braces: a pending step long past due (its job lost or parked) is run here."""
    services.steps_rescue()


@periodic(every=3600, name="care.prune_nonces")
def prune_nonces() -> None:
    services.nonces_prune()


@daily(at="07:30", name="care.overdue_visits")
def overdue_visits() -> None:
    """Each morning, secretaries hear about care cases whose visit is overdue."""
    services.cases_flag_overdue()
