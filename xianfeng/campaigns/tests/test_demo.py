"""The demo step builds the report's campaign figures (on a small county: the foundation at 3 % of its scale)."""

import pytest
from django.db.models import Count

from xianfeng.campaigns.demo import build_campaigns
from xianfeng.campaigns.models import (
    Advisor,
    AdvisorBatch,
    AdvisorLog,
    AwardRound,
    Bulletin,
    CampaignPlan,
    Drive,
    DualBrandEvaluation,
    FollowUp,
    Meeting,
    Nomination,
    Venture,
    Vote,
)
from xianfeng.campaigns.selectors import progress_matrix
from xianfeng.core.demo import DemoContext
from xianfeng.orgs.demo import build_foundation
from xianfeng.orgs.models import ContactPoint, Organisation


@pytest.mark.django_db
def test_demo_step_has_the_reports_figures():
    ctx = DemoContext(seed=2010, scale=0.03, log=lambda s: None)
    build_foundation(ctx)
    build_campaigns(ctx)
    assert Meeting.objects.count() == 7
    assert FollowUp.objects.filter(meeting__isnull=False).count() == 21
    assert FollowUp.objects.filter(visit__isnull=False).exists()
    kinds = dict(ContactPoint.objects.values_list("kind").annotate(n=Count("id")))
    assert kinds == {"department": 26, "town": 8, "village": 24, "enterprise": 25}
    assert Organisation.objects.filter(contact_points__isnull=False, latitude__isnull=False).distinct().count() == 83
    assert AdvisorBatch.objects.count() == 2 and Advisor.objects.count() == 30
    assert sorted(AdvisorBatch.objects.annotate(n=Count("advisors")).values_list("n", flat=True)) == [12, 18]
    assert AdvisorLog.objects.count() > 30 and DualBrandEvaluation.objects.count() == 30
    for evaluation in DualBrandEvaluation.objects.all():  # each within its advisor's term, none before it began
        terms = [a.batch for a in evaluation.enterprise.advisors.select_related("batch")]
        assert any(b.start.year <= evaluation.year <= b.end.year for b in terms), evaluation
    venture = Venture.objects.get(name__contains="秦万芦荟")
    assert venture.org.name == "秦万村" and venture.org.parent.name == "秦山镇"
    first, last = venture.figures.first(), venture.figures.last()
    assert (first.members, first.area_mu) == (3, 8)
    assert venture.founders.count() == 3
    assert last.area_mu == 2530 and last.households >= 250 and 80_000 <= last.income_per_household_yuan <= 100_000
    assert venture.supports.filter(kind="grant", ledger_transaction__isnull=False).exists()
    drive = Drive.objects.get()
    assert drive.start.month == 6 and (drive.end - drive.start).days == 99
    award = AwardRound.objects.get()
    assert award.status == "published" and award.categories.count() == 10
    assert Nomination.objects.filter(status="awarded").exists() and Vote.objects.count() > 100
    matrix = progress_matrix(ctx.data["campaign"])
    assert len(matrix.rows) > 100 and matrix.laggards
    assert CampaignPlan.objects.filter(status="accepted").count() > 0.8 * CampaignPlan.objects.count()
    assert Bulletin.objects.filter(published_at__isnull=False).count() >= 10
