"""The demo county's records look like the product's: each step has who and when, spread over the campaign."""

import datetime as dt

import pytest
from django.db.models.functions import TruncDate
from django.test import Client
from django.urls import reverse

from xianfeng.core.demo import DEMO_TODAY

pytestmark = [pytest.mark.crawl, pytest.mark.django_db]


def spread(qs, field: str) -> tuple[int, float]:
    """(distinct days, share of rows dated on or before the demo's today) of a queryset's moments."""
    days = list(qs.annotate(day=TruncDate(field)).values_list("day", flat=True))
    return len(set(days)), sum(d <= DEMO_TODAY for d in days) / len(days)


def test_pledge_history_names_who_took_each_step_over_the_campaign_months(demo_county):
    from xianfeng.orgs.models import User
    from xianfeng.pledges.models import PledgeEvent

    events = PledgeEvent.objects.all()
    assert events.count() > 100_000 and not events.filter(by__isnull=True).exists()
    days, before = spread(events, "at")
    assert days >= 150 and before > 0.99
    event = events.filter(action="审定通过", pledge__org__name__startswith="河滨社区").select_related("by").first()
    client = Client()
    client.force_login(User.objects.get(username="hebin_secretary"))
    html = client.get(reverse("pledges:detail", args=[event.pledge_id])).content.decode()
    assert f"审定通过 · {event.by.get_full_name() or event.by.username}" in html


def test_points_history_is_dated_when_points_were_earned_and_spent(demo_county):
    from xianfeng.ledger.models import Transaction

    postings = Transaction.objects.filter(kind__in=["points.award", "points.redeem"])
    days, before = spread(postings, "created_at")
    assert days >= 150 and before > 0.99
    redeemed_days, _ = spread(postings.filter(kind="points.redeem"), "created_at")
    assert redeemed_days >= 5


def test_award_round_ballots_are_cast_at_different_moments(demo_county):
    from xianfeng.campaigns.models import Vote

    moments = set(Vote.objects.values_list("at", flat=True))
    assert len(moments) > 50
    assert min(moments).date() >= DEMO_TODAY - dt.timedelta(days=120)
