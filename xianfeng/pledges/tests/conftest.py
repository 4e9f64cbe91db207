import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_board_cache():
    """The public board caches its list for a few seconds; each test starts without another test's pages."""
    cache.clear()
    yield
    cache.clear()
