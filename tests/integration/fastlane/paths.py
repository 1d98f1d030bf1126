"""Run one source through the SDK path and the fast lane and record all that l0 gave."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import l0
import l0.fastlane
from l0.errors import L0Error
from l0.testing import FakeClock

CHAT_USER = [{"role": "user", "content": "Tell me about reliable streams."}]
OPENAI_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the web.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    }
]
RESPONSES_TOOLS = [
    {
        "type": "function",
        "name": "search",
        "description": "Search the web.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
    }
]
ANTHROPIC_TOOLS = [
    {
        "name": "search",
        "description": "Search the web.",
        "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}},
    }
]
PROTOCOLS = ("openai.chat", "openai.responses", "anthropic.messages")


def source(protocol: str, client: Any, fast: bool, *, tools: bool = False, **extra: Any) -> Any:
    """A continuing source speaking ``protocol`` over the SDK path or the fast lane."""

    def kwargs(attempt: Any) -> dict[str, Any]:
        messages = attempt.continuation_messages(CHAT_USER)
        if protocol == "openai.chat":
            kw: dict[str, Any] = {"model": "gpt-chaos", "messages": messages}
            if tools:
                kw["tools"] = OPENAI_TOOLS
        elif protocol == "openai.responses":
            kw = {"model": "gpt-chaos", "input": messages}
            if tools:
                kw["tools"] = RESPONSES_TOOLS
        else:
            kw = {"model": "claude-chaos", "max_tokens": 512, "messages": messages}
            if tools:
                kw["tools"] = ANTHROPIC_TOOLS
        return {**kw, **extra}

    fast_helper: Callable[..., Any] = {
        "openai.chat": l0.fastlane.openai_chat,
        "openai.responses": l0.fastlane.openai_responses,
        "anthropic.messages": l0.fastlane.anthropic_messages,
    }[protocol]

    def sdk_create(attempt: Any) -> Any:
        if protocol == "openai.chat":
            return client.chat.completions.create(stream=True, **kwargs(attempt))
        if protocol == "openai.responses":
            return client.responses.create(stream=True, **kwargs(attempt))
        return client.messages.create(stream=True, **kwargs(attempt))

    if fast:
        return lambda attempt: fast_helper(client, **kwargs(attempt))
    return sdk_create


def _norm(value: Any) -> Any:
    if isinstance(value, BaseException):
        return error_view(value)
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items() if k not in ("ts", "elapsed")}
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    return value


def error_view(exc: BaseException) -> dict[str, Any]:
    """What identifies an error: its class and what l0 decides on (not the traceback)."""
    # a stall's message names the real time waited: not part of the comparison
    message = re.sub(r"[\d.]+s waited", "…s waited", str(exc))
    view: dict[str, Any] = {"type": type(exc).__name__, "message": message}
    if isinstance(exc, L0Error):
        view.update(
            category=exc.category,
            code=exc.code,
            status=getattr(exc, "status_code", None),
            retry_after=getattr(exc, "retry_after", None),
            request_id=getattr(exc, "request_id", None),
            cause=type(exc.__cause__).__name__ if exc.__cause__ is not None else None,
        )
    return view


async def record(src: Any, **options: Any) -> dict[str, Any]:
    """Stream ``src`` through l0: every event, the result (or the raised error)."""
    events: list[Any] = []
    out: dict[str, Any] = {"events": events}
    if options.get("clock", "fake") == "fake":
        options["clock"] = FakeClock()
    options.setdefault("continuation", True)
    try:
        async with l0.stream(src, **options) as stream:
            async for ev in stream:
                data = None if ev.type is l0.EventType.COMPLETE else _norm(ev.data)
                events.append((ev.type.name, ev.text, data, _norm(ev.error)))
        result = stream.result
    except Exception as exc:
        out["raised"] = error_view(exc)
        return out
    out.update(
        text=result.text,
        finish_reason=result.finish_reason,
        usage=result.usage,
        tool_calls=result.tool_calls,
        errors=[error_view(e) for e in result.errors],
    )
    return out
