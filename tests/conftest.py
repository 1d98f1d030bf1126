"""Shared test configuration: anyio on asyncio by default."""

from __future__ import annotations

import os

import pytest

# LiteLLM 1.110 keeps aiohttp transports in module-level clients whose __del__ fails during
# interpreter shutdown (after aiohttp is torn down) and prints a TypeError after pytest's
# summary. Its httpx transport has no such problem and is what the tests' faults target.
os.environ.setdefault("DISABLE_AIOHTTP_TRANSPORT", "True")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
