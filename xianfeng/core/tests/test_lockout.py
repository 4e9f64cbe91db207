"""Sign-in lockout (core/throttle.py) through both doors: the sign-in page and the API token endpoint."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from xianfeng.core.models import AuditEvent, LoginFailure
from xianfeng.core.testing import PASSWORD
from xianfeng.core.throttle import client_ip, lock_seconds

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"
PAGE, API = "/accounts/login/", "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()  # DRF's per-address rate limit of the token endpoint lives in the cache
    yield
    cache.clear()


def attempt(door: str, username: str, password: str, ip: str = ATTACKER, **headers) -> int:
    """One sign-in through `door`; 'ok' is a session sign-in (302) or a token (200)."""
    cache.clear()  # only the database throttle is under test here, not DRF's per-minute rate
    client = Client(REMOTE_ADDR=ip, **headers)
    response = client.post(door, {"username": username, "password": password})
    if door == PAGE and response.status_code == 302:
        return 200
    return response.status_code


both_doors = pytest.mark.parametrize("door", [PAGE, API])
WRONG = {PAGE: 200, API: 400}  # a wrong password: the page shows the form again, the API answers 400


@both_doors
def test_twenty_made_up_usernames_from_one_address_do_not_lock_a_real_user_out(world, door):
    for i in range(20):
        assert attempt(door, f"nobody{i}", "guess-guess") in (WRONG[door], 429)
    assert attempt(door, "nobody-more", "guess-guess") == 429  # the address is locked for failures
    # a real user behind the same address (the county's NAT, or the proxy) still signs in
    assert attempt(door, "hebin_secretary", PASSWORD) == 200
    # and from the locked address a real name with a wrong password is answered like a made-up one: no oracle
    assert attempt(door, "wuyuan_admin", "wrong-wrong") == 429
    assert attempt(door, "wuyuan_admin", PASSWORD) == 200
    assert AuditEvent.objects.filter(action="login_failed").count() == 22


@both_doors
def test_a_real_users_failures_lock_that_username_with_growing_delays_but_not_others(world, door, settings):
    limit, first = settings.LOGIN_MAX_FAILURES, settings.LOGIN_LOCKOUT_SECONDS
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(limit):
            assert attempt(door, "hebin_secretary", "wrong-wrong") == WRONG[door]
        assert attempt(door, "hebin_secretary", PASSWORD) == 429  # locked even with the right password
        assert attempt(door, "wuyuan_admin", PASSWORD) == 200  # from the same address: others are not locked
        assert attempt(door, "hebin_secretary", PASSWORD, ip="198.51.100.1") == 429  # the lock is the username's
        clock.shift(dt.timedelta(seconds=first - 5))
        assert attempt(door, "hebin_secretary", PASSWORD) == 429
        clock.shift(dt.timedelta(seconds=10))
        # the first lock is over; one more failure locks for twice as long
        assert attempt(door, "hebin_secretary", "wrong-wrong") == WRONG[door]
        clock.shift(dt.timedelta(seconds=first + 10))
        assert attempt(door, "hebin_secretary", PASSWORD) == 429
        clock.shift(dt.timedelta(seconds=first))
        # after the doubled delay the right password signs in and ends the run of failures
        assert attempt(door, "hebin_secretary", PASSWORD) == 200
        assert not LoginFailure.objects.filter(username="hebin_secretary").exists()
        assert attempt(door, "hebin_secretary", "wrong-wrong") == WRONG[door]
    assert AuditEvent.objects.filter(action="login_failed", object_id="hebin_secretary").count() == limit + 2


def test_the_delay_doubles_per_failure_up_to_the_cap(settings):
    settings.LOGIN_MAX_FAILURES, settings.LOGIN_LOCKOUT_SECONDS, settings.LOGIN_LOCKOUT_MAX_SECONDS = 5, 900, 86400
    assert [lock_seconds(n) for n in range(4, 11)] == [0, 900, 1800, 3600, 7200, 14400, 28800]
    assert lock_seconds(50) == 86400


@both_doors
def test_the_locked_answer_says_how_long_to_wait(world, door):
    for _ in range(5):
        attempt(door, "hebin_secretary", "wrong-wrong")
    response = Client(REMOTE_ADDR=ATTACKER).post(door, {"username": "hebin_secretary", "password": PASSWORD})
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 900


@both_doors
def test_a_failed_sign_in_costs_a_fixed_number_of_queries(world, door, django_assert_max_num_queries):
    for i in range(30):
        attempt(door, f"nobody{i % 3}", "guess-guess", ip=f"198.51.100.{i}")
    with django_assert_max_num_queries(6):  # lock check, user, failure row, audit row, prune, address check
        assert attempt(door, "hebin_secretary", "wrong-wrong") == WRONG[door]


# ---- the client address behind trusted proxies ------------------------------------------------------------------


@pytest.mark.parametrize("hops, forwarded, remote, expected", [
    (0, "1.1.1.1", "10.0.0.2", "10.0.0.2"),  # no proxy trusted: the header is ignored
    (1, "", "10.0.0.2", "10.0.0.2"),  # trusted proxy but no header: the peer
    (1, "198.51.100.4", "10.0.0.2", "198.51.100.4"),  # nginx appended the client
    (1, "6.6.6.6, 198.51.100.4", "10.0.0.2", "198.51.100.4"),  # a spoofed entry left of what nginx wrote
    (2, "6.6.6.6, 198.51.100.4, 10.0.0.9", "10.0.0.2", "198.51.100.4"),  # two proxies
    (1, "6.6.6.6, not-an-address", "10.0.0.2", "10.0.0.2"),  # garbage where the proxy should have written
    (3, "198.51.100.4", "10.0.0.2", "198.51.100.4"),  # fewer hops than configured: the farthest seen
    (1, "6.6.6.6, 198.51.100.4:51234", "10.0.0.2", "198.51.100.4"),  # a proxy that writes the port
    (1, "[2001:db8::7]:443", "10.0.0.2", "2001:db8::7"),
    (1, "2001:db8::8", "10.0.0.2", "2001:db8::8"),
])
def test_the_client_address_is_read_from_the_right_through_trusted_proxies(settings, hops, forwarded, remote,
                                                                          expected):
    settings.TRUSTED_PROXY_COUNT = hops
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@both_doors
def test_spoofed_forwarded_addresses_beyond_the_trusted_proxy_do_not_escape_the_address_lock(world, door):
    with override_settings(TRUSTED_PROXY_COUNT=1):
        for i in range(20):
            attempt(door, f"nobody{i}", "guess-guess", ip="10.0.0.2",
                    HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, {ATTACKER}")
        assert set(LoginFailure.objects.values_list("ip", flat=True)) == {ATTACKER}
        assert attempt(door, "nobody-more", "x-x-x-x", ip="10.0.0.2",
                       HTTP_X_FORWARDED_FOR=f"192.0.2.200, {ATTACKER}") == 429
        # another resident behind the same nginx is a different client
        assert attempt(door, "nobody-else", "x-x-x-x", ip="10.0.0.2",
                       HTTP_X_FORWARDED_FOR="198.51.100.20") == WRONG[door]


def test_the_token_endpoints_rate_limit_reads_the_address_through_the_trusted_proxy(world):
    from rest_framework.test import APIClient

    with override_settings(TRUSTED_PROXY_COUNT=1, REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}):
        client = APIClient(REMOTE_ADDR="10.0.0.2")
        body = {"username": "hebin_secretary", "password": PASSWORD}
        statuses = [client.post(API, body, format="json", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, {ATTACKER}").status_code
                    for i in range(11)]
    assert statuses[-1] == 429  # a new spoofed entry each time does not make a new client


# ---- lifting a lock -----------------------------------------------------------------------------------------------


def lock_out(door=PAGE):
    for _ in range(5):
        attempt(door, "hebin_secretary", "wrong-wrong")
    for i in range(20):
        attempt(door, f"nobody{i}", "guess-guess")


def test_the_county_admin_sees_the_locks_and_lifts_one_and_the_audit_keeps_every_failure(world, client_for):
    lock_out()
    admin = client_for("county_admin")
    page = admin.get("/accounts/locks/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "hebin_secretary" in text and ATTACKER in text and "登录锁定" in text and "解除" in text
    response = admin.post("/accounts/locks/lift/", {"kind": "username", "value": "hebin_secretary"})
    assert response.status_code == 302
    assert attempt(PAGE, "hebin_secretary", PASSWORD, ip="198.51.100.1") == 200
    assert AuditEvent.objects.filter(action="login_failed", object_id="hebin_secretary").count() == 5
    lifted = AuditEvent.objects.get(action="delete", model="core.LoginFailure", object_id="hebin_secretary")
    assert lifted.actor == world.county_admin
    # the address too
    assert attempt(PAGE, "nobody-more", "guess-guess") == 429
    admin.post("/accounts/locks/lift/", {"kind": "address", "value": ATTACKER})
    assert attempt(PAGE, "nobody-more", "guess-guess") == 200
    assert "hebin_secretary" not in admin.get("/accounts/locks/").content.decode()


def test_the_token_endpoint_is_free_again_after_the_lift(world, client_for):
    lock_out(API)
    assert attempt(API, "hebin_secretary", PASSWORD, ip="198.51.100.1") == 429
    client_for("county_admin").post("/accounts/locks/lift/", {"kind": "username", "value": "hebin_secretary"})
    assert attempt(API, "hebin_secretary", PASSWORD, ip="198.51.100.1") == 200


@pytest.mark.parametrize("persona", ["wuyuan_admin", "hebin_secretary", "member", "inspector"])
def test_only_a_county_administrator_may_see_or_lift_locks(world, client_for, persona):
    lock_out()
    c = client_for(persona)
    assert c.get("/accounts/locks/").status_code == 404
    assert c.post("/accounts/locks/lift/", {"kind": "username", "value": "hebin_secretary"}).status_code == 404
    assert LoginFailure.objects.filter(username="hebin_secretary").count() == 5


@pytest.mark.parametrize("data", [{}, {"kind": "username", "value": "nobody-locked"}, {"kind": "rocket", "value": "x"},
                                  {"kind": "address", "value": "not-an-ip"}, {"kind": "username", "value": "\x00"}])
def test_a_bad_lift_is_a_clear_message_and_changes_nothing(world, client_for, data):
    lock_out()
    before = LoginFailure.objects.count()
    response = client_for("county_admin").post("/accounts/locks/lift/", data, follow=True)
    assert response.status_code in (200, 400)
    assert LoginFailure.objects.count() == before
    assert not AuditEvent.objects.filter(model="core.LoginFailure").exists()
