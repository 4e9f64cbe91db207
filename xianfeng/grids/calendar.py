"""Working-day arithmetic for case deadlines: weekends are off, a holiday list removes weekdays, 调休 adds weekends.

Pure functions over two sets of dates, so the deadline rules can be tested exhaustively (hypothesis) without a
database; `load_calendar()` reads the sets from WorkCalendarDay.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Set
from dataclasses import dataclass, field

from django.utils import timezone

MAX_WORKING_DAYS = 366  # a catalogue deadline longer than this is a typo, not a rule


@dataclass(frozen=True)
class WorkCalendar:
    holidays: Set[dt.date] = field(default_factory=frozenset)  # weekdays that are off
    workdays: Set[dt.date] = field(default_factory=frozenset)  # weekend days that are worked (调休)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after `day` (`day` itself never counts; n = 0 gives `day`)."""
        if not 0 <= n <= MAX_WORKING_DAYS:
            raise ValueError(f"working days must be 0–{MAX_WORKING_DAYS}, got {n}")
        current = day
        left = n
        # A year of holidays cannot stretch n working days beyond n·7/5 + 60 days, so the loop is bounded.
        for _ in range(n * 2 + 400):
            if left == 0:
                return current
            current += dt.timedelta(days=1)
            if self.is_working_day(current):
                left -= 1
        raise ValueError("the calendar has no working days left")

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]."""
        count = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count


def end_of_day(day: dt.date) -> dt.datetime:
    """The deadline for work due 'on' `day`: the first instant of the next local day."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def deadline(kind: str, value: int, start: dt.datetime, calendar: WorkCalendar) -> dt.datetime:
    """When a case dispatched at `start` is due under a catalogue rule (kind: same_day, hours, working_days)."""
    if kind == "same_day":
        return end_of_day(timezone.localdate(start))
    if kind == "hours":
        return start + dt.timedelta(hours=value)
    if kind == "working_days":
        return end_of_day(calendar.add_working_days(timezone.localdate(start), value))
    raise ValueError(f"unknown deadline kind {kind!r}")


def load_calendar() -> WorkCalendar:
    from .models import WorkCalendarDay

    rows = list(WorkCalendarDay.objects.values_list("date", "is_workday"))
    return WorkCalendar(holidays=frozenset(d for d, w in rows if not w), workdays=frozenset(d for d, w in rows if w))
