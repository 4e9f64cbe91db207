"""The suite can run at a chosen moment: XIANFENG_TEST_NOW moves every test's clock there (conftest._test_clock)."""

import datetime as dt
import os

import pytest
from django.utils import timezone


@pytest.mark.skipif(not os.environ.get("XIANFENG_TEST_NOW"), reason="XIANFENG_TEST_NOW is not set")
def test_the_session_runs_at_the_chosen_moment():
    moment = dt.datetime.fromisoformat(os.environ["XIANFENG_TEST_NOW"])
    elapsed = timezone.now() - moment
    assert dt.timedelta(0) <= elapsed < dt.timedelta(hours=2)  # the clock ticks on from the moment


def test_the_clock_ticks_while_travelling():
    first = timezone.now()
    second = timezone.now()
    assert second >= first
