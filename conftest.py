"""Fixtures shared by every test: the personas' county, HTTP clients signed in as each persona, and the clock.

XIANFENG_TEST_NOW="2026-12-08T00:30:00+08:00" runs the whole session at that moment (the clock then runs on from
there), so tests that depend on the time of day can be run at the awkward hours on purpose.
"""

import datetime as dt
import os

import pytest
from django.db import connection

from xianfeng.core.testing import build_county


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.PORTAL_FRONT_CACHE_SECONDS = 0  # each test sees the front page of its own data (a test sets it to test it)


@pytest.fixture(autouse=True, scope="session")
def _test_clock():
    """Travel to XIANFENG_TEST_NOW (an ISO 8601 moment with its offset) for the whole session, if it is set."""
    raw = os.environ.get("XIANFENG_TEST_NOW", "").strip()
    if not raw:
        yield None
        return
    import time_machine

    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise pytest.UsageError(f"XIANFENG_TEST_NOW={raw!r} is not an ISO 8601 moment such as "
                                "2026-12-08T00:30:00+08:00") from None
    if moment.tzinfo is None:
        raise pytest.UsageError(f"XIANFENG_TEST_NOW={raw!r} needs its UTC offset, e.g. +08:00")
    with time_machine.travel(moment, tick=True) as traveller:
        yield traveller


@pytest.fixture
def world(db):
    """The test county (see xianfeng.core.testing)."""
    return build_county()


@pytest.fixture
def client_for(client, world):
    """client_for("hebin_secretary") → a Django test client signed in as that persona."""
    from django.test import Client

    def make(persona: str) -> Client:
        c = Client()
        c.force_login(world.users[persona])
        return c

    return make


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def postgres_only():
    if not is_postgres():
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://… (make test-pg)")


os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
