"""A recording writer in its own process: ``python writer.py TARGET KEY TOKENS [DELAY]``.

TARGET is a ``redis://`` URL or a file path. The run streams TOKENS words, DELAY seconds
apart, recording every few items; the tests kill it mid-run or let it finish.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import anyio

import l0


async def main(target: str, key: str, tokens: int, delay: float) -> None:
    store: l0.Store = (
        l0.RedisStore.from_url(target) if target.startswith("redis://") else l0.FileStore(target)
    )

    async def words() -> AsyncIterator[str]:
        for i in range(tokens):
            if delay:
                await anyio.sleep(delay)
            yield f"w{i} "

    result = await l0.run(
        words,
        record=l0.Recorder(store, key=key, flush_every=4),
        check_intervals=l0.CheckIntervals(guardrails=2, drift=2, checkpoint=2),
    )
    print(len(result.text), flush=True)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
