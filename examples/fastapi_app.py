"""A runnable l0 + FastAPI chat demo: no network, no API keys.

Run it with::

    uvicorn examples.fastapi_app:app --port 8000

or, with several workers sharing resumable streams through Redis::

    L0_REDIS_URL=redis://127.0.0.1:6379/0 uvicorn examples.fastapi_app:app --workers 4

and open http://127.0.0.1:8000/. The "model" is a simulated, flaky provider: on the first
attempt the connection drops mid-answer, and l0 retries and *continues* from the text already
shown (the page displays the retry notice; the answer is never duplicated). Tick "fallback" to
make the primary provider fail outright (503) so l0 switches to the backup model, or
"restart" to retry without continuation (the page handles l0's ``reset`` event by taking back
the text shown). Tick "cut" to have the server drop the SSE connection mid-answer: the
browser's EventSource reconnects with ``Last-Event-ID`` and the stream resumes from the
buffer, the answer still shown exactly once.

Endpoints:

* ``GET /chat?q=…&stream_id=…`` — l0 SSE events, resumable (the page's ``EventSource``).
* ``POST /v1/chat/completions`` — OpenAI-compatible streaming (any OpenAI client works).
* ``POST /api/chat`` — the Vercel AI SDK UI message stream (``useChat`` works unchanged).
* ``GET /l0/streams/{stream_id}`` — resume any stream by id (``Last-Event-ID`` or
  ``?last_event_id=``).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import l0
from l0.integrations.fastapi import (
    L0Settings,
    L0Stream,
    MemoryResumeStore,
    Resume,
    ResumeStore,
    l0_resume_router,
    l0_stream,
    l0_stream_dependency,
)

ANSWER = (
    "Reliable streams are boring in the best way: when the connection drops in the middle "
    "of a sentence, the reader should never notice. l0 keeps what was already delivered, "
    "asks the model to continue from there, and removes the overlap so every word appears "
    "exactly once."
)


def words(text: str) -> list[str]:
    """Split into word-sized tokens that join back to ``text`` exactly."""
    return re.findall(r"\S+\s*|\s+", text)


def simulated_model(
    *, answer: str = ANSWER, drop_at: int | None = 12, fail: bool = False, delay: float = 0.03
) -> Callable[[l0.Attempt], AsyncIterator[str]]:
    """A fake streaming provider.

    Args:
        answer: The full answer it gives.
        drop_at: On the first attempt, the connection "drops" after this many tokens.
        fail: Every attempt fails before the first token with a 503.
        delay: Seconds between tokens.
    """

    async def source(attempt: l0.Attempt) -> AsyncIterator[str]:
        if fail:
            raise l0.ServerError("model overloaded", status_code=503)
        tokens = words(answer)
        if attempt.checkpoint:
            # A real model continues the assistant prefix; like many, this one restates the
            # last few characters first, and l0 removes that overlap.
            tokens = words(answer[max(0, len(attempt.checkpoint) - 6) :])
        for n, token in enumerate(tokens):
            if drop_at is not None and attempt.number == 1 and n == drop_at:
                raise ConnectionResetError("simulated: connection reset by peer")
            await anyio.sleep(delay)
            yield token

    return source


class CutConnection:
    """Demo middleware: a "proxy" that drops an SSE response after ``?cut=N`` events.

    It ends the HTTP response cleanly after the N-th event id and tells the app the client
    left, exactly what a load balancer with a short idle/stream limit does. Reconnects (they
    carry ``Last-Event-ID``) pass untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cut = _cut_after(scope)
        if cut is None:
            await self.app(scope, receive, send)
            return
        gone = anyio.Event()
        seen = 0

        async def cut_send(message: Message) -> None:
            nonlocal seen
            if gone.is_set():
                return
            await send(message)
            if message["type"] == "http.response.body" and message.get("more_body"):
                seen += message.get("body", b"").count(b"\nid: ")
                if seen >= cut:
                    gone.set()
                    await send({"type": "http.response.body", "body": b"", "more_body": False})

        async def cut_receive() -> Message:
            if gone.is_set():
                return {"type": "http.disconnect"}
            message: Message = {"type": "http.disconnect"}
            async with anyio.create_task_group() as tg:

                async def real() -> None:
                    nonlocal message
                    message = await receive()
                    tg.cancel_scope.cancel()

                async def on_cut() -> None:
                    await gone.wait()
                    tg.cancel_scope.cancel()

                tg.start_soon(real)
                tg.start_soon(on_cut)
            return message

        await self.app(scope, cut_receive, cut_send)


def _cut_after(scope: Scope) -> int | None:
    if scope["type"] != "http":
        return None
    headers = dict(scope.get("headers") or [])
    if b"last-event-id" in headers:
        return None
    match = re.search(rb"(?:^|&)cut=(\d+)", scope.get("query_string", b""))
    return int(match.group(1)) if match else None


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>l0 demo</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; }
  #answer { white-space: pre-wrap; border: 1px solid #ccc; padding: 1rem; min-height: 6rem; }
  #notices { color: #555; font-size: 0.9rem; }
  .error { color: #b00; }
</style>
</head>
<body>
<h1>l0 demo: a flaky model, a reliable stream</h1>
<form id="ask">
  <input id="q" value="Why do reliable streams matter?" size="40">
  <label><input type="checkbox" id="fallback"> primary down (fallback)</label>
  <label><input type="checkbox" id="restart"> no continuation (reset)</label>
  <label><input type="checkbox" id="cut"> cut the connection mid-answer</label>
  <button>Ask</button>
</form>
<div id="answer"></div>
<ul id="notices"></ul>
<p id="status"></p>
<script>
const $ = (id) => document.getElementById(id);
let source = null;

function notice(text, cls) {
  const li = document.createElement("li");
  li.textContent = text;
  if (cls) li.className = cls;
  $("notices").appendChild(li);
}

function ask(event) {
  if (event) event.preventDefault();
  if (source) source.close();
  $("answer").textContent = "";
  $("notices").textContent = "";
  $("status").textContent = "streaming…";
  const params = new URLSearchParams({ q: $("q").value, stream_id: crypto.randomUUID() });
  if ($("fallback").checked) params.set("fallback", "true");
  if ($("restart").checked) params.set("restart", "true");
  if ($("cut").checked) params.set("cut", "8");
  // EventSource reconnects by itself (after the server's retry: hint) and sends
  // Last-Event-ID; the server replays what this page missed, so nothing is shown twice.
  source = new EventSource("/chat?" + params);
  source.addEventListener("token", (e) => {
    $("answer").textContent += JSON.parse(e.data).text;
  });
  source.addEventListener("reset", (e) => {
    // Take back text a restarted attempt cannot continue (counted in code points).
    const n = JSON.parse(e.data).discard;
    const chars = Array.from($("answer").textContent);
    $("answer").textContent = chars.slice(0, Math.max(0, chars.length - n)).join("");
    notice("restarting the answer (" + n + " characters taken back)");
  });
  source.addEventListener("retry", (e) => {
    const d = JSON.parse(e.data);
    notice("retrying (attempt " + d.attempt + ", " + d.reason + " error)");
  });
  source.addEventListener("fallback", (e) => {
    notice("switched to fallback model #" + JSON.parse(e.data).index);
  });
  source.addEventListener("done", () => {
    source.close();
    $("status").textContent = "done";
  });
  source.addEventListener("error", (e) => {
    if (e.data) {  // l0's in-band error event (not a connection error)
      source.close();
      notice(JSON.parse(e.data).message, "error");
      $("status").textContent = "failed";
    } else if (source.readyState === EventSource.CONNECTING) {
      notice("connection lost, resuming…");
    } else {
      $("status").textContent = "failed";
    }
  });
}

$("ask").addEventListener("submit", ask);
</script>
</body>
</html>
"""


L0S = Annotated[L0Stream, Depends(l0_stream)]
"""The dependency as a type: ``l0s: L0S`` in a route signature."""


class ChatIn(BaseModel):
    """The body of the OpenAI-compatible endpoint (the fields this demo reads)."""

    model: str = "demo"
    messages: list[dict[str, Any]] = []


def create_app(
    *,
    reconnect: float = 1.0,
    token_delay: float = 0.03,
    store: ResumeStore | None = None,
) -> FastAPI:
    """Build the demo app.

    Args:
        reconnect: The SSE ``retry:`` hint in seconds (browser reconnect delay).
        token_delay: Seconds between simulated tokens.
        store: The resume store (default: in memory).
    """
    settings = L0Settings(
        retry=l0.Retry(attempts=2, max_retries=2, base_delay=0.2, max_delay=1.0),
        timeout=l0.Timeout(initial_token=5.0, inter_token=5.0),
        continuation=True,
        reconnect=reconnect,
        resume=Resume(store=store or MemoryResumeStore(), grace=30.0),
    )
    app = FastAPI(title="l0 demo")
    app.dependency_overrides[l0_stream] = l0_stream_dependency(settings)
    app.include_router(l0_resume_router(settings))

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return PAGE

    @app.get("/chat")
    async def chat(l0s: L0S, fallback: bool = False, restart: bool = False) -> Response:
        primary = simulated_model(fail=fallback, delay=token_delay)
        backup = simulated_model(drop_at=None, delay=token_delay)
        return l0s(primary, fallbacks=[backup], continuation=not restart)

    @app.post("/v1/chat/completions")
    async def openai_compatible(body: ChatIn, l0s: L0S) -> Response:
        return l0s(simulated_model(delay=0.0), format="openai", model=body.model, resume=False)

    @app.post("/api/chat")
    async def vercel_ui(l0s: L0S) -> Response:
        return l0s(simulated_model(delay=0.0), format="vercel")

    app.add_middleware(CutConnection)
    return app


def store_from_env() -> ResumeStore | None:
    """With ``L0_REDIS_URL`` set, a Redis resume store shared by every worker, so a reconnect
    served by another worker (``uvicorn --workers 4``) resumes the stream."""
    url = os.environ.get("L0_REDIS_URL")
    if not url:
        return None
    from l0.integrations.fastapi import RedisResumeStore

    return RedisResumeStore.from_url(url)


app = create_app(store=store_from_env())

__all__ = ["ANSWER", "CutConnection", "app", "create_app", "simulated_model", "words"]
