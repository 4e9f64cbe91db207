"""The editing services: campaign_update, deliverable_add, award_round_create's category rules, follow-up owners, and
the vote's refusals (why a vote was not inserted)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from xianfeng.campaigns import services
from xianfeng.campaigns.models import AwardRound, Campaign, Vote
from xianfeng.core.models import AuditEvent

from .factories import make_campaign, make_round

pytestmark = pytest.mark.django_db


def test_campaign_update_keeps_deliverables_inside_and_audits_the_change(world):
    campaign = make_campaign(world)
    services.campaign_update(campaign=campaign, name="改名", description="新说明", actor=None)
    row = AuditEvent.objects.filter(model="campaigns.Campaign", action="update").get()
    assert row.after == {"name": "改名", "description": "新说明"}
    with pytest.raises(ValidationError) as info:
        today = timezone.localdate()  # the lessons were due yesterday: the campaign cannot start today
        services.campaign_update(campaign=campaign, start=today, implement_from=today, actor=None)
    assert "end" in info.value.message_dict
    with pytest.raises(ValidationError):
        services.campaign_update(campaign=campaign, org=world.qinshan, actor=None)
    with pytest.raises(ValidationError):
        services.campaign_update(campaign=campaign, name="  ", actor=None)
    assert Campaign.objects.get().name == "改名"


def test_deliverable_add_refuses_duplicates_bad_kinds_and_closed_campaigns(world):
    campaign = make_campaign(world)
    due = campaign.end - dt.timedelta(days=1)
    item = services.deliverable_add(campaign=campaign, code="posts", name="先锋岗", org_kinds=["village"], due=due, actor=None)
    assert item.order > campaign.deliverables.get(code="lessons").order
    for kwargs, field in (({"code": "posts"}, "code"), ({"code": "x1", "org_kinds": ["planet"]}, "deliverables"),
                          ({"code": "x2", "due": campaign.end + dt.timedelta(days=1)}, "deliverables"),
                          ({"code": "Bad Code"}, "deliverables")):
        values = {"name": "任务", "org_kinds": ["village"], "due": due, **kwargs}
        with pytest.raises(ValidationError) as info:
            services.deliverable_add(campaign=campaign, **values, actor=None)
        assert field in info.value.message_dict, kwargs
    for _ in range(3):
        services.campaign_advance(campaign=campaign, actor=None)
    campaign.refresh_from_db()
    with pytest.raises(ValidationError):
        services.deliverable_add(campaign=campaign, code="late", name="x", org_kinds=["village"], due=due, actor=None)


def test_campaign_create_refuses_duplicate_deliverable_codes(world):
    today = timezone.localdate()
    with pytest.raises(ValidationError):
        services.campaign_create(name="x", org=world.county, start=today, implement_from=today, evaluate_from=today,
                                 end=today + dt.timedelta(days=9),
                                 deliverables=[{"code": "a", "name": "一", "org_kinds": ["village"], "due": today}] * 2, actor=None)
    assert not Campaign.objects.exists()


def test_award_round_categories_are_checked(world):
    now = timezone.now()
    kwargs = {"org": world.county, "name": "评创", "vote_start": now, "vote_end": now + dt.timedelta(days=1)}
    for categories, field in (([], "categories"), ([("a", "甲", "member", 0)], "categories"),
                              ([("a", "甲", "alien", 1)], "categories"), ([("a b", "甲", "member", 1)], "categories"),
                              ([("a", "甲", "member", 1), ("a", "乙", "member", 1)], "categories")):
        with pytest.raises(ValidationError) as info:
            services.award_round_create(categories=categories, **kwargs, actor=None)
        assert field in info.value.message_dict, categories
    for extra, field in (({"publicity_days": 0}, "publicity_days"), ({"votes_per_ip_per_hour": -1},
                                                                     "votes_per_ip_per_hour")):
        with pytest.raises(ValidationError) as info:
            services.award_round_create(**kwargs, **extra, actor=None)
        assert field in info.value.message_dict
    assert not AwardRound.objects.exists()


def test_follow_up_owner_must_be_inside_the_meeting_organisation(world):
    meeting = services.meeting_record(org=world.wuyuan, kind="leading_group", date=timezone.localdate(), title="会", actor=None)
    with pytest.raises(ValidationError) as info:
        services.follow_up_create(meeting=meeting, org=world.qinshan, text="x", due=timezone.localdate(), actor=None)
    assert "org" in info.value.message_dict


def test_refused_votes_say_why_and_store_nothing(world):
    award, cats, noms = make_round(world)
    with pytest.raises(services.VoteRefused):
        services.vote_cast(nomination=noms["a"], user=world.hebin_secretary)  # staff, not a resident
    award.votes_per_ip_per_hour = 1
    award.save()
    services.vote_cast(nomination=noms["a"], user=world.resident, ip="10.9.9.9")
    with pytest.raises(services.AlreadyVoted):
        services.vote_cast(nomination=noms["b"], user=world.resident, ip="10.9.9.8")
    from xianfeng.core.testing import make_user
    from xianfeng.orgs.models import Role

    other = make_user("resident_2", Role.Kind.RESIDENT, world.hebin)
    with pytest.raises(services.RateLimited):
        services.vote_cast(nomination=noms["org"], user=other, ip="10.9.9.9")
    vote = services.vote_cast(nomination=noms["org"], user=other, ip="10.9.9.7")
    assert Vote.objects.count() == 2 and Vote.objects.get(pk=vote.pk).ip == "10.9.9.7"
    assert AuditEvent.objects.filter(model="campaigns.Vote", object_id=str(vote.pk), actor=other).exists()


def test_a_vote_is_two_inserts_and_a_second_vote_one_more_read(world, django_assert_num_queries):
    """On SQLite: the vote and its audit row inside a savepoint. On PostgreSQL: one prepared statement on the
    driver's connection (which Django's query log does not see), and the read that says why for a refused one."""
    from django.db import connection

    award, cats, noms = make_round(world)
    pg = connection.vendor == "postgresql"
    with django_assert_num_queries(0 if pg else 4):  # SAVEPOINT, INSERT … SELECT vote, INSERT audit, RELEASE
        services.vote_cast(nomination=noms["a"], user=world.resident, ip="10.0.0.1")
    with django_assert_num_queries(1 if pg else 4), pytest.raises(services.AlreadyVoted):
        services.vote_cast(nomination=noms["b"], user=world.resident, ip="10.0.0.1")
    assert AuditEvent.objects.filter(model="campaigns.Vote").count() == 1
