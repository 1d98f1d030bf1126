"""``l0.fastlane``: provider streams decoded at the wire's speed, through your own SDK client.

The provider SDKs build a pydantic model for every streamed chunk; for a token stream that
is most of the CPU a stream costs (tens of µs per token for the openai SDK, against l0's
fraction of a µs). The fast lane sends the same request through the same client — its
``with_streaming_response`` API, so auth, base URL, default headers, organization/project,
timeouts, retries, proxies and the HTTP client are all the SDK's, and an HTTP error before the
body is the SDK's own exception, mapped as on the SDK path — then reads the SSE bytes itself:
incremental framing, orjson, no per-chunk model. The events, text, tool calls, usage, finish
reason and errors are those the SDK path gives for the same bytes.

Opt in per request: return the helper's result from a source instead of the SDK stream::

    result = await l0.run(
        lambda attempt: l0.fastlane.openai_chat(
            client, model="gpt-4o-mini", messages=attempt.continuation_messages(messages)
        ),
        continuation=True,
    )

Trade-off: you get l0 events, never SDK objects (``keep_raw=True`` keeps the parsed JSON
dicts, not ``ChatCompletionChunk`` models); only async clients are supported; an SDK's
client-side helpers that work on its models (``chat.completions.stream()`` accumulation,
``.parse()`` structured outputs) are not used; and the SDK's own stream class is bypassed, so
a custom SSE decoder installed on the client is not consulted. For openai, plain-JSON arguments
are posted as the typed ``create`` posts them, without its per-request argument transform
(:mod:`l0.fastlane.direct`); anything else goes through ``create``.
"""

from __future__ import annotations

from typing import Any

try:
    import httpx2  # noqa: F401 - the SDKs' HTTP client, which the fast lane reads
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without it
    raise ImportError(
        "l0.fastlane reads through the openai or anthropic SDK's HTTP client (httpx2): "
        "pip install 'l0[openai]' or 'l0[anthropic]'"
    ) from exc

from l0.fastlane.adapter import FASTLANE_ADAPTER, FastLaneAdapter
from l0.fastlane.base import FastRequest

__all__ = [
    "FASTLANE_ADAPTER",
    "FastLaneAdapter",
    "FastRequest",
    "anthropic_messages",
    "openai_chat",
    "openai_responses",
]


def _check(
    client: Any, path: tuple[str, ...], helper: str, sdk: str, kwargs: dict[str, Any]
) -> Any:
    if kwargs.get("stream", True) is not True:
        raise ValueError(f"l0.fastlane.{helper}() always streams: drop stream={kwargs['stream']!r}")
    kwargs.pop("stream", None)
    target = client
    for name in path:
        target = getattr(target, name, None)
        if target is None:
            raise TypeError(
                f"l0.fastlane.{helper}() needs an {sdk} async client (it has no "
                f"{'.'.join(path)}); got {type(client).__module__}.{type(client).__qualname__}"
            )
    create = getattr(target, "with_streaming_response", None)
    if create is None or not _is_async(client):
        raise TypeError(
            f"l0.fastlane.{helper}() needs the SDK's async client "
            f"({'AsyncOpenAI or AsyncAzureOpenAI' if sdk == 'openai' else 'AsyncAnthropic'}); "
            f"got {type(client).__qualname__}"
        )
    return client


def _is_async(client: Any) -> bool:
    return type(client).__name__.startswith("Async") or any(
        cls.__name__.startswith("Async") for cls in type(client).__mro__
    )


def openai_chat(client: Any, **create_kwargs: Any) -> FastRequest:
    """A chat completion streamed over the fast lane.

    Args:
        client: An ``openai.AsyncOpenAI`` (or ``AsyncAzureOpenAI``, or one pointed at any
            OpenAI-compatible server: LiteLLM proxy, vLLM, Ollama, …).
        **create_kwargs: What ``client.chat.completions.create`` takes (``model``,
            ``messages``, ``tools``, ``stream_options``, ``extra_headers``, …); ``stream=True``
            is implied.

    Returns:
        A request l0 sends on the attempt's first read; return it from a source.

    Raises:
        TypeError: For a sync or non-openai client.
        ValueError: For ``stream=False``.
    """
    _check(client, ("chat", "completions"), "openai_chat", "openai", create_kwargs)
    return FastRequest(client, create_kwargs, "openai.chat")


def openai_responses(client: Any, **create_kwargs: Any) -> FastRequest:
    """A Responses API response streamed over the fast lane (see :func:`openai_chat`).

    Args:
        client: An ``openai.AsyncOpenAI``.
        **create_kwargs: What ``client.responses.create`` takes; ``stream=True`` is implied.

    Returns:
        A request l0 sends on the attempt's first read.

    Raises:
        TypeError: For a sync or non-openai client.
        ValueError: For ``stream=False``.
    """
    _check(client, ("responses",), "openai_responses", "openai", create_kwargs)
    return FastRequest(client, create_kwargs, "openai.responses")


def anthropic_messages(client: Any, **create_kwargs: Any) -> FastRequest:
    """An Anthropic message streamed over the fast lane (see :func:`openai_chat`).

    Args:
        client: An ``anthropic.AsyncAnthropic``.
        **create_kwargs: What ``client.messages.create`` takes (``model``, ``max_tokens``,
            ``messages``, ``tools``, ``thinking``, …); ``stream=True`` is implied.

    Returns:
        A request l0 sends on the attempt's first read.

    Raises:
        TypeError: For a sync or non-anthropic client.
        ValueError: For ``stream=False``.
    """
    _check(client, ("messages",), "anthropic_messages", "anthropic", create_kwargs)
    return FastRequest(client, create_kwargs, "anthropic.messages")
