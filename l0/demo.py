"""``l0 demo``: a simulated flaky provider, handled live."""

from __future__ import annotations

import anyio

import l0

__all__ = ["main"]


def main(*, fast: bool = False) -> int:
    """Run the demo; return the process exit code."""

    async def go() -> None:
        result = await l0.run(lambda: ["Hello", ", ", "world", "."])
        print(result.text)

    anyio.run(go)
    return 0
