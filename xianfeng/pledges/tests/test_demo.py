import pytest

from xianfeng.core.demo import DemoContext
from xianfeng.orgs.demo import build_foundation
from xianfeng.orgs.models import Member, Organisation

from ..demo import _statuses, build_pledges
from ..models import Pledge, PledgeEvent, Rating, Status, TemplateCluster


def test_full_scale_status_mix_gives_the_reports_fulfilled_count():
    statuses = _statuses(DemoContext(seed=2010), 20_400)
    assert len(statuses) == 20_400 and statuses.count(Status.FULFILLED) >= 9_300
    assert statuses.count(Status.DRAFT) < 300  # 20,000+ members have submitted pledges


@pytest.mark.django_db
def test_demo_step_builds_a_consistent_round_at_small_scale():
    ctx = DemoContext(seed=5, scale=0.02, log=lambda s: None)
    build_foundation(ctx)
    build_pledges(ctx)
    members = Member.objects.active().count()
    pledges = Pledge.objects.all()
    assert pledges.filter(member__isnull=False).count() == members
    assert pledges.filter(member__isnull=True).count() == Organisation.objects.party().count()
    assert pledges.fulfilled().count() >= 0.45 * members
    assert not pledges.filter(fulfilled_on__isnull=False).exclude(
        status__in=[Status.FULFILLED, Status.EVALUATED, Status.RECOGNISED, Status.CLOSED]).exists()
    # every pledge's history walks the services' transitions and ends at its status
    last = {}
    for pledge_id, to in PledgeEvent.objects.order_by("id").values_list("pledge_id", "to_status"):
        last[pledge_id] = to
    assert all(last[p.pk] == p.status for p in pledges)
    assert pledges.filter(status=Status.NOT_FULFILLED).exclude(explanation="").count() == pledges.filter(
        status=Status.NOT_FULFILLED).count()
    assert TemplateCluster.objects.exists() and pledges.filter(formulaic=True).exists()
    assert pledges.filter(formulaic=False).exclude(status=Status.DRAFT).exists()
    assert Rating.objects.exists() and pledges.filter(status__in=[Status.EVALUATED, Status.RECOGNISED]).exists()
    # the bulk insert counts as a change for every board that shows its pledges
    from ..models import BoardStamp
    from ..services import board_version

    county = Organisation.objects.get(depth=1)
    assert BoardStamp.objects.count() == pledges.values("org").distinct().count()
    assert board_version(county.path)[0] >= BoardStamp.objects.count()
