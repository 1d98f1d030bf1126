"""The chaos server on the wire, read with a raw httpx2 client: every fault's shape."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import anyio
import httpx2
import pytest

from l0.chaos import DEFAULT_ANSWER, ChaosServer, split_tokens

from .helpers import chat_body, collect, data, frames, openai_text

pytestmark = pytest.mark.anyio

ANSWER = "One two three four five six seven."


async def until_error(client: httpx2.AsyncClient) -> tuple[bytes, Exception | None]:
    """Stream a chat completion; the bytes received and the error that ended it, if any."""
    received = b""
    try:
        async with client.stream("POST", "/chat/completions", json=chat_body()) as response:
            async for piece in response.aiter_bytes():
                received += piece
    except httpx2.TransportError as exc:
        return received, exc
    return received, None


def chain(exc: BaseException | None) -> list[type[BaseException]]:
    out = []
    while exc is not None:
        out.append(type(exc))
        exc = exc.__cause__ or exc.__context__
    return out


async def test_ok_stream_is_openai_chat_sse_with_usage_and_done(chaos: ChaosServer) -> None:
    async with httpx2.AsyncClient(base_url=chaos.openai_base_url) as client:
        body = chat_body(stream_options={"include_usage": True})
        response, raw = await collect(client, "/chat/completions", body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["x-request-id"] == "req_chaos_0"
    chunks = data(raw)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert openai_text(raw) == DEFAULT_ANSWER
    finish, usage, done = chunks[-3:]
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] == len(split_tokens(DEFAULT_ANSWER))
    assert done == "[DONE]"
    assert chaos.requests[0].outcome == "complete"
    assert chaos.requests[0].body["model"] == "chaos-test"


async def test_plan_is_consumed_in_order_then_ok() -> None:
    async with (
        ChaosServer("status=503,ok,status=500", answer=ANSWER) as server,
        httpx2.AsyncClient(base_url=server.openai_base_url) as client,
    ):
        statuses = [
            (await collect(client, "/chat/completions", chat_body()))[0].status_code
            for _ in range(4)
        ]
        assert statuses == [503, 200, 500, 200]
        assert [str(r.fault) for r in server.requests] == ["status=503", "ok", "status=500", "ok"]
        server.set_plan("status=429")
        assert (await collect(client, "/chat/completions", chat_body()))[0].status_code == 429
        assert server.remaining == []


async def test_header_overrides_the_plan_without_consuming_it() -> None:
    async with (
        ChaosServer("status=500", answer=ANSWER) as server,
        httpx2.AsyncClient(base_url=server.openai_base_url) as client,
    ):
        response, raw = await collect(
            client, "/chat/completions", chat_body(), **{"x-l0-chaos": "truncate_after_tokens=2"}
        )
        assert response.status_code == 200
        assert openai_text(raw) == "One two"
        assert "[DONE]" not in raw.decode()
        assert len(server.remaining) == 1
        bad, raw = await collect(
            client, "/chat/completions", chat_body(), **{"x-l0-chaos": "nope=1"}
        )
        assert bad.status_code == 400
        assert b"unknown key 'nope'" in raw


async def test_status_429_carries_retry_after_and_provider_error_bodies() -> None:
    async with (
        ChaosServer("status=429,retry_after=2;status=529", answer=ANSWER) as server,
        httpx2.AsyncClient(base_url=server.base_url) as client,
    ):
        response, raw = await collect(client, "/v1/chat/completions", chat_body())
        assert response.status_code == 429
        assert response.headers["retry-after"] == "2"
        assert data(b"data: " + raw + b"\n\n")[0]["error"]["type"] == "rate_limit_error"
        response, raw = await collect(
            client, "/v1/messages", {"model": "m", "max_tokens": 5, "messages": [], "stream": True}
        )
        assert response.status_code == 529
        body = data(b"data: " + raw + b"\n\n")[0]
        assert body["type"] == "error"
        assert body["error"]["type"] == "overloaded_error"
        assert response.headers["request-id"] == "req_chaos_1"


async def test_drop_after_tokens_resets_the_connection() -> None:
    async with (
        ChaosServer("drop_after_tokens=3", answer=ANSWER) as server,
        httpx2.AsyncClient(base_url=server.openai_base_url) as client,
    ):
        received, error = await until_error(client)
        assert isinstance(error, httpx2.ReadError)
        assert ConnectionResetError in chain(error)  # a TCP reset, not an orderly close
        assert openai_text(received) == "One two three"  # everything sent before the reset arrived
        assert server.requests[0].outcome == "dropped"
        assert server.requests[0].text == "One two three"


async def test_drop_with_fin_is_an_incomplete_chunked_body() -> None:
    async with (
        ChaosServer("drop_after_tokens=2,close=fin", answer=ANSWER) as server,
        httpx2.AsyncClient(base_url=server.openai_base_url) as client,
    ):
        with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):
            await collect(client, "/chat/completions", chat_body())


async def test_drop_after_bytes_cuts_at_the_exact_byte() -> None:
    async with (
        ChaosServer("drop_after_bytes=50", answer=ANSWER) as server,
        httpx2.AsyncClient(base_url=server.openai_base_url) as client,
    ):
        received, error = await until_error(client)
        assert isinstance(error, httpx2.ReadError)
        assert len(received) == 50  # mid-event: the first chunk's JSON is cut in half
        assert received.startswith(b'data: {"id":"chatcmpl-chaos-0"')


async def test_stall_sends_nothing_until_stall_for_then_resumes() -> None:
    async with (
        ChaosServer("stall_after_tokens=2,stall_for=0.15", answer=ANSWER) as server,
        httpx2.AsyncClient(base_url=server.openai_base_url) as client,
    ):
        async with client.stream("POST", "/chat/completions", json=chat_body()) as response:
            raw = b""
            gaps = []
            last = time.monotonic()
            async for piece in response.aiter_bytes():
                now = time.monotonic()
                gaps.append(now - last)
                last = now
                raw += piece
        assert max(gaps) >= 0.14
        assert openai_text(raw) == ANSWER
        assert server.requests[0].outcome == "complete"


async def test_stall_forever_ends_when_the_client_leaves() -> None:
    ended = anyio.Event()
    server = ChaosServer("stall_after_tokens=1", answer=ANSWER, on_request=lambda r: ended.set())
    async with server:
        async with httpx2.AsyncClient(base_url=server.openai_base_url) as client:
            with anyio.move_on_after(0.1):
                await collect(client, "/chat/completions", chat_body())
        with anyio.fail_after(5):  # generous: a loaded machine is slow to notice the disconnect
            await ended.wait()
        assert server.requests[0].outcome == "stalled"
        assert server.requests[0].text == "One"


async def test_keepalive_comments_while_stalled_carry_no_content() -> None:
    async with (
        ChaosServer("stall_after_tokens=1,stall_for=0.1,keepalive=0.02", answer=ANSWER) as server,
        httpx2.AsyncClient(base_url=server.openai_base_url) as client,
    ):
        _, raw = await collect(client, "/chat/completions", chat_body())
        comments = [f for f in frames(raw) if f.get("comment") == "keepalive"]
        assert len(comments) >= 3
        assert openai_text(raw) == ANSWER
        assert len(server.requests[0].tokens) == len(split_tokens(ANSWER))


async def test_malformed_truncate_inband_and_empty() -> None:
    plan = "malformed_after_tokens=1; truncate_after_tokens=3; inband_error=2; empty"
    async with (
        ChaosServer(plan, answer=ANSWER) as server,
        httpx2.AsyncClient(base_url=server.openai_base_url) as client,
    ):
        _, raw = await collect(client, "/chat/completions", chat_body())
        assert b'data: {"id": "chatcmpl-chaos", "choices": [{"delta": {"content": "\n\n' in raw
        _, raw = await collect(client, "/chat/completions", chat_body())
        assert openai_text(raw) == "One two three"
        assert all(c["choices"][0]["finish_reason"] is None for c in data(raw))
        _, raw = await collect(client, "/chat/completions", chat_body())
        assert data(raw)[-1]["error"]["type"] == "server_error"
        assert openai_text(raw) == "One two"
        _, raw = await collect(client, "/chat/completions", chat_body())
        assert openai_text(raw) == ""
        assert data(raw)[-1] == "[DONE]"
        outcomes = [r.outcome for r in server.requests]
        assert outcomes == ["malformed", "truncated", "inband_error", "empty"]


async def test_slow_tokens_and_delayed_headers() -> None:
    async with (
        ChaosServer("slow=0.02,delay=0.05", answer="a b c") as server,
        httpx2.AsyncClient(base_url=server.openai_base_url) as client,
    ):
        start = time.monotonic()
        _, raw = await collect(client, "/chat/completions", chat_body())
        assert time.monotonic() - start >= 0.05 + 3 * 0.02
        assert openai_text(raw) == "a b c"


async def test_continuation_continues_the_prefix_and_restates() -> None:
    async with (
        ChaosServer(answer=ANSWER, restate=4) as server,
        httpx2.AsyncClient(base_url=server.openai_base_url) as client,
    ):
        messages = [*chat_body()["messages"], {"role": "assistant", "content": "One two thr"}]
        _, raw = await collect(client, "/chat/completions", chat_body(messages=messages))
        assert openai_text(raw) == " three four five six seven."  # " thr" restated
        record = server.requests[0]
        assert record.continuation.matched
        assert record.continuation.prefix == "One two thr"
        # A prefix that is not the answer's start gets the whole answer again.
        messages[-1] = {"role": "assistant", "content": "Something else"}
        _, raw = await collect(client, "/chat/completions", chat_body(messages=messages))
        assert openai_text(raw) == ANSWER
        assert not server.requests[1].continuation.matched


async def test_anthropic_messages_stream_shape() -> None:
    async with (
        ChaosServer("inband_error=1", answer="Hi there") as server,
        httpx2.AsyncClient(base_url=server.anthropic_base_url) as client,
    ):
        body = {"model": "claude-chaos", "max_tokens": 50, "messages": [], "stream": True}
        _, raw = await collect(client, "/v1/messages", body)
        names = [f["event"] for f in frames(raw)]
        assert names == ["message_start", "content_block_start", "content_block_delta", "error"]
        _, raw = await collect(client, "/v1/messages", body)
        names = [f["event"] for f in frames(raw)]
        assert names == [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
        delta = data(raw)[-2]
        assert delta["delta"]["stop_reason"] == "end_turn"
        assert delta["usage"]["output_tokens"] == 2


async def test_non_stream_json_and_routes(chaos: ChaosServer) -> None:
    async with httpx2.AsyncClient(base_url=chaos.base_url) as client:
        response = await client.post("/v1/chat/completions", json=chat_body(stream=False))
        assert response.json()["choices"][0]["message"]["content"] == DEFAULT_ANSWER
        response = await client.post("/v1/messages", json={"model": "m", "messages": []})
        assert response.json()["content"][0]["text"] == DEFAULT_ANSWER
        assert (await client.get("/v1/models")).json()["data"][0]["id"] == "chaos-1"
        assert (await client.get("/nowhere")).status_code == 404
        assert (await client.get("/v1/messages")).status_code == 405
        assert (await client.post("/v1/messages", content=b"[1]")).status_code == 400
        assert (await client.post("/v1/messages", content=b"{not json")).status_code == 400


async def test_request_log_redacts_credentials(chaos: ChaosServer) -> None:
    async with httpx2.AsyncClient(base_url=chaos.base_url) as client:
        await client.post(
            "/v1/messages",
            json={"model": "m", "messages": []},
            headers={"x-api-key": "sk-secret", "authorization": "Bearer sk-secret"},
        )
    headers = chaos.requests[0].headers
    assert headers["x-api-key"] == headers["authorization"] == "<redacted>"


def test_only_loopback_and_valid_options() -> None:
    with pytest.raises(ValueError, match="loopback"):
        ChaosServer(host="0.0.0.0")
    with pytest.raises(ValueError, match="restate"):
        ChaosServer(restate=-1)
    with pytest.raises(ValueError, match="unknown key"):
        ChaosServer("explode=1")
    with pytest.raises(TypeError, match="answer"):
        ChaosServer(answer=42)


def test_sync_context_manager_serves_from_a_thread() -> None:
    with ChaosServer("status=503", answer=ANSWER) as server, httpx2.Client() as client:
        first = client.post(
            server.openai_base_url + "/chat/completions", json=chat_body(stream=False)
        )
        second = client.post(
            server.openai_base_url + "/chat/completions", json=chat_body(stream=False)
        )
    assert first.status_code == 503
    assert second.json()["choices"][0]["message"]["content"] == ANSWER
    assert len(server.requests) == 2


def test_the_server_needs_only_the_core_dependencies() -> None:
    """``l0.chaos`` (and ``l0 chaos``) run with pydantic, orjson, anyio, typing-extensions."""
    code = textwrap.dedent(
        """
        import sys, importlib.abc, socket
        BLOCKED = {"openai", "anthropic", "litellm", "langchain_core", "fastapi", "starlette",
                   "httpx", "httpx2", "uvicorn", "trio"}
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None
        sys.meta_path.insert(0, Block())
        from l0.chaos import ChaosServer
        with ChaosServer("status=503") as server:
            with socket.create_connection(("127.0.0.1", server.port)) as sock:
                sock.sendall(b"POST /v1/messages HTTP/1.1\\r\\ncontent-length: 2\\r\\n\\r\\n{}")
                print(sock.recv(100).split(b"\\r\\n")[0].decode())
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "HTTP/1.1 503 Service Unavailable"


async def test_non_stream_faults() -> None:
    plan = "malformed_after_tokens=0; inband_error; empty; drop_after_tokens=0; status=429"
    async with (
        ChaosServer(plan, answer=ANSWER) as server,
        httpx2.AsyncClient(base_url=server.openai_base_url) as client,
    ):
        cut = await client.post("/chat/completions", json=chat_body(stream=False))
        assert cut.status_code == 200
        with pytest.raises(ValueError, match="JSON|Expecting|Unterminated"):
            cut.json()
        error = await client.post("/chat/completions", json=chat_body(stream=False))
        assert error.json()["error"]["type"] == "overloaded_error"
        empty = await client.post("/chat/completions", json=chat_body(stream=False))
        assert empty.json()["choices"][0]["message"]["content"] == ""
        with pytest.raises(httpx2.TransportError):
            await client.post("/chat/completions", json=chat_body(stream=False))
    outcomes = [r.outcome for r in server.requests]
    assert outcomes == ["malformed", "inband_error", "empty", "dropped"]


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_under_trio_the_server_runs_in_a_thread() -> None:
    async with ChaosServer("status=503", answer=ANSWER) as server:

        def call() -> int:
            url = server.openai_base_url + "/chat/completions"
            return httpx2.post(url, json=chat_body(stream=False)).status_code

        assert await anyio.to_thread.run_sync(call) == 503
    assert server.requests[0].outcome == "status"


def test_tool_calls_are_checked_when_the_server_is_made() -> None:
    # ("City", '{"name": ...}') crashed every connection ("dictionary update sequence
    # element #0 has length 1") and the client saw only "Connection error".
    from l0.chaos import ChaosServer

    parsed = ChaosServer(tool_calls=[("City", '{"name": "Oslo"}')])
    assert parsed.tool_calls == (("City", {"name": "Oslo"}),)
    for bad, message in [
        ([("City", "not json")], r"tool_calls\[0\] \('City'\): arguments must be an object"),
        ([("City", ["a"])], "arguments must be an object"),
        (["City"], r"tool_calls\[0\] must be a \(name, arguments\) pair"),
        ([(1, {})], "must be a"),
    ]:
        with pytest.raises(TypeError, match=message):
            ChaosServer(tool_calls=bad)
