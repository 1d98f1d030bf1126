"""``L0ChatModel``: l0's reliability as a LangChain chat model (a ``BaseChatModel``).

Wherever LangChain or LangGraph expects a chat model (``isinstance(m, BaseChatModel)``,
prebuilt agents, ``bind_tools``, ``with_structured_output``, token counting, tracing
parameters), an ``L0ChatModel`` stands in for the model it wraps: every call streams the
wrapped model through :func:`l0.stream`, with retries, continuation from the checkpoint,
fallbacks to other chat models, timeouts and guardrails. See ``docs/langchain.md``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, ClassVar

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import (
    Runnable,
    RunnableBinding,
)
from langchain_core.runnables.config import ensure_config
from pydantic import Field, model_validator
from typing_extensions import Self

from l0.integrations.langchain._bridge import call_blocking, closing, iterate_blocking
from l0.integrations.langchain._messages import Accumulator, is_chat_model
from l0.integrations.langchain._options import RUN_OPTIONS, L0Options, check_option_names
from l0.integrations.langchain._rewrap import structured_output, unwrap
from l0.integrations.langchain._session import RESET, Session, continuation_of, reset_notice
from l0.runtime.options import build_options
from l0.types import Continuation

__all__ = ["L0ChatModel"]

# BaseChatModel's own fields describe the outer run (callbacks, tags, cache, rate limiter):
# in the class form they configure the wrapper, not the wrapped model.
_RUN_FIELDS = frozenset(BaseChatModel.model_fields) - {"custom_get_token_ids", "profile"}


class L0ChatModel(BaseChatModel, L0Options):
    """A reliable chat model: wraps chat models with retries, continuation, fallbacks,
    timeouts and guardrails, and is itself a ``BaseChatModel``.

    Example::

        llm = L0ChatModel(ChatOpenAI(model="gpt-4o-mini"), fallbacks=[ChatAnthropic(...)],
                          retry=l0.Retry(attempts=3), timeout=l0.Timeout(inter_token=10))
        agent = create_react_agent(llm, tools)

    ``bind_tools`` and ``with_structured_output`` are applied to the primary model and every
    fallback (each formats tools its own way), and the result is wrapped again. Introspection
    (``model_name``, ``_llm_type``, ``ls_`` tracing parameters, token counting) reports the
    primary model. Callbacks see one chat-model run whose tokens are the ones l0 released;
    the provider attempts behind it do not report to callbacks (see ``docs/langchain.md``).

    Attributes:
        runnable: The primary chat model (or a ``bind``/``bind_tools`` binding of one).
        fallbacks: Chat models tried in order once the primary is exhausted.
        retry, timeout, guardrails, …: Every option of :func:`l0.stream` that applies
            (:class:`~l0.integrations.langchain._options.L0Options`), ``record`` and
            ``context`` included. ``detect_zero_output`` defaults to on.
    """

    runnable: Runnable[LanguageModelInput, BaseMessage]
    fallbacks: Sequence[Runnable[LanguageModelInput, BaseMessage]] = Field(default_factory=list)

    L0_OPTIONS: ClassVar[frozenset[str]] = RUN_OPTIONS
    """The l0 options (also what :meth:`for_class` accepts)."""

    def __init__(
        self, runnable: Runnable[LanguageModelInput, BaseMessage] | None = None, /, **kwargs: Any
    ) -> None:
        """Wrap the chat model ``runnable``; options are keywords (misspelt ones raise)."""
        check_option_names("L0ChatModel", kwargs, type(self).model_fields)
        if runnable is not None:
            kwargs["runnable"] = runnable
        super().__init__(**kwargs)

    @model_validator(mode="after")
    def _validate(self) -> Self:
        for r in self.runnables():
            if not is_chat_model(r):
                raise ValueError(
                    f"L0ChatModel wraps chat models (BaseChatModel), got {type(r).__name__}; "
                    "use L0Runnable for other runnables"
                )
        self.check_l0_options()
        return self

    @classmethod
    def for_class(
        cls, chat_model_class: type[BaseChatModel], /, **options: Any
    ) -> type[L0ChatModel]:
        """A chat-model *class* whose instances are ``chat_model_class`` wrapped in l0.

        For code that builds models from a class and keyword arguments (model-init helpers,
        config files, ``langchain-tests``)::

            ReliableOpenAI = L0ChatModel.for_class(ChatOpenAI, retry=l0.Retry(attempts=5))
            llm = ReliableOpenAI(model="gpt-4o-mini", temperature=0)

        The instance keywords go to ``chat_model_class``, except LangChain's run-level fields
        (``callbacks``, ``tags``, ``metadata``, ``cache``, ``rate_limiter``, …), which
        configure the wrapper; ``output_version`` goes to both.

        Args:
            chat_model_class: The chat model class to wrap.
            **options: l0 options of every instance (see :class:`L0ChatModel`).

        Raises:
            TypeError: For an unknown (misspelt) option.
        """
        check_option_names("L0ChatModel.for_class", options, cls.L0_OPTIONS)
        checked: dict[str, Any] = {
            k: v for k, v in options.items() if k not in ("fallbacks", "detect_zero_output")
        }
        build_options((), **checked)  # l0's own errors for bad values, now
        fixed = dict(options)

        def __init__(self: L0ChatModel, **kwargs: Any) -> None:  # noqa: N807
            outer = {k: kwargs.pop(k) for k in list(kwargs) if k in _RUN_FIELDS}
            if "output_version" in outer:
                kwargs["output_version"] = outer["output_version"]
            L0ChatModel.__init__(self, chat_model_class(**kwargs), **fixed, **outer)

        name = f"L0{chat_model_class.__name__}"
        return type(name, (cls,), {"__init__": __init__, "__module__": cls.__module__})

    # -- what the l0 session reads -------------------------------------------------------------

    def runnables(self) -> list[Runnable[Any, Any]]:
        """The primary model then every fallback."""
        return [self.runnable, *self.fallbacks]

    def continuation_settings(self) -> Continuation | None:
        """The continuation settings, or ``None`` when off."""
        return continuation_of(self.continuation)

    def zero_output_check(self) -> bool:
        """Whether an empty answer (no text, no tool call) is an error."""
        return True if self.detect_zero_output is None else self.detect_zero_output

    # -- introspection: the primary model ------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # Model settings (``temperature``, ``openai_api_key``, …) read through to the primary.
        runnable = self.__dict__.get("runnable")
        if name.startswith("_") or runnable is None:
            return super().__getattr__(name)  # type: ignore[misc]
        return getattr(unwrap(runnable), name)

    @property
    def primary(self) -> BaseChatModel:
        """The primary chat model, unwrapped from any binding."""
        return _chat(self.runnable)

    @property
    def _llm_type(self) -> str:
        return self.primary._llm_type

    @property
    def model_name(self) -> str | None:
        """The primary model's name (``model_name`` or ``model``)."""
        name = getattr(self.primary, "model_name", None) or getattr(self.primary, "model", None)
        return name if isinstance(name, str) else None

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return dict(self.primary._identifying_params)

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        return self.primary._get_ls_params(stop=stop, **kwargs)

    def get_token_ids(self, text: str) -> list[int]:
        """The primary model's token ids of ``text``."""
        return self.primary.get_token_ids(text)

    def get_num_tokens(self, text: str) -> int:
        """The primary model's token count of ``text``."""
        return self.primary.get_num_tokens(text)

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """The primary model's token count of ``messages`` (and ``tools``)."""
        return self.primary.get_num_tokens_from_messages(messages, tools=tools)

    # -- execution -----------------------------------------------------------------------------

    def _session(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        run_manager: Any,
        kwargs: dict[str, Any],
        *,
        sync: bool,
    ) -> Session:
        kwargs.pop("ls_structured_output_format", None)
        if stop is not None:
            kwargs["stop"] = stop
        return Session(
            self,
            messages,
            config=ensure_config(),
            run_manager=run_manager,
            kwargs=kwargs,
            sync=sync,
            chat_run=True,
        )

    async def _chunks(self, session: Session) -> AsyncIterator[ChatGenerationChunk]:
        streamed = False
        async with closing(session.outputs()) as items:
            async for item in items:
                if item is RESET:
                    # A chat-model stream cannot take chunks back: raise, never glue.
                    await reset_notice(session, streamed=streamed)
                    continue
                streamed = True
                message = (
                    item if isinstance(item, AIMessageChunk) else AIMessageChunk(content=str(item))
                )
                yield ChatGenerationChunk(message=message)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        session = self._session(messages, stop, run_manager, kwargs, sync=False)
        async with closing(self._chunks(session)) as chunks:
            async for chunk in chunks:
                yield chunk

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        session = self._session(messages, stop, run_manager, kwargs, sync=True)
        yield from iterate_blocking(lambda: self._chunks(session))

    async def _result(self, session: Session) -> ChatResult:
        acc = Accumulator()
        async with closing(session.outputs()) as items:
            async for item in items:
                if item is RESET:
                    await reset_notice(session, streamed=False)
                    acc.reset()
                else:
                    acc.add(item)
        return ChatResult(generations=[ChatGeneration(message=acc.value)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await self._result(self._session(messages, stop, run_manager, kwargs, sync=False))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        session = self._session(messages, stop, run_manager, kwargs, sync=True)
        return call_blocking(lambda: self._result(session))

    # -- re-wrapping ---------------------------------------------------------------------------

    def _rewrapped(self, models: list[Runnable[Any, Any]]) -> L0ChatModel:
        return self.model_copy(update={"runnable": models[0], "fallbacks": models[1:]})

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind ``tools`` to the primary model and every fallback (each in its own format).

        Args:
            tools: Tools as every wrapped model's ``bind_tools`` accepts them.
            tool_choice: Passed on (``"any"``, a tool name, ``"auto"``, …).
            **kwargs: Passed on to each model's ``bind_tools``.
        """
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        bound = [_chat(m).bind_tools(tools, **kwargs) for m in self.runnables()]
        return RunnableBinding(bound=self._rewrapped(bound), kwargs={}, config={})

    def with_structured_output(
        self, schema: Any, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, Any]:
        """Structured output with every ``method`` the wrapped models support.

        Each model builds its own structured-output binding (tools or response format),
        and the answer is parsed by the parsers of the model that gave it. With fallbacks,
        the parsed object comes once the answer is complete (no partial objects).

        Args:
            schema: A pydantic class, TypedDict or JSON schema.
            include_raw: Return ``{"raw", "parsed", "parsing_error"}`` instead.
            **kwargs: Passed on (``method``, ``strict``, …).
        """

        def wrap(steps: list[Runnable[Any, Any]], can_continue: bool) -> Runnable[Any, Any]:
            model = self._rewrapped(steps)
            if not can_continue:
                model = model.model_copy(update={"continuation": False})
            wrapped: Runnable[Any, Any] = model
            primary = steps[0]
            if isinstance(primary, RunnableBinding):
                fmt = primary.kwargs.get("ls_structured_output_format")
                wrapped = wrapped.bind(ls_structured_output_format=fmt) if fmt else wrapped.bind()
            return wrapped

        models = [_chat(m) for m in self.runnables()]
        return structured_output(models, wrap, "L0ChatModel", schema, include_raw, kwargs)


def _chat(runnable: Runnable[Any, Any]) -> BaseChatModel:
    model = unwrap(runnable)
    assert isinstance(model, BaseChatModel)  # checked by the validator
    return model
