"""Notification work the worker does: sending one delivery (retried by delivery_attempt itself)."""

from xianfeng.jobs.registry import job

from .services import DELIVER_JOB, delivery_attempt


@job(DELIVER_JOB, max_attempts=3)
def deliver(delivery_id: int) -> None:
    delivery_attempt(delivery_id=delivery_id)
