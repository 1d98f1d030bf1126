"""Where l0's LangChain runs meet LangChain's callback system (kept in one place).

- :func:`attempt_child_config`: an ``L0Runnable`` (a chain run) calls each attempt of its
  inner runnable as a child run tagged ``l0:attempt:N``, so traces show every attempt;
- :func:`quiet_attempt_config`: an ``L0ChatModel`` *is* the chat-model run. Its callbacks
  (``on_chat_model_start``, ``on_llm_new_token``, ``on_llm_end``) report the tokens l0
  released, once; the provider attempts behind it run without callbacks, so a handler never
  sees a second chat-model run or the raw tokens of an attempt l0 discarded;
- :func:`event_config`: the config that l0's custom events (``l0_retry``, ``l0_fallback``,
  …) are dispatched with, under the run that owns them.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackManager, BaseCallbackManager
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import (
    ensure_config,
    patch_config,
    var_child_runnable_config,
)

__all__ = ["attempt_child_config", "can_dispatch", "event_config", "quiet_attempt_config"]


def attempt_child_config(
    config: RunnableConfig, run_manager: Any, attempt: int, fallback_index: int
) -> RunnableConfig:
    """The config of one attempt as a child run of ``run_manager`` (a chain run)."""
    manager = run_manager.get_child(f"l0:attempt:{attempt}")
    manager.add_metadata(
        {"l0_attempt": attempt, "l0_fallback_index": fallback_index}, inherit=False
    )
    return patch_config(config, callbacks=manager)


def quiet_attempt_config(config: RunnableConfig) -> RunnableConfig:
    """The config of one attempt that reports to no callback handler.

    Call it in the task (or thread context) that runs the attempt: it also clears
    LangChain's context-variable config there, whose callbacks (the caller's) a binding
    around the model would otherwise merge back in.
    """
    var_child_runnable_config.set(None)
    out = patch_config(config)
    out["callbacks"] = []  # not None: an empty list replaces the inherited handlers
    return out


def event_config(run_manager: Any) -> RunnableConfig:
    """A config whose callbacks dispatch custom events under ``run_manager``'s run.

    Works for chain runs and chat-model runs, sync or async managers alike. Without a run
    manager (``BaseChatModel.astream``/``stream`` do not hand theirs to ``_astream``), the
    events go to the enclosing run, if any (LangChain's context-variable config).
    """
    if run_manager is None:
        return ensure_config()
    manager = AsyncCallbackManager(
        handlers=list(run_manager.handlers),
        inheritable_handlers=list(run_manager.inheritable_handlers),
        parent_run_id=run_manager.run_id,
        tags=list(run_manager.inheritable_tags),
        inheritable_tags=list(run_manager.inheritable_tags),
        metadata=dict(run_manager.inheritable_metadata),
        inheritable_metadata=dict(run_manager.inheritable_metadata),
    )
    return RunnableConfig(callbacks=manager)


def can_dispatch(config: RunnableConfig) -> bool:
    """True when ``config`` has a run to dispatch custom events under."""
    callbacks = config.get("callbacks")
    return isinstance(callbacks, BaseCallbackManager) and callbacks.parent_run_id is not None
