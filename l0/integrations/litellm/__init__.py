"""LiteLLM integration (``pip install 'l0[litellm]'``); see ``docs/litellm.md``.

- :func:`acompletion` / :func:`completion`: drop-in ``litellm.acompletion`` /
  ``litellm.completion`` (same arguments, same chunks or response), reliable underneath
  (retries, continuation from the checkpoint, fallback models, timeouts, guardrails);
  :func:`stream` / :func:`stream_sync`: the same as an :class:`l0.Stream` of events;
- :class:`L0Router` / :func:`router_stream`: the same over a LiteLLM ``Router``, its model
  group's deployments as primary and fallbacks (continued after a mid-stream drop, where the
  Router gives up);
- :class:`L0Handler` / :data:`l0_handler`: a ``CustomLogger`` reporting every LiteLLM call as
  l0 events; in the LiteLLM **proxy** (``callbacks:`` in ``config.yaml``) it makes each
  stream reliable: retried through the proxy's router and continued, invisibly to the client.
"""

try:
    import litellm  # noqa: F401
except ModuleNotFoundError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("l0.integrations.litellm needs litellm: pip install 'l0[litellm]'") from exc

from l0.integrations.litellm.calls import (
    ChunkStream,
    L0Router,
    acompletion,
    completion,
    router_stream,
    stream,
    stream_sync,
)
from l0.integrations.litellm.handler import L0Handler, l0_handler
from l0.integrations.litellm.options import L0_OPTIONS

__all__ = [
    "L0_OPTIONS",
    "ChunkStream",
    "L0Handler",
    "L0Router",
    "acompletion",
    "completion",
    "l0_handler",
    "router_stream",
    "stream",
    "stream_sync",
]
