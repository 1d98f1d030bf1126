"""The chaos server: an OpenAI- and Anthropic-compatible streaming provider on loopback that
misbehaves on purpose, following a fault plan.

Routes (a ``/v1`` prefix is optional, so both SDK base-URL styles work):

- ``POST /v1/chat/completions``: OpenAI chat completions (SSE when ``stream`` is true);
- ``POST /v1/responses``: OpenAI Responses API;
- ``POST /v1/messages``: Anthropic Messages API;
- ``GET /v1/models`` and ``GET /``: small JSON answers (health checks).

Each POST takes the next fault of the plan (or the ``x-l0-chaos`` header's fault) and a
provider quirk profile (:mod:`l0.chaos.profiles`: the ``x-l0-chaos-profile`` header, a model
name ending in ``@<profile>``, or the server's ``profile=``), and is logged in
:attr:`ChaosServer.requests`. A request that offers ``tools`` is answered with tool calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections import deque
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

import anyio
import orjson

from l0.chaos.answer import DEFAULT_ANSWER, find_continuation, prompt_words, split_tokens
from l0.chaos.http import ClientGoneError, HttpError, Request, ResponseWriter, read_request
from l0.chaos.plan import Fault, PlanLike, parse_fault, parse_plan
from l0.chaos.profiles import PROFILE_HEADER, PROFILES, Profile, get_profile
from l0.chaos.respond import ChaosRequest, credentials, play, redact
from l0.chaos.threaded import ServerThread
from l0.chaos.tools import (
    DEFAULT_TOOL_CALLS,
    ToolCallSpec,
    check_tool_calls,
    fragments,
    wants_tools,
)
from l0.chaos.wire import ANTHROPIC, CREATED, OPENAI_CHAT, OPENAI_RESPONSES, make_wire

__all__ = ["HEADER", "ChaosServer"]

HEADER = "x-l0-chaos"
"""Request header whose fault (plan syntax, one fault) overrides the plan for that request."""

Answer = str | Callable[[ChaosRequest], str]


def _route(path: str) -> str | None:
    path = path.rstrip("/")
    if path.endswith("/chat/completions"):
        return OPENAI_CHAT
    if path.endswith("/responses"):
        return OPENAI_RESPONSES
    if path.endswith("/messages"):
        return ANTHROPIC
    return None


def _check_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the chaos server binds loopback addresses only, not {host!r}")


class ChaosServer:
    """A fault-injecting provider server on 127.0.0.1 (see the module docstring).

    Use it as an async context manager (on asyncio it serves from the current event loop; on
    other backends from a thread of its own) or, in sync code, as a plain context manager
    (it serves from a thread of its own)::

        async with ChaosServer("drop_after_tokens=5,ok", restate=4) as server:
            client = AsyncOpenAI(base_url=server.openai_base_url, api_key="test",
                                 max_retries=0)
            ...
            assert server.requests[1].continuation.matched

    Args:
        plan: Faults for the coming requests, in order (plan syntax, :class:`Fault` objects or
            a sequence of them; see :mod:`l0.chaos.plan`).
        answer: The full answer text, or a callable building it from the
            :class:`ChaosRequest` (its ``body``, ``api``, ``index``).
        restate: On a continuation request, characters of the prefix sent again before the
            new text (exercises overlap removal; default 0).
        then: The fault of every request once the plan is used up (default ``ok``).
        host: A loopback address to bind (default ``127.0.0.1``).
        port: The port (default 0: a free one; read :attr:`port`).
        on_request: Called with each :class:`ChaosRequest` once its response ended.
        profile: The provider quirk profile of requests that name none (default
            ``openai``: no quirks; see :mod:`l0.chaos.profiles`).
        tool_calls: ``(name, arguments)`` of the calls a request offering ``tools`` gets
            (arguments: a dict or its JSON text; default: two ``search`` calls); empty: such
            requests get the text answer.
        tool_pieces: Fragments each call's arguments are cut into (profiles that send
            whole calls ignore it).

    Raises:
        ValueError: For a bad plan, a non-loopback host, an unknown profile or a bad option
            value.
    """

    def __init__(
        self,
        plan: PlanLike = None,
        *,
        answer: Answer = DEFAULT_ANSWER,
        restate: int = 0,
        then: str | Fault = "ok",
        host: str = "127.0.0.1",
        port: int = 0,
        on_request: Callable[[ChaosRequest], None] | None = None,
        profile: str | Profile = "openai",
        tool_calls: Sequence[ToolCallSpec] = DEFAULT_TOOL_CALLS,
        tool_pieces: int = 3,
    ) -> None:
        if not (isinstance(answer, str) or callable(answer)):
            raise TypeError("answer must be a str or a callable taking a ChaosRequest")
        if isinstance(restate, bool) or not isinstance(restate, int) or restate < 0:
            raise ValueError(f"restate must be an int >= 0 (characters), got {restate!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int in 0..65535, got {port!r}")
        _check_loopback(host)
        self._plan: deque[Fault] = deque(parse_plan(plan))
        self.then = parse_fault(then)
        self.answer = answer
        self.restate = restate
        self.host = host
        self.port = port
        self.on_request = on_request
        self.profile = get_profile(profile)
        self.tool_calls = check_tool_calls(tool_calls)
        if isinstance(tool_pieces, bool) or not isinstance(tool_pieces, int) or tool_pieces < 1:
            raise ValueError(f"tool_pieces must be an int >= 1, got {tool_pieces!r}")
        self.tool_pieces = tool_pieces
        self.requests: list[ChaosRequest] = []
        self._server: asyncio.Server | None = None
        self._conns: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}
        self._thread: ServerThread | None = None

    # -- configuration ---------------------------------------------------------------------

    def set_plan(self, plan: PlanLike) -> None:
        """Replace the faults still to come."""
        faults = parse_plan(plan)
        self._plan.clear()
        self._plan.extend(faults)

    def add(self, plan: PlanLike) -> None:
        """Append faults after those still to come."""
        self._plan.extend(parse_plan(plan))

    @property
    def remaining(self) -> list[Fault]:
        """The faults still to come (after them, :attr:`then`)."""
        return list(self._plan)

    def reset(self, plan: PlanLike = None) -> None:
        """Clear the request log and set a new plan (default: none)."""
        self.requests.clear()
        self.set_plan(plan)

    def next_fault(self) -> Fault:
        """Take the next fault of the plan (:attr:`then` once it is used up)."""
        return self._plan.popleft() if self._plan else self.then

    # -- addresses -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the root (the Anthropic SDK's ``base_url``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: the OpenAI SDK's (and LiteLLM's) ``base_url``."""
        return self.base_url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """The Anthropic SDK's ``base_url`` (the root; the SDK adds ``/v1/messages``)."""
        return self.base_url

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and start serving in the current asyncio event loop."""
        if self._server is not None:
            raise RuntimeError("the chaos server is already running")
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        """Stop serving: cut every open connection and wait for the handlers to end."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        tasks = list(self._conns)
        for task, writer in list(self._conns.items()):
            writer.transport.abort()
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    def __enter__(self) -> ChaosServer:
        """Serve from a thread with its own event loop (for sync code and sync SDK clients)."""
        if self._thread is not None or self._server is not None:
            raise RuntimeError("the chaos server is already running")
        thread = ServerThread(self)
        thread.start()
        self._thread = thread
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.close()

    async def __aenter__(self) -> ChaosServer:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (trio): serve from a thread of our own
            await anyio.to_thread.run_sync(self.__enter__)
            return self
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._thread is not None:
            await anyio.to_thread.run_sync(self.__exit__, exc_type, exc, tb)
            return
        with anyio.CancelScope(shield=True):
            await self.aclose()

    # -- serving ---------------------------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Our own task (not the one asyncio would wrap a coroutine callback in): cancelling
        # it at shutdown must not make asyncio log the cancellation as an error.
        task = asyncio.get_running_loop().create_task(self._connection(reader, writer))
        self._conns[task] = writer

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await read_request(reader)
                if request is None:
                    break
                keep = await self._respond(request, ResponseWriter(reader, writer))
                if not (keep and request.keep_alive):
                    break
        except HttpError as exc:
            with contextlib.suppress(ClientGoneError):
                await _send_json(ResponseWriter(reader, writer), exc.status, {"error": str(exc)})
        except ClientGoneError:
            pass
        finally:
            task = asyncio.current_task()
            if task is not None:
                self._conns.pop(task, None)
            if not writer.transport.is_closing():
                writer.close()

    async def _respond(self, request: Request, out: ResponseWriter) -> bool:
        """Answer one request; False when the connection must not be reused."""
        api = _route(request.path)
        if api is None:
            if request.method == "GET" and request.path.rstrip("/") in ("", "/v1/models"):
                await _send_json(out, 200, _models() if "models" in request.path else {"ok": True})
                return True
            await _send_json(out, 404, {"error": {"message": f"no route {request.path}"}})
            return True
        if request.method != "POST":
            await _send_json(out, 405, {"error": {"message": "use POST"}})
            return True
        try:
            body = orjson.loads(request.body) if request.body else None
            override = request.headers.get(HEADER)
            fault = parse_fault(override) if override is not None else None
            profile = self._profile_of(request.headers, body)
        except (orjson.JSONDecodeError, ValueError) as exc:
            await _send_json(out, 400, {"error": {"message": f"chaos: bad request: {exc}"}})
            return True
        if not isinstance(body, dict):
            await _send_json(out, 400, {"error": {"message": "chaos: the body must be an object"}})
            return True
        record = ChaosRequest(
            index=len(self.requests),
            method=request.method,
            path=request.path,
            api=api,
            headers=redact(request.headers),
            body=body,
            fault=fault if fault is not None else self.next_fault(),
            stream=body.get("stream") is True,
            profile=profile.name,
            query=request.query,
        )
        self.requests.append(record)
        try:
            await self._answer(record, out, request.headers)
        except ClientGoneError:
            if record.outcome == "pending":
                record.outcome = "client_gone"
            return False
        finally:
            if self.on_request is not None:
                self.on_request(record)
        return True

    def _profile_of(self, headers: dict[str, str], body: Any) -> Profile:
        """The request's profile: its header, else a ``model@profile`` name, else the
        server's (raises ValueError for an unknown name)."""
        named = headers.get(PROFILE_HEADER)
        if named is not None:
            return get_profile(named)
        model = body.get("model") if isinstance(body, dict) else None
        if isinstance(model, str) and "@" in model:
            suffix = model.rsplit("@", 1)[1].strip().lower()
            if suffix in PROFILES:
                return PROFILES[suffix]
        return self.profile

    async def _answer(
        self, record: ChaosRequest, out: ResponseWriter, raw_headers: dict[str, str]
    ) -> None:
        body, fault = record.body, record.fault
        answer = self.answer if isinstance(self.answer, str) else self.answer(record)
        record.continuation = find_continuation(body, answer, restate=self.restate)
        model = str(body.get("model") or "chaos-1")
        profile = PROFILES.get(record.profile, self.profile)
        wire = make_wire(
            record.api or OPENAI_CHAT, record.index, model, prompt_words(body), body, profile
        )
        headers = {"x-request-id": wire.request_id, "request-id": wire.request_id}
        if fault.echo_key is not None:
            echoed = credentials(raw_headers)
            if fault.echo_key in ("body", "both"):
                wire.echo = f" (credentials received: {', '.join(echoed)})"
            if fault.echo_key in ("header", "both") and echoed:
                headers["x-echoed-credential"] = echoed[0]
        if fault.retry_after is not None:
            headers["retry-after"] = _seconds(fault.retry_after)
        if fault.delay:
            await anyio.sleep(fault.delay)
        if fault.kind == "status":
            assert fault.status is not None
            record.outcome = "status"
            await _send_json(
                out, fault.status, wire.error_body(fault.status, fault.error_type), headers
            )
            return
        tokens: list[Any] = split_tokens(answer[record.continuation.start :])
        if (
            record.stream
            and self.tool_calls
            and wants_tools(body)
            and record.api != OPENAI_RESPONSES
        ):
            pieces = 1 if profile.whole_tool_calls else self.tool_pieces
            tokens = list(fragments(self.tool_calls, pieces=pieces))
        await play(out, wire, fault, record, tokens, headers)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _models() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": "chaos-1", "object": "model", "created": CREATED, "owned_by": "l0"}],
    }


async def _send_json(
    out: ResponseWriter, status: int, payload: Any, headers: dict[str, str] | None = None
) -> None:
    body = orjson.dumps(payload)
    head = {**(headers or {}), "content-type": "application/json", "content-length": str(len(body))}
    await out.head(status, head, chunked=False)
    await out.send(body)
