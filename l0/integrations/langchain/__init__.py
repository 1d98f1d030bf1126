"""LangChain integration: :class:`L0ChatModel` and :class:`L0Runnable`
(``pip install 'l0[langchain]'``).

:class:`L0ChatModel` is a ``BaseChatModel`` over chat models: use it wherever a chat model
is expected (agents, ``bind_tools``, ``with_structured_output``). :class:`L0Runnable` wraps
any runnable, in two modes (see ``docs/langchain.md``):

- **model mode** ``L0Runnable(llm, fallbacks=[...])`` owns the model call: a failure after
  chunks were streamed is continued from the checkpoint, retried or sent to a fallback;
- **guard mode** ``chain | L0Runnable(guardrails=..., timeout=...)`` watches an upstream
  stream and raises typed l0 errors that an outer ``L0Runnable`` can act on.
"""

try:
    import langchain_core  # noqa: F401
except ModuleNotFoundError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "l0.integrations.langchain needs langchain-core: pip install 'l0[langchain]'"
    ) from exc

from l0.integrations.langchain.chat_model import L0ChatModel
from l0.integrations.langchain.runnable import L0_EVENTS, L0Runnable

__all__ = ["L0_EVENTS", "L0ChatModel", "L0Runnable"]
