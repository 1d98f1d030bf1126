"""LiteLLM integration (``pip install 'l0[litellm]'``); see ``docs/litellm.md``.

- :func:`acompletion` / :func:`completion`: ``litellm.acompletion(stream=True)`` run through
  l0 (retries, continuation from the checkpoint, fallback models, timeouts, guardrails);
- :class:`L0Router` / :func:`router_stream`: the same over a LiteLLM ``Router``, its model
  group's deployments as primary and fallbacks (continued after a mid-stream drop, where the
  Router gives up);
- :class:`L0Handler` / :data:`l0_handler`: a ``CustomLogger`` reporting every LiteLLM call as
  l0 events, and guarding streams in the LiteLLM proxy.
"""

try:
    import litellm  # noqa: F401
except ModuleNotFoundError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("l0.integrations.litellm needs litellm: pip install 'l0[litellm]'") from exc

from l0.integrations.litellm.calls import (
    L0_OPTIONS,
    L0Router,
    acompletion,
    completion,
    router_stream,
)
from l0.integrations.litellm.handler import L0Handler, l0_handler

__all__ = [
    "L0_OPTIONS",
    "L0Handler",
    "L0Router",
    "acompletion",
    "completion",
    "l0_handler",
    "router_stream",
]
