"""A text source may say its protocol has an end marker (``l0_expects_end``): ending without
its ``COMPLETE`` event is then a truncation, as for a provider stream (recorded sources use
it to fail again as recorded)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

import l0


class _Source:
    def __init__(self, items: list[Any], expects_end: bool) -> None:
        self.items = items
        self.l0_expects_end = expects_end

    async def _gen(self) -> AsyncIterator[Any]:
        for item in self.items:
            yield item

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._gen()


END = l0.Event(l0.EventType.COMPLETE, None, {"finish_reason": "stop"})
NO_RETRY = l0.Retry(max_retries=0)
pytestmark = pytest.mark.anyio


async def test_an_end_marker_source_that_stops_short_is_truncated() -> None:
    with pytest.raises(l0.TruncatedStreamError):
        await l0.run(lambda: _Source(["Hel", "lo"], True), retry=NO_RETRY)


@pytest.mark.parametrize(
    ("items", "expects_end", "options"),
    [
        (["Hel", "lo", END], True, {}),  # its end marker came
        (["Hel", "lo"], True, {"detect_truncation": False}),  # the run does not check
        (["Hel", "lo"], False, {}),  # a plain text source has no end marker
    ],
    ids=["marker", "unchecked", "plain"],
)
async def test_otherwise_it_completes(
    items: list[Any], expects_end: bool, options: dict[str, Any]
) -> None:
    result = await l0.run(lambda: _Source(items, expects_end), retry=NO_RETRY, **options)
    assert result.text == "Hello"
