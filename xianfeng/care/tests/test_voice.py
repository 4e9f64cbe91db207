"""A voice call's result drives the alert: not answered calls the next level now; a key pressed acknowledges."""

from __future__ import annotations

from xianfeng.care.models import Alert, AlertEvent, AlertStep
from xianfeng.notify.models import Notification
from xianfeng.notify.receipts import call_result

from .conftest import press


def _first_call_of(alert: Alert, user) -> Notification:
    return Notification.objects.get(kind="care.alert", recipient=user, key=f"care.alert:{alert.pk}:step:1")


def test_a_call_not_answered_moves_the_alert_to_the_next_level_now(care):
    press(care.device)
    alert = Alert.objects.get()
    assert alert.steps.get(seq=2).status == AlertStep.Status.PENDING
    call_result.send(sender=None, delivery=None, notification=_first_call_of(alert, care.volunteer),
                     result="no_answer", digits="")
    alert.refresh_from_db()
    assert alert.steps.get(seq=2).status == AlertStep.Status.DONE
    assert alert.steps.get(seq=2).ran_by == "voice:no_answer"
    assert alert.steps.get(seq=3).status == AlertStep.Status.PENDING
    assert care.grid.pk in alert.steps.get(seq=2).notified  # level 2: the grid worker
    assert AlertEvent.objects.filter(alert=alert, detail__contains="语音电话").filter(detail__contains="未接听").exists()


def test_a_key_pressed_on_the_call_acknowledges_the_alert(care):
    press(care.device)
    alert = Alert.objects.get()
    call_result.send(sender=None, delivery=None, notification=_first_call_of(alert, care.volunteer),
                     result="acknowledged", digits="1")
    alert.refresh_from_db()
    assert alert.status == Alert.Status.ACKNOWLEDGED and alert.acknowledged_by == care.volunteer
    assert not alert.steps.filter(status=AlertStep.Status.PENDING).exists()


def test_an_answered_call_only_writes_the_timeline_and_other_kinds_are_ignored(care):
    press(care.device)
    alert = Alert.objects.get()
    call_result.send(sender=None, delivery=None, notification=_first_call_of(alert, care.volunteer),
                     result="answered", digits="")
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN and alert.steps.get(seq=2).status == AlertStep.Status.PENDING
    other = Notification.objects.create(recipient=care.volunteer, kind="events.reminder", subject="x",
                                        key=f"care.alert:{alert.pk}:step:1:x")
    call_result.send(sender=None, delivery=None, notification=other, result="no_answer", digits="")
    assert alert.steps.get(seq=2).status == AlertStep.Status.PENDING
