"""``L0Handler``: a LiteLLM ``CustomLogger`` that reports every call as l0 events.

``litellm.callbacks.append(l0_handler)`` (or ``L0Handler(on_event=...)``) turns LiteLLM's
callbacks into :class:`l0.ObservabilityEvent` objects, one sequence per LiteLLM call
(``stream_id`` = ``litellm_call_id``):

* ``STREAM_INIT`` before each provider request (``log_pre_api_call``);
* ``COMPLETE`` on success, streamed or not (``data``: model, finish_reason, usage, duration,
  ttft, cost);
* ``ERROR`` on failure, with the exception mapped to an :class:`l0.L0Error` by the LiteLLM
  adapter (``data["error"]``, ``code``, ``category``, ``checkpoint`` for mid-stream cuts);
* ``FALLBACK_START`` when a LiteLLM Router fell back to another model group.

What LiteLLM's SDK does **not** offer a callback: a per-chunk hook. A callback cannot see,
edit or abort a stream chunk by chunk in ``litellm.acompletion`` (the stream-event hooks
never fire; the streaming deployment hook sees only the final chunk). Only the **proxy**
calls ``async_post_call_streaming_iterator_hook`` with the whole stream; there this handler
makes the stream reliable (:mod:`l0.integrations.litellm.proxy`): retries through the proxy's
router, continuation, timeouts, guardrails, drift. In the SDK, use the drop-in
:func:`l0.integrations.litellm.acompletion`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from l0.adapters.litellm import map_litellm_error
from l0.breaker import CircuitBreaker, CircuitState
from l0.errors import L0Error, to_l0_error
from l0.integrations.litellm.options import HANDLER_OPTIONS, check_names
from l0.integrations.litellm.proxy import reliable_stream
from l0.observability.events import EventName
from l0.runtime.events import EventHandler
from l0.runtime.options import build_options
from l0.types import CheckIntervals, ObservabilityEvent, Retry, Timeout

__all__ = ["L0Handler", "l0_handler"]

logger = logging.getLogger("l0")

_MAX_OPEN_CALLS = 4096  # calls whose end we never saw stop counting beyond this


class L0Handler(CustomLogger):
    """LiteLLM callback: l0 observability for every call; reliable streams in the proxy.

    In the LiteLLM proxy (``litellm_settings: callbacks: [...]`` in ``config.yaml``) each
    streamed answer is run through l0: a drop, stall, malformed chunk, in-band error or
    guardrail violation is retried through the proxy's router (same model group) and
    continued from the text the client already has; the client sees one uninterrupted
    stream. See :mod:`l0.integrations.litellm.proxy`.

    Args:
        on_event: Receives each :class:`l0.ObservabilityEvent` (sync or async function).
            ``None``: events are only logged at DEBUG on the ``l0`` logger.
        **options: How proxy streams run (l0 options, all optional): ``retry``
            (:class:`l0.Retry`), ``timeout`` (:class:`l0.Timeout`), ``continuation``
            (default True), ``guardrails``, ``drift``, ``check_intervals`` (with
            guardrails the default checks every token, so no text they reject is sent),
            ``fallbacks`` (router model groups tried after the request's own),
            ``detect_zero_output``, ``detect_truncation``, ``clock``, and ``breaker`` (an
            :class:`l0.CircuitBreaker` keyed by deployment id: deployments whose circuit
            is open are left out by :meth:`async_filter_deployments`), ``release``,
            ``keep_raw``, the ``on_*`` callbacks and ``record`` (a store or path: each
            proxy stream is recorded under its own ``stream_id``, for :func:`l0.replay`).
            Not taken: ``stream_id``, ``context``, ``keys``, ``retry_budget``, ``hedge``
            (see :data:`~l0.integrations.litellm.options.HANDLER_OPTIONS`).

    Raises:
        TypeError: For an unknown option (naming the closest valid one) or a bad value.
    """

    def __init__(self, on_event: EventHandler | None = None, **options: Any) -> None:
        if on_event is not None and not callable(on_event):
            raise TypeError("on_event must be a callable taking an l0.ObservabilityEvent")
        check_names("L0Handler", options, HANDLER_OPTIONS)
        timeout = options.get("timeout")
        if timeout is not None and not isinstance(timeout, Timeout):
            raise TypeError("timeout must be an l0.Timeout")
        retry = options.get("retry")
        if retry is not None and not isinstance(retry, Retry):
            raise TypeError("retry must be an l0.Retry")
        fallbacks = options.get("fallbacks") or ()
        if isinstance(fallbacks, str) or not all(isinstance(f, str) for f in fallbacks):
            raise TypeError("fallbacks must be a list of proxy model group names")
        options.setdefault("continuation", True)
        options.setdefault("detect_zero_output", False)
        if options.get("guardrails") and options.get("check_intervals") is None:
            options["check_intervals"] = CheckIntervals(guardrails=1)
        super().__init__()
        self.on_event = on_event
        self.options: dict[str, Any] = options
        breaker = options.pop("breaker", None)
        if breaker is not None and not isinstance(breaker, CircuitBreaker):
            raise TypeError(f"breaker must be an l0.CircuitBreaker, got {type(breaker).__name__}")
        self.breaker: CircuitBreaker | None = breaker
        # Fail at start-up, not on the first request, for values l0 itself rejects.
        build_options(lambda: (), **{k: v for k, v in options.items() if k != "fallbacks"})
        self._seq: OrderedDict[str, int] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- event plumbing --------------------------------------------------------------------

    def _event(self, name: EventName, kwargs: Mapping[str, Any], data: dict[str, Any]) -> Any:
        call_id = str(kwargs.get("litellm_call_id") or "")
        seq = self._seq.pop(call_id, 0)
        if name not in (EventName.COMPLETE, EventName.ERROR):
            self._seq[call_id] = seq + 1
            if len(self._seq) > _MAX_OPEN_CALLS:
                self._seq.popitem(last=False)
        event = ObservabilityEvent(
            name=name.value,
            ts=time.monotonic(),
            stream_id=call_id,
            attempt=1,
            seq=seq,
            data=data,
        )
        logger.debug("l0 litellm event %s %s", event.name, call_id)
        return None if self.on_event is None else self.on_event(event)

    async def _aemit(self, name: EventName, kwargs: Mapping[str, Any], **data: Any) -> None:
        try:
            result = self._event(name, kwargs, data)
            if result is not None:
                await result
        except Exception:
            logger.exception("l0: on_event handler raised on %s", name.value)

    def _emit(self, name: EventName, kwargs: Mapping[str, Any], **data: Any) -> None:
        """From LiteLLM's sync hooks: an async handler is scheduled on the running loop."""
        try:
            result = self._event(name, kwargs, data)
        except Exception:
            logger.exception("l0: on_event handler raised on %s", name.value)
            return
        if result is None:
            return
        try:
            task = asyncio.get_running_loop().create_task(result)
        except RuntimeError:  # no loop in this thread (sync litellm.completion)
            result.close()
            logger.warning("l0: an async on_event cannot run from sync LiteLLM callbacks")
            return
        self._tasks.add(task)  # keep a reference until it ran
        task.add_done_callback(self._tasks.discard)

    # -- LiteLLM hooks (parameter names are LiteLLM's: it calls them by keyword) ---------------

    def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
        """Provider request about to be sent: ``STREAM_INIT``."""
        self._emit(EventName.STREAM_INIT, kwargs, **_request_data(model, kwargs))

    def log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        """Sync calls: ``COMPLETE``."""
        if _is_async_call(kwargs):  # LiteLLM may call both hooks; the async one reports it
            return
        self._emit(EventName.COMPLETE, kwargs, **_success_data(kwargs, response_obj, end_time))

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        """Async calls (streams: once, with the rebuilt response): ``COMPLETE``."""
        key = _deployment_key(kwargs.get("litellm_params"))
        if self.breaker is not None and key is not None:
            await self.breaker.record_success(key)
        await self._aemit(
            EventName.COMPLETE, kwargs, **_success_data(kwargs, response_obj, end_time)
        )

    def log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        """Sync calls: ``ERROR``."""
        if _is_async_call(kwargs):
            return
        self._emit(EventName.ERROR, kwargs, **_failure_data(kwargs))

    async def async_log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        """Async calls, before or during the stream: ``ERROR``."""
        data = _failure_data(kwargs)
        key = _deployment_key(kwargs.get("litellm_params"))
        if self.breaker is not None and key is not None and data["error"] is not None:
            await self.breaker.record_failure(key, data["error"])
        await self._aemit(EventName.ERROR, kwargs, **data)

    async def async_filter_deployments(
        self,
        model: str,
        healthy_deployments: list[Any],
        messages: Any,
        request_kwargs: dict[str, Any] | None = None,
        parent_otel_span: Any = None,
    ) -> list[Any]:
        """Router: leave out deployments whose l0 circuit is open (with ``breaker=``).

        The breaker is keyed by deployment id (``model_info.id``) and fed by this handler's
        success/failure hooks, so every LiteLLM call of the process (proxy or ``Router``)
        counts. When every deployment's circuit is open the list is empty: the Router then
        fails the group at once and moves to its fallbacks.
        """
        breaker = self.breaker
        if breaker is None:
            return healthy_deployments
        kept = []
        for deployment in healthy_deployments:
            key = _deployment_key(deployment)
            if key is None or await breaker.state(key) is not CircuitState.OPEN:
                kept.append(deployment)
        return kept

    async def log_success_fallback_event(
        self, original_model_group: str, kwargs: Any, original_exception: Exception
    ) -> None:
        """Router fell back to another group and it answered: ``FALLBACK_START``."""
        await self._aemit(
            EventName.FALLBACK_START,
            kwargs,
            from_model=original_model_group,
            to_model=kwargs.get("model"),
            reason=str(original_exception),
        )

    # -- proxy only --------------------------------------------------------------------------

    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict: Any, response: Any, request_data: dict[str, Any]
    ) -> AsyncGenerator[Any, None]:
        """Proxy streams: the client's chunks, reliable (see :mod:`l0.integrations.litellm.proxy`).

        The proxy's stream is attempt 1; failures are retried through the proxy's router
        and continued; the client receives LiteLLM chunks as if nothing happened. Closing
        this generator (the client left) closes the upstream stream at once.
        """
        async for chunk in reliable_stream(response, request_data, self.options, self.on_event):
            yield chunk


# LiteLLM's async entry points: the flag it sets in ``litellm_params`` for each.
_ASYNC_CALLS = (
    "acompletion",
    "aresponses",
    "aembedding",
    "aimage_generation",
    "atranscription",
    "allm_passthrough_route",
    "aanthropic_messages",
    "agenerate_content",
    "agenerate_content_stream",
    "arealtime",
    "aresponses_websocket",
)


def _is_async_call(kwargs: Mapping[str, Any]) -> bool:
    """True for an ``acompletion``-style call (LiteLLM also runs sync hooks for some)."""
    params = kwargs.get("litellm_params") or {}
    return any(params.get(name) is True for name in _ASYNC_CALLS)


def _deployment_key(record: Any) -> str | None:
    """A Router deployment's id (``model_info.id``) in a deployment dict or ``litellm_params``."""
    if not isinstance(record, Mapping):
        return None
    info = record.get("model_info")
    key = info.get("id") if isinstance(info, Mapping) else None
    return str(key) if key else None


def _request_data(model: Any, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    params = kwargs.get("litellm_params") or {}
    return {
        "model": model,
        "provider": params.get("custom_llm_provider") or kwargs.get("custom_llm_provider"),
        "stream": bool(kwargs.get("stream")),
        "api_base": params.get("api_base"),
    }


def _seconds(later: Any, earlier: Any) -> float | None:
    try:
        return float((later - earlier).total_seconds())
    except (TypeError, AttributeError):
        return None


def _success_data(kwargs: Mapping[str, Any], response: Any, end_time: Any) -> dict[str, Any]:
    choices = getattr(response, "choices", None) or []
    finish = getattr(choices[0], "finish_reason", None) if choices else None
    usage = getattr(response, "usage", None)
    start = kwargs.get("start_time")
    return {
        "model": kwargs.get("model"),
        "stream": bool(kwargs.get("stream")),
        "finish_reason": finish,
        "usage": {
            "input_tokens": getattr(usage, "prompt_tokens", None),
            "output_tokens": getattr(usage, "completion_tokens", None),
            "total_tokens": getattr(usage, "total_tokens", None),
        }
        if usage is not None
        else None,
        "duration": _seconds(end_time, start),
        "ttft": _seconds(kwargs.get("completion_start_time"), start),
        "cost": kwargs.get("response_cost"),
    }


def _failure_data(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    exc = kwargs.get("exception")
    err: L0Error | None = None
    if isinstance(exc, BaseException):
        err = map_litellm_error(exc) or to_l0_error(exc)
    return {
        "model": kwargs.get("model"),
        "stream": bool(kwargs.get("stream")),
        "error": err if err is not None else exc,
        "code": err.code.value if err is not None else None,
        "category": err.category.value if err is not None else None,
        "checkpoint": err.checkpoint if err is not None else "",
    }


#: The default handler: ``litellm.callbacks.append(l0_handler)``; set ``l0_handler.on_event``.
l0_handler = L0Handler()
