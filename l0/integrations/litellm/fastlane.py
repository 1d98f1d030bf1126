"""``fast_lane=True``: LiteLLM's OpenAI-compatible calls sent over :mod:`l0.fastlane`.

For a model LiteLLM routes to an OpenAI-compatible endpoint (``openai/…`` or a bare OpenAI
model name, ``hosted_vllm/…``, ``litellm_proxy/…``), :func:`fast_sources` builds sources that
send the request with an ``openai.AsyncOpenAI`` made from LiteLLM's own routing arguments
(``model`` and ``custom_llm_provider`` pick the provider; ``api_base``, ``api_key``,
``organization``; the key and base LiteLLM would resolve from the environment otherwise)
and read the SSE bytes with the fast lane, instead of going through
``litellm.acompletion`` and its per-chunk objects.

What the switch does not cover: LiteLLM's parameter translation (the arguments are sent to
the endpoint as given, so every one must be an ``openai`` ``chat.completions.create``
argument), its callbacks, logging, cost tracking and caching (none of them runs), other
providers (a model LiteLLM routes elsewhere is refused), and LiteLLM's chunk objects (the
switch is for the l0 event form, :func:`l0.integrations.litellm.stream`).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import litellm
from litellm.exceptions import BadRequestError

from l0.fastlane import openai_chat
from l0.types import Attempt

__all__ = ["OPENAI_COMPATIBLE", "fast_sources"]

Source = Callable[[Attempt], Any]

OPENAI_COMPATIBLE = frozenset({"openai", "hosted_vllm", "litellm_proxy"})
"""LiteLLM providers whose chat endpoint speaks the OpenAI chat completions protocol."""

_ROUTING = frozenset(
    {
        "model",
        "messages",
        "api_base",
        "base_url",
        "api_key",
        "organization",
        "max_retries",
        "custom_llm_provider",
    }
)
"""LiteLLM arguments the switch reads to build the client (not sent as request fields)."""
_LITELLM_ONLY = frozenset({"metadata"})
"""LiteLLM arguments whose meaning differs from the openai argument of the same name."""

_clients: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], Any]] = weakref.WeakKeyDictionary()


@functools.cache
def _create_params() -> frozenset[str]:
    from openai.resources.chat.completions import AsyncCompletions

    return frozenset(inspect.signature(AsyncCompletions.create).parameters) - {"self"}


def _route(params: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(the endpoint's model name, client arguments, create arguments) for one call."""
    model = str(params.get("model"))
    provider_hint = params.get("custom_llm_provider")
    named = f"{model!r} (custom_llm_provider={provider_hint!r})" if provider_hint else repr(model)
    base = params.get("api_base") or params.get("base_url")
    try:
        name, provider, key, resolved_base = litellm.get_llm_provider(
            model=model,
            custom_llm_provider=provider_hint,
            api_base=base,
            api_key=params.get("api_key"),
        )
    except BadRequestError as exc:  # LiteLLM cannot tell the provider
        raise TypeError(
            f"fast_lane=True: LiteLLM cannot tell which provider serves {named}; name it in "
            "the model ('openai/...') or with custom_llm_provider="
        ) from exc
    if provider not in OPENAI_COMPATIBLE:
        raise TypeError(
            f"fast_lane=True sends OpenAI chat completions requests; LiteLLM routes {named} "
            f"to {provider!r} (fast-lane providers: {', '.join(sorted(OPENAI_COMPATIBLE))}). "
            "Drop fast_lane for this call"
        )
    allowed = _create_params()
    refused = sorted(
        k for k in params if k not in _ROUTING and (k in _LITELLM_ONLY or k not in allowed)
    )
    if refused:
        raise TypeError(
            f"fast_lane=True sends the arguments to the endpoint as the openai SDK's "
            f"chat.completions.create arguments, which {refused} are not (LiteLLM-only); "
            "drop them or fast_lane"
        )
    client = {
        "api_key": params.get("api_key") or key,
        "base_url": resolved_base or base,
        "organization": params.get("organization"),
        "max_retries": params.get("max_retries", 0),
    }
    create = {k: v for k, v in params.items() if k in allowed and k not in _ROUTING}
    create.pop("max_retries", None)
    return name, client, create


def _client(options: dict[str, Any]) -> Any:
    """An ``AsyncOpenAI`` for ``options``, one per event loop and options."""
    from openai import AsyncOpenAI

    key = tuple(sorted(options.items()))
    try:
        loop: Any = asyncio.get_running_loop()
    except RuntimeError:  # another backend: a client per call
        return AsyncOpenAI(**options)
    per_loop = _clients.setdefault(loop, {})
    client = per_loop.get(key)
    if client is None:
        client = per_loop[key] = AsyncOpenAI(**options)
    return client


def _source(model: str, options: dict[str, Any], create: dict[str, Any], messages: Any) -> Source:
    def source(attempt: Attempt) -> Any:
        return openai_chat(
            _client(options),
            **create,
            model=model,
            messages=attempt.continuation_messages(messages),
        )

    return source


def fast_sources(params: Sequence[Mapping[str, Any]]) -> list[Source]:
    """One fast-lane source per call (primary first), continuing cut answers.

    Raises:
        TypeError: For a model LiteLLM routes to a provider that is not OpenAI-compatible, or
            an argument the openai SDK does not take.
    """
    out = []
    for p in params:
        model, options, create = _route(p)
        out.append(_source(model, options, create, p["messages"]))
    return out
