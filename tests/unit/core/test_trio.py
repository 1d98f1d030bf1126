"""The same loop on trio: retries, stall timeouts and abort use per-read cancel scopes."""

from __future__ import annotations

import time

import anyio
import pytest

import l0
from l0.testing import ScriptedSource, drop, stall

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


async def test_retry_and_continuation_on_trio() -> None:
    source = ScriptedSource(["Hello ", drop()], ["Hello world"])
    result = await l0.run(source, continuation=True, retry=l0.Retry(base_delay=0))
    assert result.text == "Hello world"
    assert source.closed == 2


async def test_stall_timeout_on_trio() -> None:
    source = ScriptedSource(["a", stall(5), "b"], ["ab"])
    t0 = time.monotonic()
    result = await l0.run(source, timeout=l0.Timeout(inter_token=0.1), retry=l0.Retry(base_delay=0))
    assert result.text == "ab"
    assert isinstance(result.errors[0], l0.StreamTimeoutError)
    assert time.monotonic() - t0 < 0.1 + 0.1


async def test_abort_on_trio() -> None:
    source = ScriptedSource(["a", stall(5), "b"])
    async with l0.stream(source) as s, anyio.create_task_group() as tg:

        async def abort_soon() -> None:
            await anyio.sleep(0.05)
            s.abort()

        tg.start_soon(abort_soon)
        with pytest.raises(l0.AbortedError):
            async for _ in s:
                pass
    assert source.closed == 1
