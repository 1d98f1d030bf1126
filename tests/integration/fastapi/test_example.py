"""The example app's scenarios (what its page renders), through ASGITransport."""

from __future__ import annotations

import httpx
import pytest

from .helpers import events, load_example

pytestmark = pytest.mark.anyio


async def run(**params: str) -> list[tuple[str | None, dict[str, object]]]:
    example = load_example()
    app = example.create_app(token_delay=0.0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/chat", params={"q": "hi", **params})
    assert r.status_code == 200
    return [(e.event, e.json()) for e in events(r.text)]


def shown(evs: list[tuple[str | None, dict[str, object]]]) -> str:
    """What the page shows: tokens appended, ``reset`` taking back ``discard`` characters."""
    text = ""
    for kind, data in evs:
        if kind == "token":
            text += str(data["text"])
        elif kind == "reset":
            text = text[: len(text) - int(str(data["discard"]))]
    return text


async def test_drop_is_continued() -> None:
    evs = await run()
    kinds = [k for k, _ in evs]
    assert kinds.count("retry") == 1
    assert "reset" not in kinds
    assert shown(evs) == load_example().ANSWER


async def test_restart_without_continuation_resets() -> None:
    evs = await run(restart="true")
    assert [k for k, _ in evs].count("reset") == 1
    assert shown(evs) == load_example().ANSWER


async def test_primary_down_falls_back() -> None:
    evs = await run(fallback="true")
    kinds = [k for k, _ in evs]
    assert kinds[:3] == ["retry", "retry", "fallback"]
    assert evs[2][1]["index"] == 1
    assert shown(evs) == load_example().ANSWER
