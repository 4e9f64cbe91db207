"""Notification work the worker does: sending one delivery, posting one group message (each retried by its own
attempt function)."""

from django.conf import settings

from xianfeng.jobs.registry import daily, job

from .robots import POST_JOB, group_post_attempt
from .services import DELIVER_JOB, delivery_attempt, digests_send


@job(DELIVER_JOB, max_attempts=3)
def deliver(delivery_id: int) -> None:
    delivery_attempt(delivery_id=delivery_id)


@job(POST_JOB, max_attempts=3)
def group_post(post_id: int) -> None:
    group_post_attempt(post_id=post_id)


@daily(at=getattr(settings, "NOTIFY_DIGEST_AT", "08:00"), name="notify.digest")
def digest() -> None:
    digests_send()
