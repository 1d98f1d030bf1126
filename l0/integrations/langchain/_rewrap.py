"""Finding and replacing the chat-model step inside a runnable graph.

``with_structured_output`` of a chat model returns ``model.bind(...) | parser`` (or, with
``include_raw=True``, a ``RunnableParallel`` around the binding, then parsers).
``L0ChatModel`` builds that for each wrapped model, takes out each model's binding, and puts
one ``L0ChatModel`` over all of them back in the primary's place.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableParallel, RunnableSequence
from langchain_core.runnables.base import RunnableBindingBase

__all__ = ["find_chat_model", "swap", "unwrap"]


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
