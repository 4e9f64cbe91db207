"""Races the database decides: one vote per resident per category, with real concurrent clients on PostgreSQL."""

import pytest

from xianfeng.campaigns import services
from xianfeng.campaigns.models import Vote
from xianfeng.core.models import AuditEvent
from xianfeng.core.testing import make_user, race
from xianfeng.orgs.models import Role

from .factories import make_round

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_vote_per_person_per_category_under_concurrent_posting(postgres_only, world):
    award, cats, noms = make_round(world)
    choices = [noms["a"], noms["b"]]
    outcomes = race(8, lambda i: services.vote_cast(nomination=choices[i % 2], user=world.resident,
                                                    ip=f"10.1.0.{i}"))
    won = [o for o in outcomes if isinstance(o, Vote)]
    lost = [o for o in outcomes if isinstance(o, services.AlreadyVoted)]
    assert len(won) == 1 and len(lost) == 7, outcomes
    assert Vote.objects.filter(category=cats["innovation"]).count() == 1
    assert AuditEvent.objects.filter(model="campaigns.Vote").count() == 1  # the winner's audit row, no other


def test_many_residents_voting_at_once_lose_no_vote(postgres_only, world):
    award, cats, noms = make_round(world)
    voters = [make_user(f"resident_{i}", Role.Kind.RESIDENT, world.hebin) for i in range(12)]
    outcomes = race(12, lambda i: services.vote_cast(nomination=noms["a" if i % 3 else "b"], user=voters[i]))
    assert all(isinstance(o, Vote) for o in outcomes), outcomes
    assert Vote.objects.filter(nomination=noms["a"]).count() == 8
    assert Vote.objects.filter(nomination=noms["b"]).count() == 4
    assert sorted(o.pk for o in outcomes) == sorted(Vote.objects.values_list("pk", flat=True))
