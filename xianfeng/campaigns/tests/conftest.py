"""Fixtures of the campaigns tests."""

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api(world):
    """api(persona) → an API client signed in as that persona."""

    def make(persona):
        client = APIClient()
        client.force_authenticate(world.users[persona])
        return client

    return make
