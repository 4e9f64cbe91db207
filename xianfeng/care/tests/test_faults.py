"""Alerts in flight while the worker is SIGKILLed and restarted: every alert reaches its final state.
PostgreSQL only (the worker is another process); the full run (200 alerts, 5 kills) is bench/bench_care.py."""

import pytest

from xianfeng.care.models import EscalationPolicy

from .faults import run_fault_scenario

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_killing_the_worker_loses_no_alert(postgres_only, care, settings):
    EscalationPolicy.objects.filter(pk=care.policy.pk).update(ack_timeout_seconds=1, repeat_seconds=1)
    settings.CARE_INLINE_FIRST_STEP = False  # the worker must make every call, the first included
    report = run_fault_scenario(device=care.device, responder=care.wuyuan_duty, alerts=20, kills=2, seed=7,
                                deadline_seconds=90)
    print(report.summary())
    assert report.kills == 2
    assert report.lost == []
    assert report.duplicate_sms <= report.kills
    assert report.sms_sent >= 20 * 5  # five people in levels 1–4, every one with a phone
