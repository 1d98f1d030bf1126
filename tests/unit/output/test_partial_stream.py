"""structured_stream's partial objects: every one is a prefix of the final answer's document.

The JSON repair corpus is streamed in random chunkings (seeded): the final value is the
corpus's, and no partial object ever shows something the final answer does not hold (a draft
inside a ``<think>`` block, the inside of a ``python`` fence, a string cut at a backtick).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

import l0
from l0.output.schema import output_schema
from l0.output.streaming import partial_value, structured_stream
from tests.unit.output.test_json_corpus import CORPUS, RAISES

F = "```"


def random_chunks(text: str, seed: int) -> list[str]:
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(text):
        size = rng.randint(1, 8)
        out.append(text[i : i + size])
        i += size
    return out


def is_prefix_value(partial: Any, final: Any) -> bool:
    """``partial`` could be what ``final`` looked like while it was being written."""
    if isinstance(partial, dict):
        return isinstance(final, dict) and all(
            k in final and is_prefix_value(v, final[k]) for k, v in partial.items()
        )
    if isinstance(partial, list):
        return (
            isinstance(final, list)
            and len(partial) <= len(final)
            and all(is_prefix_value(p, f) for p, f in zip(partial, final, strict=False))
        )
    if isinstance(partial, str):
        return isinstance(final, str) and final.startswith(partial)
    return bool(partial == final)


def shape(expected: Any) -> Any:
    return dict[str, Any] if isinstance(expected, dict) else list[Any]


async def stream_all(model: Any, text: str, seed: int) -> tuple[list[Any], Any]:
    chunks = random_chunks(text, seed)
    async with structured_stream(model, lambda: chunks, preset="fail_fast") as s:
        seen = [value async for value in s]
    return seen[:-1], s.result.data


VALUED = [(t, v) for t, v in CORPUS if v is not RAISES]


@pytest.mark.anyio
@pytest.mark.parametrize(("text", "expected"), VALUED, ids=range(len(VALUED)))
async def test_corpus_streamed_in_random_chunks_shows_only_prefixes(
    text: str, expected: Any
) -> None:
    for seed in range(4):
        partials, final = await stream_all(shape(expected), text, seed)
        assert final == expected
        for p in partials:
            assert is_prefix_value(p, expected), (seed, p)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "text", [t for t, v in CORPUS if v is RAISES and t.strip()], ids=lambda t: repr(t[:20])
)
async def test_corpus_cases_without_a_document_show_nothing_and_fail(text: str) -> None:
    for seed in range(3):
        seen: list[Any] = []
        chunks = random_chunks(text, seed)
        with pytest.raises(l0.StructuredOutputError):
            async with structured_stream(dict[str, Any], chunks, preset="fail_fast") as s:
                seen.extend([value async for value in s])
        assert seen == []


class Snippet(BaseModel):
    code: str
    n: int = 0


SCHEMA = output_schema(Snippet)


def test_a_backtick_inside_a_fenced_string_does_not_cut_the_partial_string() -> None:
    text = f'{F}json\n{{"code": "run {F}ls{F} then {F}pwd{F}", "n": 1'
    value = partial_value(SCHEMA, text + ", ")
    assert value == Snippet(code=f"run {F}ls{F} then {F}pwd{F}", n=1)


def test_a_fence_in_another_language_before_the_json_fence_is_not_the_answer() -> None:
    head = f'{F}python\nd = {{"code": "draft"}}\n'
    assert partial_value(SCHEMA, head) is None  # the python fence is still open
    text = head + f'{F}\n{F}json\n{{"code": "real"'
    assert partial_value(SCHEMA, text + ", ") == Snippet(code="real")


def test_a_draft_inside_a_think_block_is_never_shown() -> None:
    draft = '<think>maybe {"code": "draft", "n": 1}, '
    assert partial_value(SCHEMA, draft) is None
    assert partial_value(SCHEMA, draft + "no.</think>\n") is None
    real = draft + 'no.</think>\n{"code": "final", "n": 2}'
    assert partial_value(SCHEMA, real) == Snippet(code="final", n=2)


def test_a_number_still_growing_is_not_shown() -> None:
    assert partial_value(SCHEMA, '{"code": "x", "n": 2') is None
    assert partial_value(SCHEMA, '{"code": "x", "n": 1e') is None
    assert partial_value(SCHEMA, '{"code": "x", "n": 22,') == Snippet(code="x", n=22)


@pytest.mark.anyio
async def test_the_three_bug_inputs_stream_to_the_right_value() -> None:
    cases = {
        f'Here:\n{F}json\n{{"code": "a {F}b{F} c", "n": 3}}\n{F}': Snippet(
            code=f"a {F}b{F} c", n=3
        ),
        f'{F}python\nx = {{"code": "no"}}\n{F}\n{F}json\n{{"code": "yes"}}\n{F}': Snippet(
            code="yes"
        ),
        '<think>{"code": "draft", "n": 1}</think>{"code": "answer", "n": 2}': Snippet(
            code="answer", n=2
        ),
    }
    for text, expected in cases.items():
        for seed in range(6):
            partials, final = await stream_all(TypeAdapter(Snippet), text, seed)
            assert final == expected
            for p in partials:
                assert expected.code.startswith(p.code), (text, seed, p)
                assert p.n in (0, expected.n)
