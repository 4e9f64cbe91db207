"""Fixtures shared by every test: the personas' county, HTTP clients signed in as each persona."""

import os

import pytest
from django.db import connection

from xianfeng.core.testing import build_county


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.PORTAL_FRONT_CACHE_SECONDS = 0  # each test sees the front page of its own data (a test sets it to test it)


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
