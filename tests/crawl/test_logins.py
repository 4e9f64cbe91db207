"""Every login of the demo county signs in with the documented password (README, `xianfeng demo`'s list)."""

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.urls import reverse

from xianfeng.core.demo import DEMO_PASSWORD
from xianfeng.core.management.commands.demo import LOGINS

pytestmark = [pytest.mark.crawl, pytest.mark.django_db]


@pytest.fixture
def real_hashers(settings):
    """The demo's hashes are the product's (Argon2), not the suite's fast MD5."""
    from xianfeng import settings as project

    settings.PASSWORD_HASHERS = project.PASSWORD_HASHERS


@pytest.mark.parametrize("username", [u for u, _ in LOGINS])
def test_documented_login_signs_in_through_the_form(username, demo_county, real_hashers):
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home"), username
    assert client.get(reverse("home")).context["user"].username == username


def test_every_other_demo_user_has_the_demo_password(demo_county, real_hashers):
    """Raters, voters, grid workers, duty officers, volunteers…: all sign in with the same password."""
    from xianfeng.orgs.models import User

    hashes = dict(User.objects.values_list("password", "username").order_by("password", "username").distinct())
    refused = sorted(name for password, name in hashes.items() if not check_password(DEMO_PASSWORD, password))
    assert not refused, f"cannot sign in with {DEMO_PASSWORD}: {refused} (and every user sharing their hash)"
    voter = User.objects.filter(username__startswith="voter_").order_by("id").first()
    assert voter is not None
    client = Client()
    assert client.post(reverse("login"), {"username": voter.username, "password": DEMO_PASSWORD}).status_code == 302
