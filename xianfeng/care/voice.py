"""A voice call's result drives the alert it was placed for (notify places the call as the channel "voice" of an
escalation level and sends `call_result` once the provider reports back).

    key pressed to acknowledge → the person called takes the alert (as if they had opened their link)
    not answered               → the next level is called now instead of at the end of the acknowledgement wait
    answered (no key)          → written on the timeline only; the wait runs on
Every result is a line on the alert's timeline.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.db import transaction
from django.utils import timezone

from xianfeng.notify.models import DeliveryReceipt

from .models import Alert, AlertEvent, AlertStep
from .services.alerts import AlertClosed, alert_acknowledge, alert_step_run
from .services.common import ALERT_KIND, CareError, display_name

Result = DeliveryReceipt.Result


def _alert_of(notification: Any) -> Alert | None:
    """The alert a care.alert notification was sent for: its key is "care.alert:<alert id>:step:<n>"."""
    parts = str(notification.key).split(":")
    if notification.kind != ALERT_KIND or len(parts) < 2 or not parts[1].isdigit():
        return None
    return Alert.objects.select_related("device__holder").filter(pk=int(parts[1])).first()


def on_call_result(sender: Any, *, notification: Any, result: str, digits: str = "", **kwargs: Any) -> None:
    alert = _alert_of(notification)
    if alert is None:
        return
    person = notification.recipient
    label = Result(result).label if result in Result.values else result
    pressed = f"（按键 {digits}）" if digits else ""
    with transaction.atomic():
        AlertEvent.objects.create(alert=alert, at=timezone.now(), kind=AlertEvent.Kind.CALLED, level=alert.current_level,
                                  by=None, detail=f"语音电话 {display_name(person)}：{label}{pressed}"[:500])
    if alert.status != Alert.Status.OPEN:
        return
    if result == Result.ACKNOWLEDGED:
        # Someone else may have taken it first, or the person is no longer a responder: the timeline says so.
        with contextlib.suppress(AlertClosed, CareError):
            alert_acknowledge(alert=alert, actor=person)
    elif result in (Result.NO_ANSWER, Result.UNDELIVERED):
        step = alert.steps.filter(status=AlertStep.Status.PENDING).order_by("seq").first()
        if step is not None:
            alert_step_run(step_id=step.pk, ran_by=f"voice:{result}")
