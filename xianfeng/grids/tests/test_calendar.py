"""Deadline arithmetic over weekends, holidays and worked weekend days (调休)."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xianfeng.grids.calendar import WorkCalendar, deadline, end_of_day

from .conftest import at

days = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))
calendars = st.builds(
    WorkCalendar,
    holidays=st.frozensets(st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2031, 6, 30)), max_size=40),
    workdays=st.frozensets(st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2031, 6, 30)), max_size=10),
)


@settings(max_examples=300, deadline=None)
@given(day=days, n=st.integers(min_value=1, max_value=30), cal=calendars)
def test_the_nth_working_day_is_a_working_day_with_n_working_days_before_it(day, n, cal):
    result = cal.add_working_days(day, n)
    assert result > day
    assert cal.is_working_day(result)
    assert cal.working_days_between(day, result) == n


@settings(max_examples=200, deadline=None)
@given(day=days, n=st.integers(min_value=0, max_value=20), m=st.integers(min_value=0, max_value=20), cal=calendars)
def test_adding_working_days_composes(day, n, m, cal):
    assert cal.add_working_days(cal.add_working_days(day, n), m) == cal.add_working_days(day, n + m)


@settings(max_examples=200, deadline=None)
@given(day=days, n=st.integers(min_value=1, max_value=20))
def test_without_holidays_no_deadline_falls_on_a_weekend(day, n):
    assert WorkCalendar().add_working_days(day, n).weekday() < 5


def test_friday_plus_one_working_day_is_monday():
    assert WorkCalendar().add_working_days(dt.date(2026, 9, 25), 1) == dt.date(2026, 9, 28)


def test_national_day_holidays_are_skipped_and_a_worked_saturday_counts():
    holidays = frozenset(dt.date(2026, 10, d) for d in range(1, 9))  # Thu 1 Oct … Thu 8 Oct
    workdays = frozenset({dt.date(2026, 10, 10)})  # Saturday made a working day
    cal = WorkCalendar(holidays=holidays, workdays=workdays)
    # Wednesday 30 Sep + 1 → Friday 9 Oct; + 2 → Saturday 10 Oct (worked); + 3 → Monday 12 Oct
    assert cal.add_working_days(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 9)
    assert cal.add_working_days(dt.date(2026, 9, 30), 2) == dt.date(2026, 10, 10)
    assert cal.add_working_days(dt.date(2026, 9, 30), 3) == dt.date(2026, 10, 12)


def test_deadline_kinds(db):
    cal = WorkCalendar()
    friday = at(dt.date(2026, 9, 25), 15)
    assert deadline("same_day", 1, friday, cal) == end_of_day(dt.date(2026, 9, 25))
    assert deadline("hours", 4, friday, cal) == friday + dt.timedelta(hours=4)
    assert deadline("working_days", 3, friday, cal) == end_of_day(dt.date(2026, 9, 30))
    with pytest.raises(ValueError):
        deadline("weeks", 1, friday, cal)


def test_an_absurd_number_of_working_days_is_refused():
    with pytest.raises(ValueError):
        WorkCalendar().add_working_days(dt.date(2026, 1, 1), 10_000)
