"""App-wide defaults of the FastAPI integration: :class:`L0Settings` and :class:`Resume`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from l0.integrations.fastapi.store import RESUME_STORE_METHODS, MemoryResumeStore, ResumeStore
from l0.policy import Retry, Timeout, _check_seconds

__all__ = ["FORMATS", "Format", "L0Settings", "Resume"]

Format = Literal["l0", "openai", "vercel"]
"""The wire formats: l0's own SSE events, OpenAI ``chat.completion.chunk`` SSE, or the Vercel
AI SDK UI message stream."""

FORMATS: tuple[Format, ...] = get_args(Format)


def _check_positive(name: str, value: float) -> None:
    _check_seconds(name, value, allow_none=False)


@dataclass(frozen=True, slots=True)
class Resume:
    """Resumable streams: where events are kept and how long a run outlives its client.

    With resume on, every event is appended to ``store`` before it is sent, a reconnect
    carrying ``Last-Event-ID`` replays what it missed and continues live, and the run keeps
    going into the store for up to ``grace`` seconds after its client disconnected.

    Attributes:
        store: The event buffer (default: an in-process :class:`MemoryResumeStore`; use
            :class:`~l0.integrations.fastapi.RedisResumeStore` to share across workers).
        grace: Seconds the producing run may continue once its client is gone (default 60).
    """

    store: ResumeStore = field(default_factory=MemoryResumeStore)
    grace: float = 60.0

    def __post_init__(self) -> None:
        _check_positive("Resume.grace", self.grace)
        for method in RESUME_STORE_METHODS:
            if not callable(getattr(self.store, method, None)):
                raise TypeError(f"Resume.store must implement ResumeStore (missing {method}())")


@dataclass(frozen=True, slots=True)
class L0Settings:
    """Defaults for every ``Depends(l0_stream)`` route of an app.

    Install with ``app.dependency_overrides[l0_stream] = l0_stream_dependency(settings)``.
    A route overrides any of the l0 options per request through the callable's keywords.

    Attributes:
        format: The wire format when the route does not pin one and the request does not ask
            (default ``"l0"``).
        formats: Formats a request may choose with ``?format=`` or the ``Accept`` header.
        retry: Default :class:`l0.Retry`.
        timeout: Default :class:`l0.Timeout`.
        fallbacks: Default fallback sources.
        continuation: Default ``continuation`` option of :func:`l0.stream`.
        guardrails: Default guardrails.
        options: Any other :func:`l0.stream` keyword options.
        keepalive: Seconds of silence before a ``: ping`` comment is sent (default 15).
        reconnect: The SSE ``retry:`` hint, in seconds, sent first on every connection: how
            long a browser ``EventSource`` waits before reconnecting (default 1.0).
        resume: :class:`Resume` to make streams resumable, ``None`` (default) for plain
            streams cancelled as soon as their client leaves.
        model: The ``model`` name written in OpenAI-format chunks (default ``"l0"``).
    """

    format: Format = "l0"
    formats: Sequence[Format] = FORMATS
    retry: Retry | None = None
    timeout: Timeout | None = None
    fallbacks: Sequence[Any] = ()
    continuation: Any = False
    guardrails: Any = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    keepalive: float = 15.0
    reconnect: float = 1.0
    resume: Resume | None = None
    model: str = "l0"

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"L0Settings.format must be one of {FORMATS}, got {self.format!r}")
        for fmt in self.formats:
            if fmt not in FORMATS:
                raise ValueError(f"L0Settings.formats has unknown format {fmt!r}")
        _check_positive("L0Settings.keepalive", self.keepalive)
        _check_positive("L0Settings.reconnect", self.reconnect)
        if self.resume is not None and not isinstance(self.resume, Resume):
            raise TypeError("L0Settings.resume must be an l0.integrations.fastapi.Resume or None")
        reserved = {"on_event", "stream_id"} & set(self.options)
        if reserved:
            raise ValueError(
                f"L0Settings.options cannot set {sorted(reserved)}: pass on_event to the "
                "route's l0s(...) call; stream ids are assigned per request"
            )

    def l0_options(self) -> dict[str, Any]:
        """The :func:`l0.stream` keyword options these settings imply."""
        out: dict[str, Any] = dict(self.options)
        if self.retry is not None:
            out["retry"] = self.retry
        if self.timeout is not None:
            out["timeout"] = self.timeout
        if self.fallbacks:
            out["fallbacks"] = tuple(self.fallbacks)
        if self.continuation:
            out["continuation"] = self.continuation
        if self.guardrails:
            out["guardrails"] = self.guardrails
        return out
