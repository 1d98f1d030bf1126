"""A ready stream as the source (issue 12, item 4): accepted, said up front, explained on retry.

The choice (README "Sources"): a coroutine object (``client.chat.completions.create(...)``
not awaited), an awaited SDK stream, or a generator object is accepted and read once. Before
any request, one WARNING on the ``l0`` logger names what it is and the fix (pass a factory);
when a retry would need to read it again, the run fails with an error saying the same.
A factory, a list or a tuple (re-readable), or ``Retry(max_retries=0)`` gets no warning.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

import l0
from l0.chaos import ChaosServer
from l0.testing import FakeClock
from l0.testing.chaos import openai_client

MESSAGES = [{"role": "user", "content": "Tell me a story"}]
pytestmark = pytest.mark.anyio
WORDS = ["Hello", ", ", "world"]


async def agen() -> AsyncIterator[str]:
    for word in WORDS:
        yield word


def gen() -> Iterator[str]:
    yield from WORDS


async def coro_of_stream() -> AsyncIterator[str]:
    return agen()


Make = Callable[[Any], Awaitable[Any]]


async def _sdk_coroutine(client: Any) -> Any:
    return client.chat.completions.create(model="m", messages=MESSAGES, stream=True)


async def _sdk_stream(client: Any) -> Any:
    return await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)


async def _agen_object(client: Any) -> Any:
    return agen()


async def _gen_object(client: Any) -> Any:
    return gen()


async def _coroutine_object(client: Any) -> Any:
    return coro_of_stream()


FORMS: dict[str, tuple[Make, str]] = {
    "sdk create() not awaited": (_sdk_coroutine, "a coroutine object (AsyncCompletions.create"),
    "sdk stream (awaited)": (_sdk_stream, "a ready stream object (AsyncStream)"),
    "async generator object": (_agen_object, "a generator object (agen(...) called)"),
    "generator object": (_gen_object, "a generator object (gen(...) called)"),
    "coroutine object": (_coroutine_object, "a coroutine object (coro_of_stream(...)"),
}


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "not a factory" in r.getMessage()]


@pytest.mark.parametrize("form", list(FORMS))
async def test_a_ready_source_is_read_once_with_one_warning_up_front(
    form: str, caplog: pytest.LogCaptureFixture
) -> None:
    make, kind = FORMS[form]
    async with ChaosServer() as server, openai_client(server) as client:
        source = await make(client)
        with caplog.at_level(logging.WARNING, "l0"):
            stream = l0.stream(source, clock=FakeClock())
            said = _warnings(caplog)  # before any request l0 makes, before any read
            assert len(server.requests) == (1 if form == "sdk stream (awaited)" else 0)
            async with stream as s:
                text = "".join([e.text async for e in s if e.text is not None])
    assert len(said) == 1
    assert kind in said[0]
    assert "lambda: client.chat.completions.create(" in said[0]
    assert "cannot retry" in said[0]
    assert len(_warnings(caplog)) == 1  # once per run
    assert text == (server.answer if "sdk" in form else "".join(WORDS))


async def test_a_ready_sdk_stream_that_fails_says_it_cannot_be_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with (
        ChaosServer("drop_after_tokens=3") as server,
        openai_client(server) as client,
    ):
        source = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        with caplog.at_level(logging.WARNING, "l0"), pytest.raises(l0.L0Error) as caught:
            await l0.run(source, clock=FakeClock())
        assert len(server.requests) == 1  # never re-requested
    message = str(caught.value)
    assert "read once already: it cannot be retried" in message
    assert "pass a factory instead (e.g. lambda: client.chat.completions.create(" in message
    assert len(_warnings(caplog)) == 1


@pytest.mark.parametrize(
    ("source", "options"),
    [
        (lambda: agen(), {}),  # a factory
        (["Hello", ", ", "world"], {}),  # re-readable
        (("Hello", ", ", "world"), {}),
        (None, {"retry": l0.Retry(attempts=0, max_retries=0)}),  # nothing re-reads it
    ],
    ids=["factory", "list", "tuple", "no-retries"],
)
async def test_no_warning_when_nothing_is_lost(
    source: Any, options: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "l0"):
        result = await l0.run(agen() if source is None else source, **options)
    assert result.text == "Hello, world"
    assert _warnings(caplog) == []


async def test_a_ready_fallback_is_named_in_the_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "l0"):
        result = await l0.run(lambda: agen(), fallbacks=[gen()])
    assert result.text == "Hello, world"
    (said,) = _warnings(caplog)
    assert said.startswith("l0: fallbacks[0] is a generator object (gen(...) called)")
