"""Adapter building blocks: tool-call assembly, sync-stream bridging, by-type chunk dispatch."""

from __future__ import annotations

import threading

import anyio
import pytest

import l0
from l0.adapters._common import ThreadedIterator, ToolCallAssembler, parse_arguments
from l0.errors import InvalidStreamError
from l0.types import ToolCall

pytestmark = pytest.mark.anyio


def test_parse_arguments() -> None:
    assert parse_arguments("") == {}
    assert parse_arguments('{"a": [1]}') == {"a": [1]}
    assert parse_arguments('{"a": ') is None


def test_assembler_keeps_fragments_per_key_and_numbers_by_completion() -> None:
    tools = ToolCallAssembler()
    tools.add(5, "id5", "f", '{"x"')
    tools.add(2, "id2", "g", None)
    tools.add(5, None, None, ": 1}")
    tools.add(2, None, None, "not json")
    assert tools.finish(2) == ToolCall("id2", "g", None, "not json", 0)
    assert tools.finish_all() == [ToolCall("id5", "f", {"x": 1}, '{"x": 1}', 1)]
    assert tools.finish(5) is None
    assert not tools


def test_assembler_authoritative_arguments_win() -> None:
    tools = ToolCallAssembler()
    tools.add(0, "c", "f", '{"a"')
    assert tools.finish(0, '{"a": 2}') == ToolCall("c", "f", {"a": 2}, '{"a": 2}', 0)


class _Blocking:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.closed = False
        self.items = iter(["one"])

    def __iter__(self) -> _Blocking:
        return self

    def __next__(self) -> str:
        item = next(self.items, None)
        if item is not None:
            return item
        self.release.wait(5)
        raise StopIteration

    def close(self) -> None:
        self.closed = True
        self.release.set()


async def test_threaded_chunks_do_not_block_the_loop_and_close() -> None:
    sync = _Blocking()
    chunks = ThreadedIterator(sync)
    assert await chunks.__anext__() == "one"
    with anyio.move_on_after(0.05):  # the next read blocks in a thread; the loop stays free
        await chunks.__anext__()
    await chunks.aclose()
    assert sync.closed
    with pytest.raises(StopAsyncIteration):
        await chunks.__anext__()


def test_sync_iterable_source_through_run_sync() -> None:
    assert l0.run_sync(lambda: iter(["a", "b"])).text == "ab"


async def test_unknown_chunk_type_is_a_clear_error() -> None:
    async def odd():
        yield 42

    with pytest.raises(InvalidStreamError, match="int"):
        await l0.run(odd)
