"""Background work: due and overdue reminders every morning, the formulaic detection of open rounds every night."""

from xianfeng.jobs.registry import daily

from .models import PledgeRound
from .services import formulaic_detect, reminders_send


@daily(at="08:00", name="pledges.reminders")
def reminders() -> None:
    reminders_send()


@daily(at="03:00", name="pledges.detect")
def detect_open_rounds() -> None:
    for pledge_round in PledgeRound.objects.filter(is_open=True):
        formulaic_detect(round=pledge_round)
