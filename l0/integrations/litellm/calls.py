"""Reliable LiteLLM calls: ``litellm.acompletion(stream=True)`` run as an l0 source.

LiteLLM gives up on a stream once it has delivered content (a cut connection surfaces as
``MidStreamFallbackError`` / ``APIConnectionError``, and its Router neither retries nor falls
back after the first chunk). Here l0 owns the ``async for``: a failure at any point is retried,
continued from the checkpoint (``attempt.continuation_messages``) or sent to the next model,
and guardrails and stall timeouts see every token.

:func:`acompletion` returns an :class:`l0.Stream`; :func:`completion` is its blocking twin
(an iterator of :class:`l0.Event`). :class:`L0Router` / :func:`router_stream` do the same
with the deployments of a LiteLLM ``Router`` model group as primary and fallbacks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any

import litellm

from l0.adapters.litellm import LITELLM_ADAPTER
from l0.core import stream as l0_stream
from l0.core import stream_sync as l0_stream_sync
from l0.runtime.stream import Stream
from l0.types import Attempt, Event

__all__ = ["L0_OPTIONS", "L0Router", "acompletion", "completion", "router_stream"]

#: Keyword arguments taken by l0 (everything else goes to LiteLLM).
L0_OPTIONS = frozenset(
    {
        "retry",
        "timeout",
        "guardrails",
        "drift",
        "continuation",
        "check_intervals",
        "on_event",
        "context",
        "detect_zero_output",
        "detect_truncation",
        "keep_raw",
        "clock",
        "stream_id",
        "on_retry",
        "on_fallback",
        "on_checkpoint",
        "on_resume",
        "on_timeout",
        "on_violation",
        "on_complete",
        "on_error",
    }
)

Call = Callable[..., Awaitable[Any]]
FallbackSpec = str | Mapping[str, Any]


def _split(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(l0 options, LiteLLM kwargs); validates what l0 alone reads."""
    l0_opts = {k: kwargs.pop(k) for k in list(kwargs) if k in L0_OPTIONS}
    l0_opts.setdefault("continuation", True)
    timeout = l0_opts.get("timeout")
    if isinstance(timeout, (int, float)):
        raise TypeError(
            "timeout must be an l0.Timeout (stall and overall deadlines); pass LiteLLM's "
            "per-request HTTP timeout as request_timeout="
        )
    if "request_timeout" in kwargs:
        kwargs["timeout"] = kwargs.pop("request_timeout")
    if kwargs.pop("stream", True) is not True:
        raise ValueError("stream=False is not supported: l0 reads the stream (omit stream=)")
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


def _source(call: Call, params: Mapping[str, Any]) -> Callable[[Attempt], Awaitable[Any]]:
    """An l0 source calling ``call(**params, stream=True)`` with continued messages."""
    fixed = {k: v for k, v in params.items() if k != "messages"}
    messages: Sequence[Any] = params["messages"]

    async def source(attempt: Attempt) -> Any:
        # Without a checkpoint continuation_messages returns the messages unchanged.
        return await call(**fixed, messages=attempt.continuation_messages(messages), stream=True)

    return source


def _plain_sources(kwargs: dict[str, Any], fallbacks: Sequence[FallbackSpec]) -> list[Any]:
    if isinstance(fallbacks, (str, Mapping)) or not isinstance(fallbacks, Sequence):
        raise TypeError("fallbacks must be a list of model names or dicts of LiteLLM kwargs")
    # l0 is the one retry owner: the provider SDK underneath must not retry on its own.
    kwargs.setdefault("max_retries", 0)
    params = [kwargs, *(_fallback_params(f, kwargs) for f in fallbacks)]
    return [_source(litellm.acompletion, p) for p in params]


def acompletion(*, fallbacks: Sequence[FallbackSpec] = (), **kwargs: Any) -> Stream:
    """A reliable ``litellm.acompletion(stream=True)``: an :class:`l0.Stream` of events.

    Use it with ``async with`` and ``async for``::

        async with l0_litellm.acompletion(
            model="openai/gpt-4o-mini", messages=msgs, fallbacks=["anthropic/claude-x"]
        ) as s:
            async for event in s:
                ...
        print(s.result.text)

    Args:
        fallbacks: Tried in order once the primary is exhausted: a model name (the primary's
            kwargs with another ``model``) or a dict of kwargs overriding the primary's.
        **kwargs: LiteLLM's arguments (``model``, ``messages``, ``api_base``, ``api_key``, …;
            ``request_timeout`` becomes LiteLLM's ``timeout``) and l0's options (see
            :data:`L0_OPTIONS` and :func:`l0.stream`). ``continuation`` defaults to True;
            ``max_retries`` (the provider SDK's own retries) defaults to 0.

    Raises:
        TypeError, ValueError: For bad options, before any call.
    """
    l0_opts, params = _split(kwargs)
    sources = _plain_sources(params, fallbacks)
    return l0_stream(sources[0], fallbacks=sources[1:], adapter=LITELLM_ADAPTER, **l0_opts)


def completion(*, fallbacks: Sequence[FallbackSpec] = (), **kwargs: Any) -> Iterator[Event]:
    """The blocking twin of :func:`acompletion`: an iterator of :class:`l0.Event`.

    The async core runs on a portal thread (``l0.stream_sync``); the last event is
    ``COMPLETE`` with the :class:`l0.Result` as ``data``. Leaving the loop early closes
    the provider stream. Same arguments as :func:`acompletion`.
    """
    l0_opts, params = _split(kwargs)
    sources = _plain_sources(params, fallbacks)
    return l0_stream_sync(sources[0], fallbacks=sources[1:], adapter=LITELLM_ADAPTER, **l0_opts)


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

    ``L0Router(router).acompletion(model="chat", messages=msgs)`` runs the group's first
    deployment through l0; a failure (also after content was streamed, where LiteLLM's Router
    gives up) is retried, continued from the checkpoint, then continued on the next deployment
    of the group, then on the deployments of the groups in ``fallbacks``. Each call pins its
    deployment by id, so the Router's own callbacks, cooldown bookkeeping and client cache
    still apply. Per request the Router is told ``num_retries=0`` and ``disable_fallbacks``
    (l0 owns retries and fallbacks); pass them explicitly to override.

    Args:
        router: A ``litellm.Router``.
        **defaults: l0 options applied to every call (``retry``, ``timeout``, ``on_event``, …).
    """

    def __init__(self, router: Any, **defaults: Any) -> None:
        unknown = set(defaults) - L0_OPTIONS
        if unknown:
            raise TypeError(f"L0Router got unknown l0 options: {sorted(unknown)}")
        if not callable(getattr(router, "acompletion", None)):
            raise TypeError("router must be a litellm.Router")
        self.router = router
        self.defaults = defaults

    def _sources(
        self, kwargs: dict[str, Any], fallbacks: Sequence[str]
    ) -> tuple[list[Any], dict[str, Any]]:
        l0_opts, params = _split({**self.defaults, **kwargs})
        model = params.pop("model", None)
        if not isinstance(model, str):
            raise TypeError("model must be a Router model group name (str)")
        if isinstance(fallbacks, str) or not all(isinstance(f, str) for f in fallbacks):
            raise TypeError("fallbacks must be a list of Router model group names")
        params.setdefault("num_retries", 0)
        params.setdefault("disable_fallbacks", True)
        ids = [i for group in (model, *fallbacks) for i in _deployment_ids(self.router, group)]
        unique = list(dict.fromkeys(ids))
        sources = [_source(self.router.acompletion, {**params, "model": i}) for i in unique]
        return sources, l0_opts

    def acompletion(self, *, fallbacks: Sequence[str] = (), **kwargs: Any) -> Stream:
        """An :class:`l0.Stream` over ``router.acompletion(stream=True)`` (see the class).

        Args:
            fallbacks: Further Router model groups, their deployments tried in order.
            **kwargs: ``model`` (the group), ``messages``, LiteLLM's and l0's options.
        """
        sources, l0_opts = self._sources(kwargs, fallbacks)
        return l0_stream(sources[0], fallbacks=sources[1:], adapter=LITELLM_ADAPTER, **l0_opts)

    def completion(self, *, fallbacks: Sequence[str] = (), **kwargs: Any) -> Iterator[Event]:
        """The blocking twin of :meth:`acompletion` (an iterator of :class:`l0.Event`)."""
        sources, l0_opts = self._sources(kwargs, fallbacks)
        return l0_stream_sync(sources[0], fallbacks=sources[1:], adapter=LITELLM_ADAPTER, **l0_opts)


def router_stream(router: Any, *, fallbacks: Sequence[str] = (), **kwargs: Any) -> Stream:
    """Shorthand for ``L0Router(router).acompletion(fallbacks=fallbacks, **kwargs)``."""
    return L0Router(router).acompletion(fallbacks=fallbacks, **kwargs)
