"""The registered per-organisation rates roll each call up the tree and count unanswered calls as misses."""

import datetime as dt

from xianfeng.care import services
from xianfeng.core.rates import org_rates

from .conftest import T0, press


def test_ack_within_60_and_180_seconds_per_subtree(care):
    w = care.world
    for i, wait in enumerate([20, 100, None]):
        alert = press(care.device, f"r{i}", now=T0 + dt.timedelta(minutes=i)).alert
        if wait is not None:
            services.alert_acknowledge(alert=alert, actor=care.volunteer, now=alert.raised_at + dt.timedelta(seconds=wait))
    rates = org_rates()
    orgs = [w.county, w.wuyuan, w.hebin, w.qinshan]
    assert rates["care.ack_60s"].compute(orgs) == {w.county.pk: (1, 3), w.wuyuan.pk: (1, 3), w.hebin.pk: (1, 3)}
    assert rates["care.ack_180s"].compute(orgs)[w.hebin.pk] == (2, 3)
    assert rates["care.ack_60s"].compute(orgs, start=dt.date(2027, 1, 1)) == {}
