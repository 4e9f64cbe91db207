"""Responsibility posts: who may define, see, claim, record and confirm; the cap; points; the public board."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from xianfeng.core.policy import NotAllowed, NotFound
from xianfeng.core.testing import make_member, make_person, make_user, race
from xianfeng.orgs import services as org_services
from xianfeng.orgs.models import Role
from xianfeng.points.models import Award
from xianfeng.posts import services
from xianfeng.posts.models import Holding, Post, PostService
from xianfeng.posts.services import PostConflict


def _post(world, capacity=2, **kw):
    return services.post_create(actor=world.hebin_secretary, org=world.hebin, name=kw.pop("name", "1—3幢责任区先锋岗"),
                                area="1—3幢", duties="走访独居老人\n收集问题", capacity=capacity, **kw)


@pytest.fixture
def resident(world):
    person = make_person("赵阿姨", gender="F", phone="13905730001")
    r = org_services.resident_create(person=person, org=world.hebin, address="3幢2单元101")
    user = make_user("zhao", Role.Kind.RESIDENT, world.hebin, person=person)
    return r, user


def test_secretary_defines_a_post_and_an_outsider_cannot(world):
    post = _post(world)
    assert post.duties == "走访独居老人\n收集问题" and post.holders_count == 0
    with pytest.raises(NotFound):
        services.post_create(actor=world.qinshan_secretary, org=world.hebin, name="x", area="y", duties="z",
                             capacity=1)
    with pytest.raises(ValidationError) as exc:
        services.post_create(actor=world.hebin_secretary, org=world.hebin_branch, name="", area="a", duties="d",
                             capacity=0)
    assert {"name", "capacity", "org"} <= set(exc.value.message_dict)
    assert Post.objects.count() == 1


def test_member_and_dual_managed_member_claim_until_full(world):
    post = _post(world, capacity=2)
    holding = services.post_claim(actor=world.member, post=post)
    assert holding.member == world.members["hebin_a"]
    # a member of a 秦山 village managed by 河滨 (一联双管) may claim too
    dual = world.members["qinshan_a"]
    org_services.member_set_managing_org(member=dual, org=world.hebin_branch, on=dt.date(2026, 5, 1))
    dual_user = make_user("dual", Role.Kind.MEMBER, world.hebin_branch, person=dual.person)
    services.post_claim(actor=dual_user, post=post)
    post.refresh_from_db()
    assert post.holders_count == 2
    third = make_member("孙强", world.hebin_branch)
    third_user = make_user("third", Role.Kind.MEMBER, world.hebin_branch, person=third.person)
    with pytest.raises(PostConflict):
        services.post_claim(actor=third_user, post=post)
    with pytest.raises(PostConflict):
        services.post_claim(actor=world.member, post=post)
    # leaving frees the place; the closed row stays as history
    services.holding_end(actor=world.member, holding=holding, reason="搬家")
    services.post_claim(actor=third_user, post=post)
    assert Holding.objects.filter(post=post).count() == 3
    assert Holding.objects.filter(post=post, ended_on__isnull=True).count() == 2


def test_outsider_member_cannot_claim_and_does_not_see_the_post(world):
    post = _post(world)
    outsider = make_user("qs_member", Role.Kind.MEMBER, world.qinshan_branch, person=world.members["qinshan_a"].person)
    with pytest.raises(NotFound):
        services.post_claim(actor=outsider, post=post)
    assert not Post.objects.restrict(outsider).exists()
    assert Post.objects.restrict(world.member).filter(pk=post.pk).exists()


def test_service_confirmed_by_the_resident_earns_points_once(world, resident):
    r, r_user = resident
    post = _post(world)
    holding = services.post_claim(actor=world.member, post=post)
    today = timezone.localdate()
    service = services.post_service_record(actor=world.member, holding=holding, served_on=today, minutes=90,
                                           notes="换灯泡，检查燃气。", resident=r)
    with pytest.raises(NotAllowed):
        services.post_service_record(actor=world.hebin_secretary, holding=holding, served_on=today, minutes=30,
                                     notes="x")
    with pytest.raises(NotAllowed):
        services.post_service_confirm(actor=world.member, service=service, rating="satisfied")
    services.post_service_confirm(actor=r_user, service=service, rating="satisfied", comment="谢谢！")
    service.refresh_from_db()
    assert service.status == PostService.Status.CONFIRMED and not service.on_behalf and service.points > 0
    assert Award.objects.filter(member=holding.member, source="post").count() == 1
    with pytest.raises(PostConflict):
        services.post_service_confirm(actor=world.hebin_secretary, service=service, rating="fair")
    assert Award.objects.filter(member=holding.member, source="post").count() == 1


def test_bad_service_input_changes_nothing(world, resident):
    r, _ = resident
    post = _post(world)
    holding = services.post_claim(actor=world.member, post=post)
    with pytest.raises(ValidationError) as exc:
        services.post_service_record(actor=world.member, holding=holding,
                                     served_on=timezone.localdate() + dt.timedelta(days=1), minutes=0, notes=" ")
    assert {"served_on", "minutes", "notes"} <= set(exc.value.message_dict)
    assert not PostService.objects.exists()


def test_pages_for_each_role(world, client_for, resident):
    r, r_user = resident
    post = _post(world)
    c = client_for("member")
    assert c.get("/posts/").status_code == 200
    assert c.post(f"/posts/{post.pk}/claim/").status_code == 302
    holding = Holding.objects.get(post=post)
    resp = c.post(f"/posts/{post.pk}/", {"served_on": timezone.localdate().isoformat(), "minutes": "60",
                                         "notes": "陪同就医：测血压", "resident": str(r.pk)})
    assert resp.status_code == 302, resp.content.decode()[:500]
    service = PostService.objects.get(holding=holding)
    assert service.notes == "陪同就医：测血压"
    from django.test import Client
    rc = Client()
    rc.force_login(r_user)
    page = rc.get("/posts/").content.decode()
    assert f"/posts/services/{service.pk}/" in page
    assert rc.post(f"/posts/services/{service.pk}/", {"rating": "satisfied"}).status_code == 302
    assert client_for("qinshan_secretary").get(f"/posts/{post.pk}/").status_code == 404
    assert client_for("qinshan_secretary").get(f"/posts/services/{service.pk}/").status_code == 404
    assert client_for("hebin_secretary").get(f"/posts/{post.pk}/").status_code == 200
    assert client_for("hebin_secretary").get("/posts/new/").status_code == 200
    board = Client().get(f"/posts/board/{world.hebin.pk}/").content.decode()
    assert "1—3幢责任区先锋岗" in board and "张建国" in board and "13805735678" not in board
    assert Client().get(f"/posts/board/{world.hebin_branch.pk}/").status_code == 404
    api = client_for("member").get("/api/v1/posts/").json()
    assert [p["id"] for p in api["results"]] == [post.pk]
    assert client_for("qinshan_secretary").get(f"/api/v1/posts/{post.pk}/").status_code == 404


def test_script_in_a_post_name_is_shown_as_text(world, client_for):
    _post(world, name="<script>alert(1)</script>")
    page = client_for("hebin_secretary").get("/posts/").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


@pytest.mark.django_db(transaction=True)
def test_last_place_goes_to_exactly_one_claim(world, postgres_only):
    post = _post(world, capacity=3)
    users = []
    for i in range(12):
        m = make_member(f"党员{i}", world.hebin_branch)
        users.append(make_user(f"m{i}", Role.Kind.MEMBER, world.hebin_branch, person=m.person))
    outcomes = race(len(users), lambda i: services.post_claim(actor=users[i], post=Post.objects.get(pk=post.pk)))
    winners = [o for o in outcomes if isinstance(o, Holding)]
    assert len(winners) == 3
    assert all(isinstance(o, (Holding, PostConflict)) for o in outcomes), outcomes
    post.refresh_from_db()
    assert post.holders_count == 3 == Holding.objects.filter(post=post, ended_on__isnull=True).count()
