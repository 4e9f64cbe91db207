"""The job queue's own housekeeping."""

from django.conf import settings

from .registry import daily
from .services import jobs_prune


@daily(at="03:30", name="jobs.prune")
def prune() -> None:
    """Drop finished one-off jobs older than JOBS_KEEP_DAYS; parked ones stay until an admin retries them."""
    jobs_prune(older_than_days=int(getattr(settings, "JOBS_KEEP_DAYS", 30)))
