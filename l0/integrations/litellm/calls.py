"""Reliable LiteLLM calls: a drop-in ``acompletion`` / ``completion``, and the l0 stream form.

LiteLLM gives up on a stream once it has delivered content (a cut connection surfaces as
``MidStreamFallbackError`` / ``APIConnectionError``, and its Router neither retries nor falls
back after the first chunk). Here l0 owns the ``async for``: a failure at any point is retried,
continued from the checkpoint (``attempt.continuation_messages``) or sent to the next model,
and guardrails and stall timeouts see every token.

* :func:`acompletion` / :func:`completion` take LiteLLM's arguments and return what LiteLLM
  returns: with ``stream=True`` an (async) iterator of ``ModelResponseStream`` chunks (one
  ``id``/``model``/``created`` across attempts, no text twice), else a ``ModelResponse``.
* :func:`stream` / :func:`stream_sync` return the :class:`l0.Stream` of :class:`l0.Event`.
* :class:`L0Router` does both over a LiteLLM ``Router`` model group's deployments.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from typing import Any

import litellm

from l0.adapters.litellm import LITELLM_ADAPTER
from l0.core import stream as l0_stream
from l0.core import stream_sync as l0_stream_sync
from l0.errors import L0Error, OutputRetractedError
from l0.fastlane import FASTLANE_ADAPTER
from l0.integrations.litellm.fastlane import fast_sources
from l0.integrations.litellm.options import L0_OPTIONS, check_names, reject_near_misses
from l0.integrations.litellm.relay import ChunkRelay
from l0.redaction import collect_credentials
from l0.runtime.stream import Stream
from l0.types import Attempt, Event, Result

__all__ = [
    "ChunkStream",
    "L0Router",
    "acompletion",
    "completion",
    "router_stream",
    "stream",
    "stream_sync",
]

Call = Callable[..., Any]
FallbackSpec = str | Mapping[str, Any]
Source = Callable[[Attempt], Any]


def _split(kwargs: dict[str, Any], owner: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(l0 options, LiteLLM kwargs); validates what l0 alone reads."""
    l0_opts = {k: kwargs.pop(k) for k in list(kwargs) if k in L0_OPTIONS}
    reject_near_misses(owner, kwargs)
    l0_opts.setdefault("continuation", True)
    timeout = l0_opts.get("timeout")
    if isinstance(timeout, (int, float)):
        raise TypeError(
            "timeout must be an l0.Timeout (stall and overall deadlines); pass LiteLLM's "
            "per-request HTTP timeout as request_timeout="
        )
    if "request_timeout" in kwargs:
        kwargs["timeout"] = kwargs.pop("request_timeout")
    messages = kwargs.get("messages")
    if not isinstance(messages, Sequence) or isinstance(messages, (str, bytes)):
        raise TypeError("messages must be a list of chat messages (dicts)")
    return l0_opts, kwargs


def _fallback_params(spec: object, base: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(spec, str):
        return {**base, "model": spec}
    if isinstance(spec, Mapping):
        return {**base, **spec}
    raise TypeError(
        f"fallbacks entries must be a model name or a dict of LiteLLM kwargs; got "
        f"{type(spec).__name__}"
    )


def _source(call: Call, params: Mapping[str, Any], relay: ChunkRelay | None) -> Source:
    """An l0 source calling ``call(**params, stream=True)`` with continued messages."""
    fixed = {k: v for k, v in params.items() if k not in ("messages", "stream")}
    messages: Sequence[Any] = params["messages"]

    async def source(attempt: Attempt) -> Any:
        # Continue what the client has: after a RESET l0's own checkpoint is empty while the
        # client keeps its text (the relay picks the prefix and aligns what comes back).
        # Without a checkpoint continuation_messages returns the messages unchanged.
        if relay is not None:
            attempt = relay.resume(attempt)
        response = await call(
            **fixed, messages=attempt.continuation_messages(messages), stream=True
        )
        return response if relay is None else relay.tap(response)

    return source


class _Plan:
    """One call's sources and l0 options (primary first), ready to run."""

    def __init__(self, params: list[dict[str, Any]], call: Call, l0_opts: dict[str, Any]) -> None:
        self.params = params
        self.call = call
        self.opts = l0_opts
        self.fast = False  # fast_lane=True (the l0 event forms only)
        self.stream = bool(params[0].get("stream", False))
        for p in params:
            p.pop("stream", None)
            if not self.stream:  # the usage a ModelResponse carries
                p.setdefault("stream_options", {"include_usage": True})

    def _options(self, keys: Sequence[str]) -> dict[str, Any]:
        opts = dict(self.opts)
        guarded = opts.get("breaker") is not None or opts.get("retry_budget") is not None
        if guarded and opts.get("keys") is None and opts.get("breaker_keys") is None:
            opts["keys"] = list(keys)  # one per source: the model names (or deployment ids)
        return opts

    def _sources(self, relay: ChunkRelay | None) -> tuple[list[Source], Any]:
        """The sources (primary first) and their adapter."""
        if self.fast:
            return fast_sources(self.params), FASTLANE_ADAPTER
        return [_source(self.call, p, relay) for p in self.params], LITELLM_ADAPTER

    def events(self, keys: Sequence[str]) -> Stream:
        sources, adapter = self._sources(None)
        opts = self._options(keys)
        return l0_stream(sources[0], fallbacks=sources[1:], adapter=adapter, **opts)

    def events_sync(self, keys: Sequence[str], relay: ChunkRelay | None) -> Iterator[Event]:
        sources, adapter = self._sources(relay)
        opts = self._options(keys)
        return l0_stream_sync(sources[0], fallbacks=sources[1:], adapter=adapter, **opts)

    async def chunks(self, keys: Sequence[str], out: ChunkStream) -> AsyncGenerator[Any, None]:
        relay = ChunkRelay()
        sources = [_source(self.call, p, relay) for p in self.params]
        opts = self._options(keys)
        async with l0_stream(
            sources[0], fallbacks=sources[1:], adapter=LITELLM_ADAPTER, **opts
        ) as s:
            try:
                async for ev in s:
                    for chunk in relay.feed(ev):
                        yield chunk
            except OutputRetractedError as exc:
                raise _retracted(exc, s.errors) from None
            out.result = s.result
        for chunk in relay.finish():
            yield chunk

    def chunks_sync(self, keys: Sequence[str]) -> Iterator[Any]:
        relay = ChunkRelay()
        events = self.events_sync(keys, relay)
        try:
            for ev in events:
                yield from relay.feed(ev)
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
        yield from relay.finish()


def _retracted(exc: OutputRetractedError, errors: Sequence[BaseException]) -> L0Error:
    """``exc`` naming the failure that made l0 restart (the relay does not see it)."""
    if exc.cause is not None or not errors:
        return exc
    return OutputRetractedError(errors[-1], exc.shown)


class ChunkStream:
    """What ``await acompletion(..., stream=True)`` returns: LiteLLM chunks, reliable underneath.

    An async iterator of ``ModelResponseStream`` (as ``litellm.acompletion`` returns), read
    through l0. ``aclose()`` stops it and closes the provider stream. :attr:`result` holds
    l0's :class:`l0.Result` (errors met, retries, telemetry) once the stream completed.
    """

    def __init__(self, plan: _Plan, keys: Sequence[str]) -> None:
        self._gen = plan.chunks(keys, self)
        self._first: list[Any] = []
        self.result: Result | None = None

    async def _prime(self) -> None:
        # LiteLLM raises a failed request at ``await``: so does this (after l0's retries).
        with contextlib.suppress(StopAsyncIteration):
            self._first.append(await self._gen.__anext__())

    def __aiter__(self) -> ChunkStream:
        return self

    async def __anext__(self) -> Any:
        if self._first:
            return self._first.pop()
        return await self._gen.__anext__()

    async def aclose(self) -> None:
        """Stop reading; the provider stream is closed at once."""
        self._first.clear()
        await self._gen.aclose()


def _plain_plan(kwargs: dict[str, Any], fallbacks: Sequence[FallbackSpec], owner: str) -> _Plan:
    fast = kwargs.pop("fast_lane", False)
    if not isinstance(fast, bool):
        raise TypeError(f"fast_lane must be True or False, got {fast!r}")
    if fast and owner not in ("stream", "stream_sync"):
        raise TypeError(
            f"{owner}(fast_lane=True): the fast lane gives l0 events, not LiteLLM chunks; "
            f"use l0.integrations.litellm.stream(..., fast_lane=True)"
        )
    l0_opts, params = _split(kwargs, owner)
    if owner in ("acompletion", "completion"):
        _refuse_hedge(l0_opts, owner)
    if isinstance(fallbacks, (str, Mapping)) or not isinstance(fallbacks, Sequence):
        raise TypeError("fallbacks must be a list of model names or dicts of LiteLLM kwargs")
    # l0 is the one retry owner: the provider SDK underneath must not retry on its own.
    params.setdefault("max_retries", 0)
    all_params = [params, *(_fallback_params(f, params) for f in fallbacks)]
    for p in all_params:
        collect_credentials(p)  # keys passed as arguments are masked wherever l0 writes
    plan = _Plan(all_params, litellm.acompletion, l0_opts)
    if fast:
        fast_sources(plan.params)  # refuses a provider or argument the fast lane cannot send
        plan.fast = True
    return plan


def _refuse_hedge(l0_opts: Mapping[str, Any], owner: str) -> None:
    """The chunk forms relay one attempt's chunks at a time: a hedged twin has no place."""
    if l0_opts.get("hedge") is not None:
        raise TypeError(
            f"{owner}(hedge=...): the LiteLLM chunk forms relay one attempt at a time; "
            "hedge the l0 event form, l0.integrations.litellm.stream(..., hedge=...)"
        )


def _keys(plan: _Plan) -> list[str]:
    return [str(p.get("model")) for p in plan.params]


async def _respond(plan: _Plan, keys: Sequence[str]) -> Any:
    chunks = ChunkStream(plan, keys)
    if plan.stream:
        await chunks._prime()
        return chunks
    return _build([c async for c in chunks], plan)


def _build(chunks: list[Any], plan: _Plan) -> Any:
    """A ``ModelResponse`` from the chunks, as LiteLLM builds one from a stream."""
    if not chunks:
        raise L0Error("the stream completed without any chunk")
    return litellm.stream_chunk_builder(chunks, messages=plan.params[0]["messages"])


async def acompletion(*, fallbacks: Sequence[FallbackSpec] = (), **kwargs: Any) -> Any:
    """A drop-in, reliable ``litellm.acompletion``.

    Same arguments and return value as LiteLLM: ``stream=True`` gives an async iterator of
    ``ModelResponseStream`` chunks (a :class:`ChunkStream`), otherwise a ``ModelResponse``
    (built from the reliable stream). Underneath, l0 retries, continues a cut answer from the
    text already received (without repeating it) and falls back to ``fallbacks``.

    Args:
        fallbacks: Tried in order once the primary is exhausted: a model name (the primary's
            kwargs with another ``model``) or a dict of kwargs overriding the primary's.
        **kwargs: LiteLLM's arguments (``model``, ``messages``, ``stream``, ``api_base``, …;
            ``request_timeout`` becomes LiteLLM's ``timeout``) and l0's options
            (:data:`L0_OPTIONS`; ``timeout`` is an :class:`l0.Timeout`). ``continuation``
            defaults to True; ``max_retries`` (the provider SDK's own retries) to 0.

    Raises:
        TypeError, ValueError: For bad or misspelt options, before any call.
        l0.L0Error: When every retry and fallback failed.
    """
    plan = _plain_plan(kwargs, fallbacks, "acompletion")
    return await _respond(plan, _keys(plan))


def completion(*, fallbacks: Sequence[FallbackSpec] = (), **kwargs: Any) -> Any:
    """A drop-in, reliable ``litellm.completion`` (see :func:`acompletion`).

    ``stream=True`` gives an iterator of ``ModelResponseStream`` chunks (the async core runs
    on a portal thread; leaving the loop early closes the provider stream), otherwise a
    ``ModelResponse``.
    """
    plan = _plain_plan(kwargs, fallbacks, "completion")
    chunks = plan.chunks_sync(_keys(plan))
    return chunks if plan.stream else _build(list(chunks), plan)


def stream(*, fallbacks: Sequence[FallbackSpec] = (), **kwargs: Any) -> Stream:
    """``litellm.acompletion(stream=True)`` as an :class:`l0.Stream` of :class:`l0.Event`.

    Use it with ``async with`` and ``async for``; ``s.result`` afterwards. Same arguments as
    :func:`acompletion` (``stream=`` is implied).
    """
    kwargs.pop("stream", None)
    plan = _plain_plan(kwargs, fallbacks, "stream")
    return plan.events(_keys(plan))


def stream_sync(*, fallbacks: Sequence[FallbackSpec] = (), **kwargs: Any) -> Iterator[Event]:
    """The blocking twin of :func:`stream`: an iterator of :class:`l0.Event`.

    The last event is ``COMPLETE`` with the :class:`l0.Result` as ``data``.
    """
    kwargs.pop("stream", None)
    plan = _plain_plan(kwargs, fallbacks, "stream_sync")
    return plan.events_sync(_keys(plan), None)


def _deployment_ids(router: Any, model: str) -> list[str]:
    """The ids of the deployments serving ``model`` (a model group, alias or id), in order."""
    registry = getattr(router, "registry", None)
    # litellm >= 1.110 lists through the registry; get_model_list is deprecated there.
    records = registry().deployments(model) if registry else router.get_model_list(model)
    ids = [str(r["model_info"]["id"]) for r in records or ()]
    if not ids:
        raise ValueError(f"model {model!r} names no deployment of this Router")
    return ids


class L0Router:
    """l0 reliability over a LiteLLM ``Router``: each deployment of the model group is a source.

    ``await L0Router(router).acompletion(model="chat", messages=msgs, stream=True)`` reads
    the group's first deployment through l0; a failure (also after content was streamed,
    where LiteLLM's Router gives up) is retried, continued from the checkpoint, then
    continued on the next deployment of the group, then on the deployments of the groups in
    ``fallbacks``. Each call pins its deployment by id, so the Router's own callbacks,
    cooldown bookkeeping and client cache still apply. Per request the Router is told
    ``num_retries=0`` and ``disable_fallbacks`` (l0 owns retries and fallbacks); pass them
    explicitly to override.

    Args:
        router: A ``litellm.Router``.
        **defaults: l0 options applied to every call (``retry``, ``timeout``, ``on_event``, …).

    Raises:
        TypeError: For an unknown option (naming the closest one) or a non-Router.
    """

    def __init__(self, router: Any, **defaults: Any) -> None:
        check_names("L0Router", defaults, L0_OPTIONS)
        if not callable(getattr(router, "acompletion", None)):
            raise TypeError("router must be a litellm.Router")
        self.router = router
        self.defaults = defaults

    def _plan(self, kwargs: dict[str, Any], fallbacks: Sequence[str]) -> tuple[_Plan, list[str]]:
        l0_opts, params = _split({**self.defaults, **kwargs}, "L0Router")
        model = params.pop("model", None)
        if not isinstance(model, str):
            raise TypeError("model must be a Router model group name (str)")
        if isinstance(fallbacks, str) or not all(isinstance(f, str) for f in fallbacks):
            raise TypeError("fallbacks must be a list of Router model group names")
        params.setdefault("num_retries", 0)
        params.setdefault("disable_fallbacks", True)
        ids = [i for group in (model, *fallbacks) for i in _deployment_ids(self.router, group)]
        unique = list(dict.fromkeys(ids))
        plan = _Plan([{**params, "model": i} for i in unique], self.router.acompletion, l0_opts)
        return plan, unique

    async def acompletion(self, *, fallbacks: Sequence[str] = (), **kwargs: Any) -> Any:
        """Drop-in ``router.acompletion`` (chunks with ``stream=True``, else a response).

        Args:
            fallbacks: Further Router model groups, their deployments tried in order.
            **kwargs: ``model`` (the group), ``messages``, LiteLLM's and l0's options.
        """
        plan, keys = self._plan(kwargs, fallbacks)
        _refuse_hedge(plan.opts, "L0Router.acompletion")
        return await _respond(plan, keys)

    def completion(self, *, fallbacks: Sequence[str] = (), **kwargs: Any) -> Any:
        """Blocking :meth:`acompletion` (an iterator of chunks with ``stream=True``)."""
        plan, keys = self._plan(kwargs, fallbacks)
        _refuse_hedge(plan.opts, "L0Router.completion")
        chunks = plan.chunks_sync(keys)
        return chunks if plan.stream else _build(list(chunks), plan)

    def stream(self, *, fallbacks: Sequence[str] = (), **kwargs: Any) -> Stream:
        """An :class:`l0.Stream` of events over the group's deployments (see the class)."""
        kwargs.pop("stream", None)
        plan, keys = self._plan(kwargs, fallbacks)
        return plan.events(keys)

    def stream_sync(self, *, fallbacks: Sequence[str] = (), **kwargs: Any) -> Iterator[Event]:
        """The blocking twin of :meth:`stream` (an iterator of :class:`l0.Event`)."""
        kwargs.pop("stream", None)
        plan, keys = self._plan(kwargs, fallbacks)
        return plan.events_sync(keys, None)


def router_stream(router: Any, *, fallbacks: Sequence[str] = (), **kwargs: Any) -> Stream:
    """Shorthand for ``L0Router(router).stream(fallbacks=fallbacks, **kwargs)``."""
    return L0Router(router).stream(fallbacks=fallbacks, **kwargs)
