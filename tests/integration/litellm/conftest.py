"""LiteLLM integration tests: real ``litellm`` over real HTTP to the l0 chaos server."""

from __future__ import annotations

import os

# LiteLLM fetches its model price map from the network at import unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from collections.abc import Iterator

import litellm
import pytest

from l0.runtime.stream import Stream
from l0.types import Result

USER = [{"role": "user", "content": "Tell me about rivers"}]


@pytest.fixture(autouse=True)
def quiet_litellm() -> Iterator[None]:
    """No "Give Feedback" banners on stdout; no callback outlives its test.

    LiteLLM copies ``litellm.callbacks`` into its success/failure lists on first use, so
    restoring ``litellm.callbacks`` alone would leave a test's handler registered.
    """
    saved = litellm.suppress_debug_info
    litellm.suppress_debug_info = True
    yield
    litellm.suppress_debug_info = saved
    litellm.logging_callback_manager._reset_all_callbacks()


def openai_kwargs(server: object, model: str = "openai/chaos") -> dict[str, object]:
    """LiteLLM kwargs for the chaos server's OpenAI route (no real key, loopback only)."""
    return {
        "model": model,
        "api_base": server.openai_base_url,  # type: ignore[attr-defined]
        "api_key": "test",
        "messages": USER,
    }


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the proxy of ``test_proxy.py`` now, so it boots while earlier tests run.

    Under pytest-xdist every worker collects every test but only one runs ``test_proxy.py``:
    there its fixture starts the proxy on first use instead (one boot, not one per worker).
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None and any(
        item.path.name == "test_proxy.py" and item.path.parent.name == "litellm"
        for item in session.items
    ):
        from . import proxy_setup

        proxy_setup.start()


def pytest_sessionfinish(session: pytest.Session) -> None:
    from . import proxy_setup

    proxy_setup.stop()  # when test_proxy.py did not run to its end


@pytest.fixture(scope="session", autouse=True)
def warm_litellm() -> None:
    """Pay LiteLLM's lazy imports once (offline mock call), not inside the first timed test."""
    litellm.completion(model="openai/warmup", messages=USER, mock_response="ok", api_key="test")


async def drain(stream: Stream) -> Result:
    """Read an l0 stream to the end; its result."""
    async with stream as s:
        async for _ in s:
            pass
    return s.result
