"""The chat-model runs of an ``L0Runnable``'s attempts, reported by l0 with released tokens.

A chat model reports its own run to the callbacks it is given: ``on_chat_model_start``, one
``on_llm_new_token`` per raw provider chunk, ``on_llm_end``. Those raw chunks are not what the
user gets: a resumed attempt restates part of the checkpoint (l0 removes the overlap), and
under ``release="checked"`` a rejected answer never leaves l0. So an ``L0Runnable`` runs each
chat-model attempt without callbacks and reports the attempt's run itself, under its own
run, tagged ``l0:attempt:N``:

- ``on_chat_model_start`` when the attempt opens (the model's serialisation, invocation
  parameters and LangSmith ``ls_`` metadata, as the model would report them);
- ``on_llm_new_token`` for each chunk l0 **releases** while that attempt is the current one
  (so ``astream_events``' ``on_chat_model_stream`` carries exactly what ``astream`` yields);
- ``on_llm_error`` when the next attempt opens or the run fails, ``on_llm_end`` (with the
  message the attempt's released chunks make) when the answer completes.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackManager
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, LLMResult
from langchain_core.runnables import Runnable
from langchain_core.runnables.base import RunnableBindingBase

from l0.integrations.langchain._messages import Accumulator

__all__ = ["ReleasedRuns"]


def _model_and_kwargs(runnable: Runnable[Any, Any]) -> tuple[BaseChatModel, dict[str, Any]]:
    """The chat model behind ``runnable`` and the keywords its bindings add."""
    kwargs: dict[str, Any] = {}
    while isinstance(runnable, RunnableBindingBase):
        kwargs = {**runnable.kwargs, **kwargs}
        runnable = runnable.bound
    assert isinstance(runnable, BaseChatModel)
    return runnable, kwargs


class ReleasedRuns:
    """Reports each chat-model attempt of one ``L0Runnable`` call as a child run.

    Args:
        run_manager: The ``L0Runnable`` run (an async chain-run manager).
    """

    def __init__(self, run_manager: Any) -> None:
        self.run_manager = run_manager
        self.current: Any = None  # the open attempt run
        self.acc = Accumulator()

    async def open(
        self,
        runnable: Runnable[Any, Any],
        messages: list[BaseMessage],
        kwargs: dict[str, Any],
        *,
        attempt: int,
        fallback_index: int,
        error: BaseException | None,
    ) -> None:
        """Start the run of attempt ``attempt``; the previous one ends with ``error``."""
        await self.fail(error or RuntimeError("superseded by the next attempt"))
        model, bound = _model_and_kwargs(runnable)
        call = {**bound, **kwargs}
        call.pop("ls_structured_output_format", None)
        stop = call.pop("stop", None)
        manager = self.run_manager.get_child(f"l0:attempt:{attempt}")
        manager.add_metadata(
            {"l0_attempt": attempt, "l0_fallback_index": fallback_index}, inherit=False
        )
        params = model._get_invocation_params(stop=stop, **call)
        ls_params = dict(model._get_ls_params_with_defaults(stop=stop, **call))
        callbacks = AsyncCallbackManager.configure(
            manager, model.callbacks, model.verbose, None, model.tags, ls_params, model.metadata
        )
        (self.current,) = await callbacks.on_chat_model_start(
            model._serialized,
            [messages],
            invocation_params=params,
            options={"stop": stop},
            batch_size=1,
        )
        self.acc = Accumulator()

    async def token(self, item: Any) -> None:
        """Report a released output (an ``AIMessageChunk``) on the current attempt's run."""
        run = self.current
        if run is None or not isinstance(item, AIMessageChunk):
            return
        self.acc.add(item)
        await run.on_llm_new_token(item.text, chunk=ChatGenerationChunk(message=item))

    async def end(self) -> None:
        """The answer is complete: the current attempt's run ends with its released message."""
        run, self.current = self.current, None
        if run is None:
            return
        message = self.acc.value
        generation: list[Any] = [] if message is None else [ChatGeneration(message=message)]
        await run.on_llm_end(LLMResult(generations=[generation]))

    async def fail(self, error: BaseException) -> None:
        """The current attempt's run (if any) ends with ``error``."""
        run, self.current = self.current, None
        if run is not None:
            await run.on_llm_error(error)
