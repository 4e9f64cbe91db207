"""Background work for activities: reminders before an activity, closing check-outs nobody made."""

from xianfeng.jobs.registry import periodic

from . import services


@periodic(every=300, name="events.send_reminders")
def send_reminders() -> None:
    """Remind those signed up for activities starting within 24 hours (once per activity)."""
    services.reminders_send()


@periodic(every=900, name="events.close_missing_checkouts")
def close_missing_checkouts() -> None:
    """Close volunteer attendances left without a check-out and flag them for review."""
    services.attendance_close_missing()
