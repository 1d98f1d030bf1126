"""``L0Runnable``: l0's reliability as a LangChain ``Runnable``.

LangChain's ``with_retry()`` never retries a stream and ``with_fallbacks()`` gives up once
the first chunk was read. ``L0Runnable`` owns the stream of the runnable it wraps (model
mode) and runs it through :func:`l0.stream`, so a failure after chunks were emitted is
continued from the checkpoint, retried, or sent to a fallback; or it watches an upstream
stream (guard mode) and raises typed l0 errors. See ``docs/langchain.md``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import typing
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForChainRun
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableConfig, RunnableSerializable
from langchain_core.runnables.config import ensure_config
from pydantic import ConfigDict, model_validator
from typing_extensions import Self

from l0.integrations.langchain._bridge import call_blocking, closing, iterate_blocking
from l0.integrations.langchain._messages import Accumulator, is_chat_model
from l0.integrations.langchain._options import L0Options, check_option_names
from l0.integrations.langchain._rewrap import structured_output, unwrap
from l0.integrations.langchain._session import (
    L0_EVENTS,
    RESET,
    Session,
    continuation_of,
    reset_notice,
)
from l0.types import Continuation

__all__ = ["L0_EVENTS", "L0Runnable"]


class L0Runnable(RunnableSerializable[Any, Any], L0Options):
    """A reliable LangChain runnable: retries, continuation, fallbacks, timeouts, guardrails.

    **Model mode** (``runnable`` given)::

        chain = prompt | L0Runnable(ChatOpenAI(...), fallbacks=[ChatAnthropic(...)]) | parser

    **Guard mode** (no ``runnable``): ``chain | L0Runnable(guardrails=..., timeout=...)``
    passes the upstream chunks through unchanged while applying guardrails, drift and stall
    timeouts, and raises typed l0 errors (no retry: it cannot re-run the upstream).

    Outputs are ``AIMessageChunk`` objects (``AIMessage`` from ``invoke``) when the inner
    runnable streams messages, else the inner runnable's own outputs.

    Attributes:
        runnable: The primary runnable (``None``: guard mode).
        fallbacks, retry, timeout, guardrails, …: Every option of :func:`l0.stream` that
            applies (:class:`~l0.integrations.langchain._options.L0Options`), ``record`` and
            ``context`` included. ``detect_zero_output`` defaults to on for chat models and
            text outputs, off otherwise and in guard mode.
    """

    runnable: Runnable[Any, Any] | None = None

    model_config = ConfigDict(arbitrary_types_allowed=True)

    def __init__(self, runnable: Runnable[Any, Any] | None = None, /, **kwargs: Any) -> None:
        """Wrap ``runnable`` (model mode) or nothing (guard mode); options are keywords
        (a misspelt one raises ``TypeError`` naming the closest valid option)."""
        check_option_names("L0Runnable", kwargs, type(self).model_fields)
        if runnable is not None:
            kwargs["runnable"] = runnable
        super().__init__(**kwargs)

    @model_validator(mode="after")
    def _validate(self) -> Self:
        if self.runnable is None and self.fallbacks:
            raise ValueError("L0Runnable: fallbacks need a primary runnable (model mode)")
        self.check_l0_options()
        return self

    # -- introspection -------------------------------------------------------------------------

    def runnables(self) -> list[Runnable[Any, Any]]:
        """The primary runnable then every fallback (empty in guard mode)."""
        return [] if self.runnable is None else [self.runnable, *self.fallbacks]

    def continuation_settings(self) -> Continuation | None:
        """The continuation settings, or ``None`` when off."""
        return continuation_of(self.continuation)

    def zero_output_check(self) -> bool:
        """Whether an empty answer is an error for this runnable."""
        if self.detect_zero_output is not None:
            return self.detect_zero_output
        r = self.runnable
        return r is not None and (is_chat_model(r) or r.OutputType is str)

    @property
    def InputType(self) -> Any:  # noqa: N802 - LangChain's name
        return self.runnable.InputType if self.runnable is not None else Any

    @property
    def OutputType(self) -> Any:  # noqa: N802 - LangChain's name
        return self.runnable.OutputType if self.runnable is not None else Any

    # -- async execution -----------------------------------------------------------------------

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Run to completion; the merged output (an ``AIMessage`` for chat models)."""
        return await self._acall_with_config(
            functools.partial(self._ainvoke, call_kwargs=kwargs), input, config
        )

    async def _ainvoke(
        self,
        input: Any,
        run_manager: AsyncCallbackManagerForChainRun,
        config: RunnableConfig,
        *,
        call_kwargs: dict[str, Any],
        sync: bool = False,
    ) -> Any:
        session = self._session(input, None, config, run_manager, call_kwargs, sync)
        acc = Accumulator()
        async for item in session.outputs():
            if item is RESET:
                await reset_notice(session, streamed=False)
                acc.reset()
            else:
                acc.add(item)
        return acc.value

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any | None
    ) -> AsyncIterator[Any]:
        """Stream the outputs (``AIMessageChunk`` objects for chat models)."""

        async def one() -> AsyncIterator[Any]:
            yield input

        # Close the inner generators at once when the consumer leaves early (not at GC).
        async with closing(self.atransform(one(), config, **kwargs)) as items:
            async for item in items:
                yield item

    async def atransform(
        self, input: AsyncIterator[Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        """Stream from an input stream: gathered into one input (model mode) or watched
        chunk by chunk (guard mode)."""
        transformer = functools.partial(self._atransform, call_kwargs=kwargs)
        items = self._atransform_stream_with_config(input, transformer, config)
        async with closing(items):
            async for item in items:
                yield item

    async def _atransform(
        self,
        inputs: AsyncIterator[Any],
        run_manager: AsyncCallbackManagerForChainRun,
        config: RunnableConfig,
        *,
        call_kwargs: dict[str, Any],
        sync: bool = False,
        upstream: Iterator[Any] | None = None,
    ) -> AsyncIterator[Any]:
        if self.runnable is None:
            chunks = inputs if upstream is None else upstream
            session = self._session(None, chunks, config, run_manager, call_kwargs, sync)
        else:
            value = await _gather(inputs)
            session = self._session(value, None, config, run_manager, call_kwargs, sync)
        streamed = False
        async with contextlib.aclosing(session.outputs()) as items:
            async for item in items:
                if item is RESET:
                    # A stream cannot take chunks back: raise rather than glue two answers.
                    await reset_notice(session, streamed=streamed)
                else:
                    streamed = True
                    yield item

    def _session(
        self,
        value: Any,
        upstream: AsyncIterator[Any] | Iterator[Any] | None,
        config: RunnableConfig,
        run_manager: AsyncCallbackManagerForChainRun,
        kwargs: dict[str, Any],
        sync: bool,
    ) -> Session:
        return Session(
            self,
            value,
            upstream=upstream,
            config=config,
            run_manager=run_manager,
            kwargs=kwargs,
            sync=sync,
        )

    # -- sync execution: the async paths on a portal thread ------------------------------------

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Blocking :meth:`ainvoke` (works with or without a running event loop)."""
        config = ensure_config(config)
        fn = functools.partial(self._ainvoke, call_kwargs=kwargs, sync=True)
        return call_blocking(lambda: self._acall_with_config(fn, input, config))

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any | None
    ) -> Iterator[Any]:
        """Blocking :meth:`astream`."""
        return self.transform(iter([input]), config, **kwargs)

    def transform(
        self, input: Iterator[Any], config: RunnableConfig | None = None, **kwargs: Any | None
    ) -> Iterator[Any]:
        """Blocking :meth:`atransform`; the inner runnables run their sync ``stream()``.

        Model mode gathers the input here; guard mode reads the upstream on worker threads.
        """
        config = ensure_config(config)
        upstream: Iterator[Any] | None = None
        if self.runnable is not None:
            inputs = [_gather_sync(input)]
        else:
            upstream, inputs = input, []
        fn = functools.partial(self._atransform, call_kwargs=kwargs, sync=True, upstream=upstream)
        yield from iterate_blocking(
            lambda: self._atransform_stream_with_config(_aiter(inputs), fn, config)
        )

    # -- re-wrapping (bind_tools, with_structured_output, …) -----------------------------------

    def with_structured_output(
        self, schema: Any, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[Any, Any]:
        """Structured output as the wrapped chat models give it, every ``method``.

        Each model builds its own structured output; only its model step is wrapped (an
        ``L0Runnable`` over every model's step), so the parsers see the whole answer as in
        LangChain: a non-JSON answer raises ``OutputParserException``, ``include_raw=True``
        gives ``{"raw", "parsed", "parsing_error"}``. Runnables that are not chat models are
        re-wrapped whole (their own ``with_structured_output``).

        Args:
            schema: A pydantic class, TypedDict or JSON schema.
            include_raw: Return ``{"raw", "parsed", "parsing_error"}`` instead.
            **kwargs: Passed on (``method``, ``strict``, …).
        """
        models = [unwrap(r) for r in self.runnables()]
        if not models or not all(isinstance(m, BaseChatModel) for m in models):
            rewrap = self.__getattr__("with_structured_output")
            return typing.cast(
                Runnable[Any, Any], rewrap(schema, include_raw=include_raw, **kwargs)
            )

        def wrap(steps: list[Runnable[Any, Any]], can_continue: bool) -> Runnable[Any, Any]:
            fields = {key: getattr(self, key) for key in type(self).model_fields}
            fields.update(runnable=steps[0], fallbacks=steps[1:])
            if not can_continue:
                fields["continuation"] = False
            return type(self)(**fields)

        chat = typing.cast(list[BaseChatModel], models)
        return structured_output(chat, wrap, "L0Runnable", schema, include_raw, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or self.__dict__.get("runnable") is None:
            return super().__getattr__(name)  # type: ignore[misc]
        attr = getattr(self.__dict__["runnable"], name)
        if not _returns_runnable(attr):
            return attr

        @functools.wraps(attr)
        def rewrap(*args: Any, **kwargs: Any) -> L0Runnable:
            fields = {key: getattr(self, key) for key in type(self).model_fields}
            fields["runnable"] = attr(*args, **kwargs)
            fields["fallbacks"] = [getattr(f, name)(*args, **kwargs) for f in self.fallbacks]
            return type(self)(**fields)

        return rewrap


async def _aiter(items: list[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


def _returns_runnable(attr: Any) -> bool:
    """True for a method annotated to return a ``Runnable`` (``bind_tools`` and friends)."""
    if not callable(attr) or not (inspect.ismethod(attr) or inspect.isfunction(attr)):
        return False
    try:
        hint = typing.get_type_hints(attr).get("return")
    except Exception:  # unresolvable annotations: not a re-wrappable method
        return False
    return _is_runnable_hint(hint)


def _is_runnable_hint(hint: Any) -> bool:
    if inspect.isclass(hint):
        return issubclass(hint, Runnable)
    origin = typing.get_origin(hint)
    if inspect.isclass(origin):
        return issubclass(origin, Runnable)
    if origin is typing.Union:
        return all(_is_runnable_hint(h) for h in typing.get_args(hint))
    return False


async def _gather(inputs: AsyncIterator[Any]) -> Any:
    acc: Any = None
    async for chunk in inputs:
        acc = chunk if acc is None else acc + chunk
    return acc


def _gather_sync(inputs: Iterator[Any]) -> Any:
    acc: Any = None
    for chunk in inputs:
        acc = chunk if acc is None else acc + chunk
    return acc
