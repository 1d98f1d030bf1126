"""Shared test configuration: anyio on asyncio by default."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# LiteLLM 1.110 keeps aiohttp transports in module-level clients whose __del__ fails during
# interpreter shutdown (after aiohttp is torn down) and prints a TypeError after pytest's
# summary. Its httpx transport has no such problem and is what the tests' faults target.
os.environ.setdefault("DISABLE_AIOHTTP_TRANSPORT", "True")
# LiteLLM fetches its model cost map from GitHub at import unless told otherwise: CI has no
# network beyond the package registries (a retried fetch cost ~10 s at the first import).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# No hypothesis deadline by default: a loaded CI runner makes per-example timings meaningless
# (hangs are bounded by pytest-timeout and by the fuzzers' own explicit deadlines).
settings.register_profile("l0", deadline=None)
settings.load_profile("l0")
