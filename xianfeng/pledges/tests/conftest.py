import pytest

from ..views import BOARD_PAGES


@pytest.fixture(autouse=True)
def _fresh_board_pages():
    """Board pages are cached per process under the board's version; tests that rebuild the database start empty."""
    BOARD_PAGES.clear()
    yield
    BOARD_PAGES.clear()
