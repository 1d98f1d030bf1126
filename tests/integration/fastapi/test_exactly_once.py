"""Exactly once over every FastAPI wire format (issue 11): a client never sees rejected text,
and a format that cannot take text back ends with an error instead of gluing two answers."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import Response

import l0
from l0.guardrails import custom_pattern_rule
from l0.integrations.fastapi import L0Stream, l0_stream
from tests.fixtures.exactly_once import Scenario

from .helpers import events

pytestmark = pytest.mark.anyio

L0S = Annotated[L0Stream, Depends(l0_stream)]
SECRET_ANSWER = ["The launch ", "code is ", "SECRET ", "1234", ", do not", " share."]
REFUSAL = "I can't share that."
FORMATS = ("l0", "openai", "vercel")
# Seeds per format (the fault cycles over 4 kinds): 60 in CI; L0_SURFACE_CASES=200 gives the
# issue's bar of 200 runs per fault, as in tests/integration/test_exactly_once_surfaces.py.
SEEDS = max(60, 4 * int(os.environ.get("L0_SURFACE_CASES", "0")))


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/secret")
    async def secret(l0s: L0S, format: str, release: str) -> Response:
        return l0s(
            lambda: iter(SECRET_ANSWER),
            format=format,  # type: ignore[arg-type]
            fallbacks=[lambda: iter(["I can't ", "share that."])],
            # The rule: an unbounded pattern holds back max_match (256) characters.
            guardrails=[custom_pattern_rule([r"SECRET \d+"], severity="fatal")],
            check_intervals=l0.CheckIntervals(guardrails=1),
            release=release,
        )

    @app.get("/scenario")
    async def scenario(l0s: L0S, format: str, seed: int) -> Response:
        sc = Scenario(seed)
        return l0s(sc.primary, format=format, **sc.options())  # type: ignore[arg-type]

    return app


def read(fmt: str, body: str) -> tuple[str, list[str], dict[str, Any] | None]:
    """``(text the client assembled, every text piece it got, the error if any)``."""
    text = ""
    pieces: list[str] = []
    error: dict[str, Any] | None = None
    for ev in events(body):
        if ev.data == "[DONE]":
            continue
        data = ev.json()
        if fmt == "l0":
            if ev.event == "token":
                text += data["text"]
                pieces.append(data["text"])
            elif ev.event == "reset":
                text = text[: len(text) - int(data["discard"])]
            elif ev.event == "error":
                error = data
        elif fmt == "openai":
            if "error" in data:
                error = data["error"]
            else:
                piece = data["choices"][0]["delta"].get("content") or ""
                text += piece
                pieces.append(piece)
        else:
            if data.get("type") == "text-delta":
                text += data["delta"]
                pieces.append(data["delta"])
            elif data.get("type") == "error":
                error = data
    return text, pieces, error


async def get(app: FastAPI, path: str, **params: Any) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get(path, params=params)
    assert r.status_code == 200
    return r.text


@pytest.mark.parametrize("fmt", FORMATS)
async def test_checked_release_never_sends_the_rejected_answer(fmt: str) -> None:
    app = make_app()
    for _ in range(200):
        body = await get(app, "/secret", format=fmt, release="checked")
        text, pieces, error = read(fmt, body)
        assert text == REFUSAL and "".join(pieces) == REFUSAL and error is None
        assert "SECRET" not in body


@pytest.mark.parametrize("fmt", ["openai", "vercel"])
async def test_a_format_without_reset_ends_with_an_error_not_two_answers(fmt: str) -> None:
    body = await get(make_app(), "/secret", format=fmt, release="stream")
    text, _, error = read(fmt, body)
    assert error is not None and REFUSAL not in text  # never "...SECRET 1234I can't share"
    assert "cannot take them back" in json.dumps(error)


async def test_the_l0_format_resets_under_stream_release() -> None:
    text, _, error = read("l0", await get(make_app(), "/secret", format="l0", release="stream"))
    assert text == REFUSAL and error is None


@pytest.mark.parametrize("fmt", FORMATS)
async def test_random_faults_exactly_once(fmt: str) -> None:
    app = make_app()
    for seed in range(SEEDS):
        sc = Scenario(seed)
        text, pieces, error = read(fmt, await get(app, "/scenario", format=fmt, seed=seed))
        if error is not None:
            # Only a format without reset may stop, and only after a restart.
            assert fmt != "l0" and sc.fault == "violation", (seed, error)
            assert sc.final.startswith(text) or text == "" or sc.answer.startswith(text)
        else:
            sc.check(text, pieces)
        assert "SECRET" not in "".join(pieces)
