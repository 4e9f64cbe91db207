"""The public board: correct at once after every pledge write, cheap for anonymous visitors, conditional GETs."""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from xianfeng.core.testing import make_member, make_user, race
from xianfeng.orgs.models import Organisation, Role

from .. import services
from ..models import BoardStamp
from .factories import items, make_round, published


def board(org, **params):
    return Client().get(reverse("pledges:board", args=[org.pk]), params)


def test_a_change_shows_at_once_on_the_board_and_its_ancestors(world):
    pledge = published(world)
    for org in (world.hebin_branch, world.hebin, world.wuyuan, world.county):
        assert 'aria-valuenow="0"' in board(org).content.decode()
    services.milestone_record(pledge=pledge, percent=60, text="已送3户", actor=world.member)
    for org in (world.hebin_branch, world.hebin, world.wuyuan, world.county):
        html = board(org).content.decode()
        assert 'aria-valuenow="60"' in html and "践诺中" in html, org
    assert "张建国" not in board(world.qinshan).content.decode()
    services.pledge_not_fulfilled(pledge=pledge, explanation="老人搬走，无法继续", actor=world.hebin_secretary)
    assert "未践诺" in board(world.county).content.decode()


def test_a_newly_published_pledge_appears_at_once(world):
    pledge_round = make_round(world)
    member = make_member("钱伟", world.hebin_branch)
    user = make_user("qian", Role.Kind.MEMBER, world.hebin_branch, person=member.person)
    pledge = services.pledge_create(round=pledge_round, member=member, items=items(), actor=user)
    services.pledge_submit(pledge=pledge, actor=user)
    services.pledge_approve(pledge=pledge, actor=world.hebin_secretary)
    assert "钱伟" not in board(world.county).content.decode()
    services.pledge_publish(pledge=pledge, actor=world.hebin_secretary)
    assert "钱伟" in board(world.county).content.decode()


def test_anonymous_board_sets_no_cookie_has_no_form_and_answers_304(world, django_assert_max_num_queries):
    pledge = published(world)
    client = Client()
    url = reverse("pledges:board", args=[world.hebin.pk])
    first = client.get(url)
    html = first.content.decode()
    assert first.status_code == 200 and not first.cookies and "csrfmiddlewaretoken" not in html
    assert "Cookie" in first["Vary"] and first["ETag"].startswith('W/"')
    with django_assert_max_num_queries(2):  # the organisation and the board's version; the page from the cache
        assert client.get(url).content == first.content
    with django_assert_max_num_queries(2):
        assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    services.milestone_record(pledge=pledge, percent=30, text="已送1户", actor=world.member)
    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200 and again["ETag"] != first["ETag"]


def test_signed_in_visitor_gets_the_menu_and_the_same_list(world, client_for):
    published(world)
    html = client_for("member").get(reverse("pledges:board", args=[world.hebin.pk])).content.decode()
    assert 'data-testid="current-user"' in html and "张建国" in html
    assert 'data-testid="current-user"' not in board(world.hebin).content.decode()


def test_pages_do_not_carry_another_visitors_query_parameters(world):
    published(world)
    board(world.hebin, q="低保", evil="injected-param")
    html = board(world.hebin, q="低保").content.decode()
    assert "injected-param" not in html and "张建国" in html


@pytest.mark.parametrize("org_id", [999999, 2**63, 10**30])
def test_missing_organisation_board_is_404(world, org_id):
    assert Client().get(f"/pledges/board/{org_id}/").status_code == 404
    assert Client().get(f"/pledges/board/{org_id}/poster/").status_code == 404


def test_inactive_organisation_board_is_404(world):
    Organisation.objects.filter(pk=world.hebin.pk).update(is_active=False)
    assert board(world.hebin).status_code == 404


def test_language_switch_remembers_the_choice_and_stays_on_the_site(world):
    url = reverse("pledges:language")
    back = reverse("pledges:board", args=[world.hebin.pk])
    response = Client().get(url, {"language": "en", "next": back})
    assert response.status_code == 302 and response["Location"] == back and response.cookies["django_language"].value == "en"
    response = Client().get(url, {"language": "xx", "next": "https://evil.example/"})
    assert response["Location"] == "/" and "django_language" not in response.cookies
    english = Client(HTTP_COOKIE="django_language=en").get(back).content.decode()
    assert "pledge board" in english


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_writes_each_count(postgres_only, world):
    """Eight transactions bump a new organisation's counter at once: the version counts all eight (PostgreSQL)."""

    def work(i):
        with transaction.atomic():
            services.board_touch(world.qinshan_branch.pk)

    assert [r for r in race(8, work) if r is not None] == []
    assert BoardStamp.objects.get(org=world.qinshan_branch).version == 8
    assert services.board_version(world.qinshan.path) == (8, 1)
