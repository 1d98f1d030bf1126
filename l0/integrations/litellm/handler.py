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
applies l0's guardrails, drift detection and stall timeouts (when configured) and raises the
typed l0 error on a violation. In the SDK, use :func:`l0.integrations.litellm.acompletion`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from l0.adapters.litellm import LITELLM_ADAPTER, map_litellm_error
from l0.core import stream as l0_stream
from l0.errors import L0Error, to_l0_error
from l0.observability.events import EventName
from l0.runtime.events import EventHandler
from l0.runtime.timers import Clock
from l0.types import CheckIntervals, EventType, ObservabilityEvent, Retry, Timeout

__all__ = ["L0Handler", "l0_handler"]

logger = logging.getLogger("l0")

_NO_RETRY = Retry(attempts=0, max_retries=0)  # the proxy's upstream cannot be re-run
_MAX_OPEN_CALLS = 4096  # calls whose end we never saw stop counting beyond this


class L0Handler(CustomLogger):
    """LiteLLM callback: l0 observability for every call; l0 guarding in the proxy.

    Args:
        on_event: Receives each :class:`l0.ObservabilityEvent` (sync or async function).
            ``None``: events are only logged at DEBUG on the ``l0`` logger.
        guardrails: l0 guardrail rules or preset, applied to proxy streams only.
        drift: l0 drift detection for proxy streams (``None``, ``True`` or a detector).
        timeout: Stall/overall deadlines for proxy streams (:class:`l0.Timeout`).
        check_intervals: How often the proxy-stream checks run.
        clock: l0 clock for the proxy-stream checks (tests).
    """

    def __init__(
        self,
        on_event: EventHandler | None = None,
        *,
        guardrails: Any = (),
        drift: Any = None,
        timeout: Timeout | None = None,
        check_intervals: CheckIntervals | None = None,
        clock: Clock | None = None,
    ) -> None:
        if on_event is not None and not callable(on_event):
            raise TypeError("on_event must be a callable taking an l0.ObservabilityEvent")
        if timeout is not None and not isinstance(timeout, Timeout):
            raise TypeError("timeout must be an l0.Timeout")
        super().__init__()
        self.on_event = on_event
        self.guard_options: dict[str, Any] = {
            "guardrails": guardrails,
            "drift": drift,
            "timeout": timeout,
            "check_intervals": check_intervals,
            "clock": clock,
        }
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
        await self._aemit(EventName.ERROR, kwargs, **_failure_data(kwargs))

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
        """Proxy streams: pass chunks through once l0's checks have seen them.

        Without guardrails, drift or timeout the chunks pass untouched. With them, the
        stream runs through :func:`l0.stream` without retries (the proxy cannot re-run
        the upstream from here): a violation or stall raises the typed l0 error, which the
        proxy sends to its client. Each chunk is passed on once l0 has decoded it; rules run
        every ``check_intervals`` tokens, so up to one interval of text past a violation can
        reach the client before the error.
        """
        if not self._guards_configured():
            async for chunk in response:
                yield chunk
            return
        pending: list[Any] = []

        async def tap() -> AsyncIterator[Any]:
            async for chunk in response:
                pending.append(chunk)
                yield chunk

        async with l0_stream(
            tap,
            retry=_NO_RETRY,
            adapter=LITELLM_ADAPTER,
            detect_zero_output=False,
            on_event=self.on_event,
            context={"litellm_call_id": request_data.get("litellm_call_id")},
            **self.guard_options,
        ) as s:
            async for ev in s:
                if ev.type is not EventType.RESET and pending:
                    released, pending[:] = list(pending), []
                    for chunk in released:
                        yield chunk

    def _guards_configured(self) -> bool:
        opts = self.guard_options
        return bool(opts["guardrails"]) or bool(opts["drift"]) or opts["timeout"] is not None


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
