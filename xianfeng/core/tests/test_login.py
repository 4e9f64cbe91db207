import pytest
from django.contrib.auth.hashers import identify_hasher
from django.test import Client, override_settings

from xianfeng.core.models import AuditEvent, LoginFailure
from xianfeng.core.testing import PASSWORD

pytestmark = pytest.mark.django_db


def test_correct_password_signs_in(world):
    c = Client()
    r = c.post("/accounts/login/", {"username": "hebin_secretary", "password": PASSWORD})
    assert r.status_code == 302
    assert c.get("/").status_code == 200


def test_repeated_failures_lock_the_username_out_even_with_the_right_password(world):
    c = Client()
    for _ in range(5):
        r = c.post("/accounts/login/", {"username": "hebin_secretary", "password": "wrong"})
        assert r.status_code == 200
    r = c.post("/accounts/login/", {"username": "hebin_secretary", "password": PASSWORD})
    assert r.status_code == 429
    assert "_auth_user_id" not in c.session
    assert LoginFailure.objects.filter(username="hebin_secretary").count() == 5
    assert AuditEvent.objects.filter(action="login_failed").count() == 5
    # another user from another address is not affected
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.post("/accounts/login/", {"username": "wuyuan_admin", "password": PASSWORD}).status_code == 302


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.Argon2PasswordHasher"])
def test_passwords_are_hashed_with_argon2(world):
    user = world.hebin_secretary
    user.set_password("another-pass-456")
    assert identify_hasher(user.password).algorithm == "argon2"


def test_anonymous_is_sent_to_sign_in(client):
    r = client.get("/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_health_check(client, db):
    assert client.get("/healthz").content == b"ok"


@pytest.mark.parametrize("url", ["/accounts/login/", "/orgs/members/"])
def test_a_nul_character_is_refused_with_400_not_500(client_for, url):
    c = client_for("county_admin")
    assert c.get(url, {"q": "a\x00b"}).status_code == 400
    assert Client().post("/accounts/login/", {"username": "x\x00", "password": "y"}).status_code == 400
    assert LoginFailure.objects.count() == 0
