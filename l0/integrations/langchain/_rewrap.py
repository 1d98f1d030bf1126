"""Finding and replacing the chat-model step inside a runnable graph.

``with_structured_output`` of a chat model returns ``model.bind(...) | parser`` (or, with
``include_raw=True``, a ``RunnableParallel`` around the binding, then parsers).
``L0ChatModel`` and ``L0Runnable`` build that for each wrapped model, take out each model's
binding, and put one l0 wrapper over all of them back in the primary's place, so the parsers
run after the whole answer exactly as LangChain's own (a non-JSON answer raises
``OutputParserException``, ``include_raw`` gives ``{"raw", "parsed", "parsing_error"}``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import (
    Runnable,
    RunnableLambda,
    RunnableParallel,
    RunnablePassthrough,
    RunnableSequence,
)
from langchain_core.runnables.base import RunnableBindingBase
from pydantic import BaseModel

__all__ = ["find_chat_model", "structured_output", "swap", "unwrap"]


def unwrap(runnable: Runnable[Any, Any]) -> Runnable[Any, Any]:
    """``runnable`` without its ``bind``/``with_config`` bindings."""
    while isinstance(runnable, RunnableBindingBase):
        runnable = runnable.bound
    return runnable


def _children(runnable: Runnable[Any, Any]) -> list[Runnable[Any, Any]]:
    if isinstance(runnable, RunnableSequence):
        return list(runnable.steps)
    if isinstance(runnable, RunnableParallel):
        return list(runnable.steps__.values())
    return []


def find_chat_model(runnable: Runnable[Any, Any]) -> Runnable[Any, Any] | None:
    """The first step (depth first) that is a chat model or a binding of one."""
    if isinstance(unwrap(runnable), BaseChatModel):
        return runnable
    for child in _children(runnable):
        found = find_chat_model(child)
        if found is not None:
            return found
    return None


def swap(
    runnable: Runnable[Any, Any], old: Runnable[Any, Any], new: Runnable[Any, Any]
) -> Runnable[Any, Any]:
    """``runnable`` with the step ``old`` (by identity) replaced by ``new``."""
    if runnable is old:
        return new
    if isinstance(runnable, RunnableSequence):
        steps = [swap(step, old, new) for step in runnable.steps]
        if all(a is b for a, b in zip(steps, runnable.steps, strict=True)):
            return runnable
        return RunnableSequence(*steps, name=runnable.name)
    if isinstance(runnable, RunnableParallel):
        branches = {k: swap(v, old, new) for k, v in runnable.steps__.items()}
        if all(branches[k] is v for k, v in runnable.steps__.items()):
            return runnable
        return RunnableParallel(branches)
    return runnable


def structured_output(
    models: list[BaseChatModel],
    wrap: Callable[[list[Runnable[Any, Any]], bool], Runnable[Any, Any]],
    who: str,
    schema: Any,
    include_raw: bool,
    kwargs: dict[str, Any],
) -> Runnable[Any, Any]:
    """Each model's own ``with_structured_output``, its model step wrapped by ``wrap``.

    Args:
        models: The primary chat model then every fallback.
        wrap: Builds the l0 wrapper over the models' bindings (primary first); its second
            argument is False when the answer must restart rather than continue.
        who: The caller's name, for the error message.
        schema: Passed on to each model's ``with_structured_output``.
        include_raw: Passed on.
        kwargs: Passed on (``method``, ``strict``, …).

    Raises:
        NotImplementedError: When a model's structured output has no chat model step.
    """
    outs = [m.with_structured_output(schema, include_raw=include_raw, **kwargs) for m in models]
    found = [find_chat_model(out) for out in outs]
    steps = [f for f in found if f is not None]
    if len(steps) != len(outs):
        raise NotImplementedError(
            f"{who}.with_structured_output: a wrapped model's structured output has "
            "no chat model step to wrap"
        )
    # The OpenAI SDK parses a pydantic ``response_format`` answer per request: a continued
    # attempt (only the rest of the text) cannot parse, so those answers restart instead.
    wrapped = wrap(steps, not any(_pydantic_format(step) for step in steps))
    if len(steps) == 1:
        return swap(outs[0], steps[0], wrapped)
    # Each model's answer goes through that model's own parsers (OpenAI's json_schema
    # parser reads a field only OpenAI sets): the steps after the model, fed the message.
    tails = [swap(out, m, RunnablePassthrough()) for out, m in zip(outs, steps, strict=True)]

    def parse(message: BaseMessage) -> Runnable[Any, Any]:
        return tails[_answered_by(message, len(tails))]

    return wrapped | RunnableLambda(parse, name="l0_structured_output")


def _answered_by(message: BaseMessage, models: int) -> int:
    """The index of the model (primary 0, then fallbacks) that gave ``message``."""
    index = message.response_metadata.get("l0", {}).get("fallback_index", 0)
    return index if isinstance(index, int) and 0 <= index < models else 0


def _pydantic_format(step: Runnable[Any, Any]) -> type[BaseModel] | None:
    """The pydantic class of an OpenAI-style ``response_format`` binding, if any."""
    if not isinstance(step, RunnableBindingBase):
        return None
    fmt = step.kwargs.get("response_format")
    return fmt if isinstance(fmt, type) and issubclass(fmt, BaseModel) else None
