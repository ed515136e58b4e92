"""Fixtures shared by the page tests."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import free_port
from tests.redis_server import RedisServer


@pytest.fixture
def redis_url():
    """A throwaway Redis server of this test's own (production keeps tab state in Redis)."""
    server = RedisServer(free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
