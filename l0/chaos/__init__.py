"""``l0.chaos``: a fault-injecting, OpenAI- and Anthropic-compatible streaming provider
server on loopback.

Point a real SDK at it to test streams against faults nobody scripted in-process: stalls,
resets mid-body, slow tokens, 429 storms with ``Retry-After``, overloads, malformed chunks,
truncated streams, in-band error events. Its answer is deterministic and continuation aware,
so "the final text is the full answer, byte for byte" can be asserted end to end.

- :mod:`l0.chaos.plan`: fault plans and their syntax (:class:`Fault`, :func:`parse_plan`);
- :mod:`l0.chaos.profiles`: provider quirk profiles (``azure``, ``gemini``, ``ollama``, ``vllm``,
  ``anthropic``) chosen per request; :mod:`l0.chaos.tools`: tool-call answers;
- :mod:`l0.chaos.server`: :class:`ChaosServer` (routes, request log, lifecycle);
- :mod:`l0.chaos.respond`: one response under one fault; :mod:`l0.chaos.wire`: the provider
  wire formats; :mod:`l0.chaos.http`: the small HTTP/1.1 layer that can cut connections;
- :mod:`l0.chaos.answer`: the answer text and continuation; :mod:`l0.chaos.cli`: ``l0 chaos``.
"""

from l0.chaos.answer import DEFAULT_ANSWER, split_tokens
from l0.chaos.plan import Fault, parse_fault, parse_plan
from l0.chaos.profiles import PROFILE_HEADER, PROFILES, Profile, get_profile
from l0.chaos.respond import ChaosRequest
from l0.chaos.server import HEADER, ChaosServer

__all__ = [
    "DEFAULT_ANSWER",
    "HEADER",
    "PROFILES",
    "PROFILE_HEADER",
    "ChaosRequest",
    "ChaosServer",
    "Fault",
    "Profile",
    "get_profile",
    "parse_fault",
    "parse_plan",
    "split_tokens",
]
