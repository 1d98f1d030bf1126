"""Chaos-server fixtures and the adapter gate for the tests that go through l0."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from l0.adapters.registry import registered_adapters
from l0.chaos import ChaosServer


def needs_adapter(name: str) -> pytest.MarkDecorator:
    """Skip unless ``l0.adapters.registry`` has the provider adapter ``name``."""
    present = any(adapter.name == name for adapter in registered_adapters())
    return pytest.mark.skipif(
        not present,
        reason=f"l0.adapters.registry has no {name!r} adapter on this branch yet "
        "(it comes from the adapters branch); these tests run once it is merged",
    )


@pytest.fixture
async def chaos() -> AsyncIterator[ChaosServer]:
    """A chaos server in the test's event loop, with an empty plan (every answer ok)."""
    async with ChaosServer() as server:
        yield server
