"""Races the database decides: one vote per resident per category, with real concurrent clients on PostgreSQL."""

import threading

import pytest
from django.db import connection

from xianfeng.campaigns import services
from xianfeng.campaigns.models import Vote
from xianfeng.core.testing import make_user
from xianfeng.orgs.models import Role

from .factories import make_round

pytestmark = pytest.mark.django_db(transaction=True)


def _race(n: int, work) -> list:
    barrier = threading.Barrier(n)
    outcomes: list = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait()
            result = work(i)
        except Exception as exc:  # collected and asserted on below
            result = exc
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_one_vote_per_person_per_category_under_concurrent_posting(postgres_only, world):
    award, cats, noms = make_round(world)
    choices = [noms["a"], noms["b"]]
    outcomes = _race(8, lambda i: services.vote_cast(nomination=choices[i % 2], user=world.resident,
                                                     ip=f"10.1.0.{i}"))
    won = [o for o in outcomes if isinstance(o, Vote)]
    lost = [o for o in outcomes if isinstance(o, services.AlreadyVoted)]
    assert len(won) == 1 and len(lost) == 7, outcomes
    assert Vote.objects.filter(category=cats["innovation"]).count() == 1


def test_many_residents_voting_at_once_lose_no_vote(postgres_only, world):
    award, cats, noms = make_round(world)
    voters = [make_user(f"resident_{i}", Role.Kind.RESIDENT, world.hebin) for i in range(12)]
    outcomes = _race(12, lambda i: services.vote_cast(nomination=noms["a" if i % 3 else "b"], user=voters[i]))
    assert all(isinstance(o, Vote) for o in outcomes), outcomes
    assert Vote.objects.filter(nomination=noms["a"]).count() == 8
    assert Vote.objects.filter(nomination=noms["b"]).count() == 4
