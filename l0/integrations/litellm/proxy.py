"""Reliable streams inside the LiteLLM proxy (``async_post_call_streaming_iterator_hook``).

The proxy hands the hook the stream it opened for the client's request. That stream is l0's
attempt 1; a drop, stall, malformed chunk, in-band error or content violation is handled by
l0's attempt loop, and each further attempt re-issues the request **through the proxy's own
router** (``proxy_server.llm_router``, the same model group: LiteLLM picks the deployment and
applies its keys, budgets, cooldowns and callbacks) with the text the client already has as
an assistant prefix. Then the handler's ``fallbacks`` groups are tried. The client receives
LiteLLM chunks through :class:`~l0.integrations.litellm.relay.ChunkRelay`: one ``id`` /
``model`` / ``created``, no character twice, one final chunk with the finish reason.

Failures before the stream opens (an HTTP 429/5xx on the proxy's first upstream request) are
not seen by this hook: the proxy's router handles them (``num_retries``, fallbacks).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

from l0.adapters.litellm import LITELLM_ADAPTER
from l0.core import stream as l0_stream
from l0.integrations.litellm.relay import ChunkRelay
from l0.runtime.events import EventHandler
from l0.types import Attempt

__all__ = ["reliable_stream"]

# Per-call keys of the proxy's request data a new call must not reuse (LiteLLM makes its own).
_PER_CALL = frozenset({"litellm_call_id", "litellm_logging_obj", "deployment"})
# Metadata the router filled in for the deployment it picked: the new call picks again.
_PICKED = frozenset(
    {
        "deployment",
        "model_info",
        "api_base",
        "deployment_model_name",
        "attempted_fallbacks",
        "attempted_retries",
    }
)


def _router() -> Any:
    """The proxy's router (a module global of the proxy server), or ``None``.

    Outside the proxy process (the hook called directly) requests go to ``litellm`` itself.
    """
    proxy_server = sys.modules.get("litellm.proxy.proxy_server")
    return getattr(proxy_server, "llm_router", None)


def _request_kwargs(request_data: Mapping[str, Any], model: str) -> dict[str, Any]:
    kwargs = {k: v for k, v in request_data.items() if k not in _PER_CALL}
    metadata = request_data.get("metadata")
    if isinstance(metadata, Mapping):
        kwargs["metadata"] = {k: v for k, v in metadata.items() if k not in _PICKED}
    kwargs["model"] = model
    kwargs["stream"] = True
    return kwargs


def _reissue(request_data: Mapping[str, Any], model: str, relay: ChunkRelay) -> Any:
    """An l0 source re-sending the request to ``model`` (a router group), continued."""
    messages: Sequence[Any] = request_data.get("messages") or []

    async def source(attempt: Attempt) -> Any:
        # Continue what the client has: after a reset l0's own checkpoint is empty, but the
        # client's text stays (the relay decides the prefix and aligns what comes back).
        msgs = relay.resume(attempt).continuation_messages(messages)
        kwargs = _request_kwargs(request_data, model)
        kwargs["messages"] = msgs
        router = _router()
        if router is None:
            import litellm

            return relay.tap(await litellm.acompletion(**kwargs))
        return relay.tap(await router.acompletion(**kwargs))

    return source


class _Replay:
    """The proxy's stream with its first chunk put back (closing closes the original)."""

    def __init__(self, head: Any, rest: Any, original: Any) -> None:
        self._head: list[Any] = [head]
        self._rest = rest
        self._original = original

    def __aiter__(self) -> _Replay:
        return self

    async def __anext__(self) -> Any:
        if self._head:
            return self._head.pop()
        return await self._rest.__anext__()

    async def aclose(self) -> None:
        for target in (self._rest, self._original):
            close = getattr(target, "aclose", None)
            if close is not None:
                await close()


async def reliable_stream(
    response: Any,
    request_data: dict[str, Any],
    options: Mapping[str, Any],
    on_event: EventHandler | None,
) -> AsyncGenerator[Any, None]:
    """The proxy stream ``response`` as attempt 1, re-issued through the router on failure.

    Args:
        response: The stream the proxy opened (its chunks are ``ModelResponseStream``).
        request_data: The proxy's request data (``model``, ``messages``, metadata, …).
        options: l0 run options (``retry``, ``timeout``, ``guardrails``, …, and
            ``fallbacks``: further router groups; ``continuation``: bool).
        on_event: l0 observability events of the run.

    Yields:
        The client's chunks.
    """
    from litellm.types.utils import ModelResponseStream

    # Only chat-completion streams are l0's: other routes (``/v1/messages`` raw SSE, text
    # completions) pass through untouched. The router has read the first chunk already.
    chunks = response.__aiter__()
    try:
        head = await chunks.__anext__()
    except StopAsyncIteration:
        return
    if not isinstance(head, ModelResponseStream):
        yield head
        async for chunk in chunks:
            yield chunk
        return
    response = _Replay(head, chunks, response)
    opts = dict(options)
    # A streaming rule may report a match only when the next text arrives: with guardrails
    # each token waits for the next one's check, so no text they reject reaches the client.
    relay = ChunkRelay(hold=1 if opts.get("guardrails") else 0)
    # The relay holds back itself and passes LiteLLM's own chunks on unchanged; l0's
    # ``checked`` release would re-cut them (an explicit ``release=`` still wins).
    opts.setdefault("release", "stream")
    fallbacks: Sequence[str] = opts.pop("fallbacks", None) or ()
    model = str(request_data.get("model") or "")
    first = [response]
    again = _reissue(request_data, model, relay)

    def primary(attempt: Attempt) -> Any:
        if first:
            return relay.tap(first.pop())
        return again(attempt)

    sources = [primary, *(_reissue(request_data, g, relay) for g in fallbacks)]
    try:
        async with l0_stream(
            sources[0],
            fallbacks=sources[1:],
            adapter=LITELLM_ADAPTER,
            on_event=on_event,
            context={"litellm_call_id": request_data.get("litellm_call_id"), "model": model},
            **opts,
        ) as s:
            async for ev in s:
                for chunk in relay.feed(ev):
                    yield chunk
        for chunk in relay.finish():
            yield chunk
    finally:
        if first:  # never read (the run ended before its first attempt): close it
            close = getattr(first.pop(), "aclose", None)
            if close is not None:
                await close()
