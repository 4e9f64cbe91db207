"""The escalation sweep run by several workers at once on PostgreSQL: every due case rises exactly one level, with
exactly one event row, and each recipient is told once per sweep that took cases."""

import datetime as dt

import pytest
from django.utils import timezone

from xianfeng.core.testing import race
from xianfeng.grids import services
from xianfeng.grids.models import Case, CaseEvent

from .conftest import LAT, LNG

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_sweeps_escalate_each_case_once(postgres_only, gw, world):
    t0 = timezone.now() - dt.timedelta(days=30)
    cases = [services.case_open(category=gw.quick, description=f"路灯不亮 {i}", actor=world.resident, source="portal",
                                org=world.hebin, lat=LAT, lng=LNG, now=t0) for i in range(40)]
    now = timezone.now()
    outcomes = race(4, lambda i: services.escalation_sweep(now=now, batch=15))
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    # a second round picks up whatever the batches left, and nothing twice
    while services.escalation_sweep(now=now, batch=15)["escalated"]:
        pass
    assert sum(o["escalated"] for o in outcomes) <= len(cases)
    events = CaseEvent.objects.filter(kind="escalate")
    assert events.count() == len(cases) == events.values("case").distinct().count()
    assert set(Case.objects.values_list("escalation_level", flat=True)) == {1}
    assert set(events.values_list("unit__name", flat=True)) == {"河滨社区"}
