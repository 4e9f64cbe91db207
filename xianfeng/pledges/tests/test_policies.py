"""The pledge policy: its scope (the rows, for lists and restrict()) and allows() (one object) agree, for every
persona and every action of its own; the member always sees their own pledge; parts follow their pledge."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from xianfeng.core.policy import allows, policy_for, visible
from xianfeng.core.testing import make_user
from xianfeng.orgs.models import Role

from .. import services
from ..models import Photo, Pledge, PledgeItem
from ..policies import OWN, PEER, REVIEW
from .factories import draft, items, make_round, published

pytestmark = pytest.mark.django_db

ACTIONS = ("view", "change", "export", OWN, REVIEW, PEER)


def _personas(world):
    colleague = make_user("colleague", Role.Kind.MEMBER, world.hebin_branch, person=world.members["hebin_b"].person)
    outsider = make_user("outsider", Role.Kind.MEMBER, world.qinshan_branch,
                         person=world.members["qinshan_a"].person)
    return {"anonymous": AnonymousUser(), "member": world.member, "colleague": colleague, "outsider": outsider,
            **{name: world.users[name] for name in ("hebin_secretary", "qinshan_secretary", "wuyuan_admin",
                                                     "county_admin", "inspector")}}


def test_scope_and_allows_agree_for_every_persona_and_action(world):
    pledge_round = make_round(world)
    member_pledge = published(world, pledge_round)
    org_pledge = services.pledge_create(round=pledge_round, org=world.hebin_branch, items=items(),
                                        actor=world.hebin_secretary)
    policy = policy_for(Pledge)
    wrong = []
    for name, user in _personas(world).items():
        for action in ACTIONS:
            rows = set(visible(Pledge, user, action).values_list("pk", flat=True))
            for pledge in (member_pledge, org_pledge):
                if (pledge.pk in rows) != policy.allows(user, action, pledge):
                    wrong.append(f"{name} {action} {pledge}")
    assert not wrong


def test_who_may_do_what(world):
    pledge = published(world)
    people = _personas(world)
    assert allows(people["member"], "view", pledge) and allows(people["member"], OWN, pledge)
    assert not allows(people["member"], REVIEW, pledge)
    assert allows(people["hebin_secretary"], REVIEW, pledge) and not allows(people["hebin_secretary"], OWN, pledge)
    assert not allows(people["qinshan_secretary"], "view", pledge)
    assert allows(people["colleague"], PEER, pledge) and not allows(people["colleague"], "view", pledge)
    assert not allows(people["outsider"], PEER, pledge)
    assert not allows(people["anonymous"], "view", pledge)


def test_items_and_photos_follow_their_pledge(world):
    pledge = draft(world)
    people = _personas(world)
    assert list(visible(PledgeItem, people["member"])) == list(pledge.items.all())
    assert not visible(PledgeItem, people["qinshan_secretary"]).exists()
    photo = Photo.objects.create(pledge=pledge, image="pledges/x.jpg")
    assert not allows(people["anonymous"], "view", photo)  # a draft's photo is not public
    pledge = published(world, make_round(world, name="第二批"))
    public_photo = Photo.objects.create(pledge=pledge, image="pledges/y.jpg")
    assert allows(people["anonymous"], "view", public_photo)
    assert list(visible(Photo, people["anonymous"])) == [public_photo]
