"""FastAPI integration: reliable, resumable SSE from an l0 stream to the browser.

Usage::

    from fastapi import Depends, FastAPI
    from l0.integrations.fastapi import L0Stream, l0_stream

    app = FastAPI()

    @app.post("/chat")
    async def chat(body: ChatIn, l0s: L0Stream = Depends(l0_stream)):
        return l0s(lambda attempt: client.chat.completions.create(..., stream=True))

Modules: ``dependency`` (``l0_stream``, :class:`L0Stream`, ``l0_resume_router``),
``response`` (the streaming response of a run), ``resume`` (the reconnect response),
``formats`` (l0 / OpenAI / Vercel SSE encoders), ``wire`` (events, notices, safe errors),
``store`` (:class:`ResumeStore`, in-memory store), ``redis_store`` (:class:`RedisResumeStore`),
``settings``.
"""

try:
    import fastapi  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("l0.integrations.fastapi needs FastAPI: pip install 'l0[fastapi]'") from exc

from typing import TYPE_CHECKING, Any

from l0.integrations.fastapi.dependency import (
    L0Stream,
    l0_resume_router,
    l0_stream,
    l0_stream_dependency,
)
from l0.integrations.fastapi.response import L0StreamResponse
from l0.integrations.fastapi.resume import L0ResumeResponse
from l0.integrations.fastapi.settings import FORMATS, Format, L0Settings, Resume
from l0.integrations.fastapi.store import (
    EventsExpiredError,
    MemoryResumeStore,
    ResumeStore,
    StoredFrame,
    StreamExistsError,
    StreamNotFoundError,
)

if TYPE_CHECKING:
    from l0.integrations.fastapi.redis_store import RedisResumeStore

__all__ = [
    "FORMATS",
    "EventsExpiredError",
    "Format",
    "L0ResumeResponse",
    "L0Settings",
    "L0Stream",
    "L0StreamResponse",
    "MemoryResumeStore",
    "RedisResumeStore",
    "Resume",
    "ResumeStore",
    "StoredFrame",
    "StreamExistsError",
    "StreamNotFoundError",
    "l0_resume_router",
    "l0_stream",
    "l0_stream_dependency",
]


def __getattr__(name: str) -> Any:
    # RedisResumeStore imports redis: only when asked for.
    if name == "RedisResumeStore":
        from l0.integrations.fastapi.redis_store import RedisResumeStore

        return RedisResumeStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
