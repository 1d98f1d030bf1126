"""Fixtures shared by the integration tests: a real redis-server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A throwaway ``redis-server`` (no persistence) for the session."""
    server = RedisServer()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
