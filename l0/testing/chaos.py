"""Chaos-server helpers for tests: start a :class:`~l0.chaos.ChaosServer` and point real SDK
clients at it.

A pytest fixture (no plugin is installed; copy the recipe into your ``conftest.py``)::

    import pytest
    from l0.testing.chaos import chaos_server, openai_client


    @pytest.fixture
    async def chaos():  # async tests: @pytest.mark.anyio
        async with chaos_server() as server:
            yield server


    @pytest.fixture
    def chaos_sync():  # sync tests: the server runs in a thread of its own
        with chaos_server() as server:
            yield server


    @pytest.mark.anyio
    async def test_drop_is_continued(chaos):
        chaos.set_plan("drop_after_tokens=5,ok")
        async with openai_client(chaos) as client:
            result = await l0.run(
                lambda a: client.chat.completions.create(
                    model="m",
                    messages=a.continuation_messages([{"role": "user", "content": "hi"}]),
                    stream=True,
                ),
                continuation=True,
            )
        assert result.text == chaos.answer  # the full answer, byte for byte

The SDK clients are made with ``max_retries=0`` so that l0, not the SDK, retries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Literal, overload

from l0.chaos import ChaosServer
from l0.chaos.answer import DEFAULT_ANSWER
from l0.chaos.plan import PlanLike
from l0.chaos.profiles import PROFILE_HEADER, PROFILES, get_profile

if TYPE_CHECKING:
    from anthropic import Anthropic, AsyncAnthropic
    from openai import AsyncOpenAI, OpenAI

__all__ = ["DEFAULT_ANSWER", "PROFILES", "anthropic_client", "chaos_server", "openai_client"]


def chaos_server(plan: PlanLike = None, **options: Any) -> ChaosServer:
    """A :class:`~l0.chaos.ChaosServer` on 127.0.0.1 (not started yet).

    Use it with ``async with`` in async tests (served from the test's event loop) or with
    ``with`` in sync tests (served from a thread). ``options`` are those of
    :class:`~l0.chaos.ChaosServer` (``answer``, ``restate``, ``then``, …).
    """
    return ChaosServer(plan, **options)


@overload
def openai_client(
    server: ChaosServer,
    *,
    sync: Literal[False] = False,
    profile: str | None = None,
    **options: Any,
) -> AsyncOpenAI: ...
@overload
def openai_client(
    server: ChaosServer, *, sync: Literal[True], profile: str | None = None, **options: Any
) -> OpenAI: ...
def openai_client(
    server: ChaosServer, *, sync: bool = False, profile: str | None = None, **options: Any
) -> Any:
    """An ``openai`` client (async unless ``sync``) pointed at ``server``.

    ``api_key="test"`` and ``max_retries=0`` unless ``options`` say otherwise; close it
    (``async with`` / ``with``) when done. ``profile`` names the provider quirk profile of
    every request it sends (:mod:`l0.chaos.profiles`: ``azure``, ``gemini``, ``ollama``,
    ``vllm``, …).

    Raises:
        ImportError: When ``openai`` is not installed (``pip install 'l0[openai]'``).
        ValueError: For an unknown profile.
    """
    name = "OpenAI" if sync else "AsyncOpenAI"
    return _client("openai", name, server.openai_base_url, profile, options)


@overload
def anthropic_client(
    server: ChaosServer,
    *,
    sync: Literal[False] = False,
    profile: str | None = None,
    **options: Any,
) -> AsyncAnthropic: ...
@overload
def anthropic_client(
    server: ChaosServer, *, sync: Literal[True], profile: str | None = None, **options: Any
) -> Anthropic: ...
def anthropic_client(
    server: ChaosServer, *, sync: bool = False, profile: str | None = None, **options: Any
) -> Any:
    """An ``anthropic`` client (async unless ``sync``) pointed at ``server``.

    ``api_key="test"`` and ``max_retries=0`` unless ``options`` say otherwise; ``profile`` as
    for :func:`openai_client` (``anthropic``: the body lingers after ``message_stop``).

    Raises:
        ImportError: When ``anthropic`` is not installed (``pip install 'l0[anthropic]'``).
        ValueError: For an unknown profile.
    """
    name = "Anthropic" if sync else "AsyncAnthropic"
    return _client("anthropic", name, server.anthropic_base_url, profile, options)


def _client(
    sdk: str, name: str, base_url: str, profile: str | None, options: dict[str, Any]
) -> Any:
    try:
        module = importlib.import_module(sdk)
    except ImportError as exc:  # pragma: no cover - the dev extras install it
        raise ImportError(f"a {sdk} client needs {sdk}: pip install 'l0[{sdk}]'") from exc
    kwargs: dict[str, Any] = {"base_url": base_url, "api_key": "test", "max_retries": 0}
    if profile is not None:
        headers = dict(options.pop("default_headers", None) or {})
        headers[PROFILE_HEADER] = get_profile(profile).name
        kwargs["default_headers"] = headers
    return getattr(module, name)(**{**kwargs, **options})
