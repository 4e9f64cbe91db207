"""The care demo step on a small county: the report's fund, funds down the tree, cases with visits, 20 devices with
a year of alerts whose figures the pages show; the ledger stays consistent."""

import pytest

from xianfeng.care.demo import FUND_TOTAL_FEN, build_care
from xianfeng.care.figures import figures
from xianfeng.care.models import Alert, CareAction, CareCase, CareFund, Device, Disbursement
from xianfeng.core.demo import DemoContext
from xianfeng.ledger.models import Entry
from xianfeng.ledger.services import ledger_verify
from xianfeng.orgs.demo import build_foundation


@pytest.mark.django_db
def test_care_demo_step_builds_the_reports_care():
    ctx = DemoContext(seed=2010, scale=0.05, log=lambda s: None)
    build_foundation(ctx)
    build_care(ctx)
    county_fund = CareFund.objects.get(parent__isnull=True)
    assert Entry.objects.filter(account=county_fund.account, amount__gt=0).first().amount == FUND_TOTAL_FEN
    assert CareFund.objects.filter(org__kind="town").count() == 8
    assert CareFund.objects.filter(org__kind="enterprise").exists()
    assert CareCase.objects.count() >= 5 and CareAction.objects.count() > CareCase.objects.count()
    assert Disbursement.objects.filter(status="paid").exists()
    assert Device.objects.count() == 20
    f = figures(Alert.objects.all())
    assert f.calls >= 20 * 12 and f.outcomes["test"] >= 240 and f.outcomes["false_alarm"] > 0
    assert 0.7 < f.within_60.rate < 1 and f.within_180.rate > f.within_60.rate
    assert ledger_verify().ok
    assert ctx.users["hebin_duty"].check_password("demo12345")
