"""Provider quirk profiles: how real OpenAI- and Anthropic-compatible servers bend the protocol.

A profile changes the *shape* of a response, never its content; faults still apply on top.
It is chosen per request like a fault: the ``x-l0-chaos-profile`` header, else a model name
ending in ``@<profile>`` (``"chaos@ollama"``), else the server's ``profile=`` (default
``openai``).

========== ===================================================================================
profile    quirk
========== ===================================================================================
openai     none: the reference wire format (``[DONE]`` after the finish chunk)
azure      a first chunk with empty ``choices`` and ``prompt_filter_results``;
           ``content_filter_results`` on every choice
gemini     tool calls without ``index``, each call whole in its own chunk
ollama     ``finish_reason: ""`` on every chunk until the last; every tool call at
           ``index: 0`` (distinct ids), its arguments in fragments whose id and name are ``""``
vllm       the body stays open after the finish chunk (no ``[DONE]``, no close); on odd
           requests (the 2nd, 4th, …) the connection is cut there instead (closed before
           the body's end)
anthropic  ``message_stop``, then the body stays open (Messages API); elsewhere as ``openai``
========== ===================================================================================
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

__all__ = ["PROFILES", "PROFILE_HEADER", "Profile", "get_profile"]

PROFILE_HEADER = "x-l0-chaos-profile"
"""Request header naming the profile of that request."""

ToolIndex = Literal["present", "absent", "zero"]


@dataclass(frozen=True, slots=True)
class Profile:
    """One provider's quirks (see the module docstring).

    Attributes:
        name: The profile's name.
        empty_finish: Chat chunks carry ``finish_reason: ""`` (not ``null``) until the last.
        tool_index: How chat tool-call fragments are indexed: ``present`` (0, 1, …),
            ``absent`` (no ``index`` key) or ``zero`` (every call at 0).
        whole_tool_calls: Each tool call arrives whole in one chunk (no argument fragments).
        blank_sentinels: Continuation fragments carry ``id: ""`` and ``name: ""``.
        content_filters: Azure's ``prompt_filter_results`` chunk and per-choice
            ``content_filter_results``.
        after_end: What follows the protocol's end marker on the chat wire: ``close`` (today's
            ``[DONE]`` and close), ``linger`` (no ``[DONE]``; the body stays open) or
            ``linger_or_reset`` (linger on even requests, reset on odd ones).
        anthropic_linger: On the Messages API, the body stays open after ``message_stop``.
    """

    name: str
    empty_finish: bool = False
    tool_index: ToolIndex = "present"
    whole_tool_calls: bool = False
    blank_sentinels: bool = False
    content_filters: bool = False
    after_end: Literal["close", "linger", "linger_or_reset"] = "close"
    anthropic_linger: bool = False

    def chat_after_end(self, request_index: int) -> str:
        """``close``, ``linger`` or ``reset`` for the chat response of request ``request_index``."""
        if self.after_end == "linger_or_reset":
            return "reset" if request_index % 2 else "linger"
        return self.after_end


PROFILES: dict[str, Profile] = {
    "openai": Profile("openai"),
    "azure": Profile("azure", content_filters=True),
    "gemini": Profile("gemini", tool_index="absent", whole_tool_calls=True),
    "ollama": Profile("ollama", empty_finish=True, tool_index="zero", blank_sentinels=True),
    "vllm": Profile("vllm", after_end="linger_or_reset"),
    "anthropic": Profile("anthropic", anthropic_linger=True),
}
"""Every profile by name."""


def get_profile(name: str | Profile) -> Profile:
    """The profile called ``name``.

    Raises:
        ValueError: For an unknown name, naming the closest one.
    """
    if isinstance(name, Profile):
        return name
    key = name.strip().lower() if isinstance(name, str) else name
    profile = PROFILES.get(key)
    if profile is None:
        close = difflib.get_close_matches(str(key), PROFILES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown chaos profile {name!r}{hint}; known: {', '.join(PROFILES)}")
    return profile
