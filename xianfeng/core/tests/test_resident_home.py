"""A resident's way in: their home page leads to 我要反映 and their pledge board, shows no member-only tile, and the
sign-in page a problem report leads to says what to type and how to register."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_resident_home_offers_report_and_pledge_board(world, client_for):
    html = client_for("resident").get(reverse("home")).content.decode()
    assert 'data-testid="resident-links"' in html
    assert f'href="{reverse("grids:report")}"' in html and "我要反映" in html
    assert f'href="{reverse("pledges:board", args=[world.hebin.pk])}"' in html


def test_member_only_tiles_are_hidden_from_residents_but_not_members(world, client_for):
    card = f'href="{reverse("points:card")}"'
    assert card not in client_for("resident").get(reverse("home")).content.decode()
    assert card in client_for("member").get(reverse("home")).content.decode()


def test_staff_get_no_resident_links(world, client_for):
    html = client_for("hebin_secretary").get(reverse("home")).content.decode()
    assert 'data-testid="resident-links"' not in html


def test_the_sign_in_page_a_report_leads_to_offers_registration(client):
    response = client.get(reverse("grids:report"))
    assert response.status_code == 302
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "手机号或用户名" in html
    signup = reverse("pledges:resident_signup")
    assert f'href="{signup}?next={reverse("grids:report")}"' in html
