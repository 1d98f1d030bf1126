"""One execution of an :class:`~l0.integrations.langchain.L0Runnable`: the l0 run behind it.

A :class:`Session` builds the l0 sources (one child run per attempt, tagged
``l0:attempt:N``), continues chat models from the checkpoint, turns lifecycle events into
LangChain custom events and l0 events into LangChain outputs.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import adispatch_custom_event
from langchain_core.runnables import Runnable, RunnableConfig

from l0.adapters.base import AdapterStream
from l0.adapters.langchain import LangChainAdapter, LangChainStream
from l0.core import stream as l0_stream
from l0.errors import OutputRetractedError
from l0.integrations.langchain._bridge import ThreadedChunks, isolated
from l0.integrations.langchain._callbacks import (
    attempt_child_config,
    can_dispatch,
    event_config,
    quiet_attempt_config,
)
from l0.integrations.langchain._messages import (
    OutputBuilder,
    continued_input,
    is_chat_model,
    to_messages,
)
from l0.integrations.langchain._options import configured_options, run_context
from l0.integrations.langchain._released import ReleasedRuns
from l0.observability.events import EventName
from l0.runtime.events import EventHandler
from l0.runtime.stream import Stream
from l0.types import Attempt, Continuation, EventType, ObservabilityEvent, Retry

if TYPE_CHECKING:
    from typing import Protocol

    class Owner(Protocol):
        """What a :class:`Session` reads from the wrapper it runs (``L0Runnable``,
        ``L0ChatModel``)."""

        @property
        def runnable(self) -> Runnable[Any, Any] | None: ...
        @property
        def on_event(self) -> EventHandler | None: ...
        def runnables(self) -> list[Runnable[Any, Any]]: ...
        def l0_options(self) -> dict[str, Any]: ...
        def continuation_settings(self) -> Continuation | None: ...
        def zero_output_check(self) -> bool: ...


__all__ = ["L0_EVENTS", "RESET", "Session", "reset_notice"]

L0_EVENTS: Mapping[str, str] = {
    EventName.RETRY_ATTEMPT.value: "l0_retry",
    EventName.FALLBACK_START.value: "l0_fallback",
    EventName.RESET.value: "l0_reset",
    EventName.RESUME_START.value: "l0_resume",
    EventName.TIMEOUT_TRIGGERED.value: "l0_timeout",
    EventName.GUARDRAIL_RULE_RESULT.value: "l0_violation",
}
"""Lifecycle events dispatched as LangChain custom events (``on_custom_event`` in
``astream_events(version="v2")``), by l0 event name -> custom event name."""

RESET = object()
"""Yielded by :meth:`Session.outputs` where earlier outputs must be dropped (a restart)."""

_NO_RETRY = Retry(attempts=0, max_retries=0)


class _TrackingAdapter(LangChainAdapter):
    """The LangChain adapter, remembering the stream of the current attempt."""

    def __init__(self) -> None:
        self.current: LangChainStream | None = None

    def open(self, obj: object, *, keep_raw: bool = False) -> AdapterStream:
        stream = super().open(obj, keep_raw=keep_raw)
        assert isinstance(stream, LangChainStream)
        self.current = stream
        return stream


class Session:
    """The l0 run behind one call of an ``L0Runnable`` (model mode or guard mode).

    Args:
        owner: The runnable being executed.
        value: The whole input (model mode) or ``None`` (guard mode).
        upstream: The upstream chunks (guard mode).
        config: The child config of the ``L0Runnable`` run.
        run_manager: The ``L0Runnable`` run (a chain run), or the ``L0ChatModel`` run.
        kwargs: Call kwargs, passed on to the inner runnables.
        sync: Drive the inner runnables' sync ``stream()`` on worker threads.
        chat_run: The owner is itself a chat-model run (``L0ChatModel``): attempts report
            to no callback (see :mod:`._callbacks`).
    """

    def __init__(
        self,
        owner: Owner,
        value: Any,
        *,
        upstream: AsyncIterator[Any] | Iterator[Any] | None = None,
        config: RunnableConfig,
        run_manager: Any,
        kwargs: Mapping[str, Any],
        sync: bool = False,
        chat_run: bool = False,
    ) -> None:
        self.owner = owner
        self.value = value
        self.upstream = upstream
        self.config = config
        self.run_manager = run_manager
        self.kwargs = dict(kwargs)
        self.sync = sync
        self.chat_run = chat_run
        self.events_config = event_config(run_manager) if chat_run else config
        self.adapter = _TrackingAdapter()
        # Without a run manager, LangChain gives the chunks its own run id.
        run_id = getattr(run_manager, "run_id", None)
        self.builder = OutputBuilder(f"lc_run--{run_id}" if run_id is not None else None)
        self.continuation = owner.continuation_settings()
        self.messages = self._continuable_messages()
        self._pending: list[Any] = []
        self.reset_cause: BaseException | None = None  # why the last RESET happened
        self.reset_data: dict[str, Any] = {}
        # A chain run (L0Runnable) reports its chat-model attempts itself, with the tokens
        # l0 released (see :mod:`._released`); an L0ChatModel *is* the reported run.
        self.released = ReleasedRuns(run_manager) if run_manager and not chat_run else None
        self.stream: Stream | None = None

    def _continuable_messages(self) -> list[Any] | None:
        """The input as messages when every runnable is a chat model that can continue it."""
        if self.continuation is None or self.owner.runnable is None:
            return None
        if not all(is_chat_model(r) for r in self.owner.runnables()):
            return None
        return to_messages(self.value)

    # -- the l0 run ----------------------------------------------------------------------------

    def open(self) -> Stream:
        """The l0 stream of this call."""
        owner = self.owner
        guard = owner.runnable is None
        if guard:
            sources: list[Any] = [self._tap]
        else:
            sources = [self._source(r, i) for i, r in enumerate(owner.runnables())]
        options = owner.l0_options()
        options.update(configured_options(self.config.get("configurable") or {}))
        options["context"] = run_context(owner.runnable, options.get("context"))
        if guard:
            options["retry"] = _NO_RETRY  # the upstream cannot be re-run
        self.stream = l0_stream(
            sources[0],
            fallbacks=sources[1:],
            continuation=self.continuation if self.messages is not None else False,
            on_event=self._on_event,
            adapter=self.adapter,
            detect_zero_output=owner.zero_output_check(),
            **options,
        )
        return self.stream

    def _source(self, runnable: Runnable[Any, Any], index: int) -> Any:
        async def source(attempt: Attempt) -> Any:
            value = self._input_for(attempt)
            messages = to_messages(value) if is_chat_model(runnable) else None
            if self.chat_run:
                child = quiet_attempt_config(self.config)
            elif self.released is not None and messages is not None:
                errors = self.stream.errors if self.stream is not None else []
                await self.released.open(
                    runnable,
                    messages,
                    self.kwargs,
                    attempt=attempt.number,
                    fallback_index=index,
                    error=errors[-1] if errors else None,
                )
                child = quiet_attempt_config(self.config)
            else:
                child = attempt_child_config(self.config, self.run_manager, attempt.number, index)
            chunks: Any
            if self.sync:
                chunks = ThreadedChunks(runnable.stream(value, child, **self.kwargs))
            else:
                chunks = runnable.astream(value, child, **self.kwargs)
            return chunks

        return source

    def _input_for(self, attempt: Attempt) -> Any:
        if not attempt.checkpoint or self.messages is None:
            return self.value
        return continued_input(self.messages, attempt.checkpoint, self.continuation)

    async def _tap(self) -> AsyncIterator[Any]:
        """Guard mode: the upstream chunks, each kept until l0 has checked it."""
        upstream = self.upstream
        chunks: Any = ThreadedChunks(upstream) if isinstance(upstream, Iterator) else upstream
        try:
            async for chunk in chunks:
                self._pending.append(chunk)
                yield chunk
        finally:
            closer = getattr(chunks, "aclose", None)
            if closer is not None:
                await closer()

    async def _on_event(self, event: ObservabilityEvent) -> None:
        name = L0_EVENTS.get(event.name)
        if event.name == EventName.RESET.value:
            # Dispatched by the consumer instead (:meth:`reset_notice`): after the chunks
            # it takes back have gone out, never before the failed attempt's last chunk.
            self.reset_data = {"attempt": event.attempt, "stream_id": event.stream_id}
            self.reset_data.update(event.data)
            name = None
        if name is not None and can_dispatch(self.events_config):
            data = {"attempt": event.attempt, "stream_id": event.stream_id, **event.data}
            await adispatch_custom_event(name, data, config=self.events_config)
        user = self.owner.on_event
        if user is not None:
            result = user(event)
            if result is not None:
                await result

    # -- outputs -------------------------------------------------------------------------------

    def outputs(self) -> AsyncGenerator[Any, None]:
        """The outputs to yield, in order; :data:`RESET` where a restart drops earlier ones.

        Produced in a task of their own (see :func:`~._bridge.isolated`).
        """
        return isolated(self._outputs())

    async def _outputs(self) -> AsyncGenerator[Any, None]:
        async with self.open() as stream:
            if self.owner.runnable is None:
                released = 0  # characters l0 has released (checked release holds some back)
                passed = 0  # characters of the upstream chunks passed on
                async for ev in stream:
                    # Guard mode: pass on the upstream chunks whose text l0 has released.
                    kind = ev.type
                    if kind is EventType.TOKEN:
                        released += len(ev.text or "")
                    elif kind is EventType.RESET:
                        continue
                    elif kind is EventType.COMPLETE:
                        released = 1 << 62
                    pending = self._pending
                    i = 0
                    while i < len(pending):
                        size = _text_length(pending[i])
                        if passed + size > released:
                            break
                        passed += size
                        i += 1
                    self._pending = pending[i:]
                    for chunk in pending[:i]:
                        yield chunk
                return
            builder = self.builder
            adapter = self.adapter
            reporter = self.released
            try:
                async for ev in stream:
                    kind = ev.type
                    if kind is EventType.COMPLETE:
                        last = builder.last(ev.data, adapter.current)
                        if reporter is not None:
                            if last is not None:
                                await reporter.token(last)
                            await reporter.end()
                        if last is not None:
                            yield last
                    elif kind is EventType.RESET:
                        errors = stream.errors
                        self.reset_cause = errors[-1] if errors else None
                        yield RESET
                    else:
                        item = builder.item(ev, adapter.current)
                        if item is not None:
                            if reporter is not None:
                                await reporter.token(item)
                            yield item
            except BaseException as exc:
                if reporter is not None:
                    await reporter.fail(exc)
                raise


async def reset_notice(session: Session, *, streamed: bool) -> None:
    """At a :data:`RESET` read by the consumer: dispatch ``l0_reset`` (in order with the
    chunks already out), then, when chunks were already streamed to a caller that cannot
    take them back, raise :class:`~l0.errors.OutputRetractedError`."""
    data = session.reset_data
    if can_dispatch(session.events_config):
        await adispatch_custom_event("l0_reset", dict(data), config=session.events_config)
    if streamed:
        raise OutputRetractedError(session.reset_cause, int(data.get("discard", 0)))


def _text_length(chunk: Any) -> int:
    """Characters of answer text in an upstream chunk (as l0's adapter decodes it)."""
    content = getattr(chunk, "content", chunk)
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(
            len(part.get("text", "")) if isinstance(part, dict) else len(str(part))
            for part in content
            if isinstance(part, (dict, str))
            and (not isinstance(part, dict) or part.get("type") == "text")
        )
    return 0


def continuation_of(value: bool | Continuation | None) -> Continuation | None:
    """Normalise the ``continuation`` option."""
    if value is None or value is False:
        return None
    if value is True:
        return Continuation()
    return value
