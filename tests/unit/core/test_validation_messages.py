"""Every validation message names the option, what was given, and the fix (issue 12, item 4)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import BaseModel

import l0
from l0.chaos import ChaosServer
from l0.testing.chaos import openai_client


@pytest.mark.parametrize(
    ("retry_on", "kind", "says"),
    [
        ("network", TypeError, "got the string 'network'; pass a collection"),
        ("network", TypeError, "retry_on={'network'}"),
        (..., TypeError, "got Ellipsis"),
        (3, TypeError, 'e.g. retry_on={"network", "transient"}'),
        (["netwrok"], ValueError, "unknown entry 'netwrok'"),
        (["netwrok"], ValueError, "did you mean 'network'?"),
        ({"transent", "model"}, ValueError, "did you mean 'transient'?"),
        (["xyzzy"], ValueError, 'e.g. retry_on={"network", "transient"}'),
    ],
)
def test_retry_on_names_what_was_given_and_the_fix(
    retry_on: object, kind: type[Exception], says: str
) -> None:
    with pytest.raises(kind, match="^Retry.retry_on") as caught:
        l0.Retry(retry_on=retry_on)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    "retry_on",
    [{"network"}, ["network", "transient"], (l0.ErrorCategory.MODEL,), frozenset(), lambda e: True],
)
def test_retry_on_accepts_collections_and_predicates(retry_on: object) -> None:
    assert l0.Retry(retry_on=retry_on).retry_on == retry_on


# -- sources ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_forgetting_stream_true_says_so() -> None:
    """The openai SDK without stream=True returns a ChatCompletion (iterable: tuples)."""
    async with ChaosServer() as server, openai_client(server) as client:
        with pytest.raises(l0.InvalidStreamError) as caught:
            await l0.run(
                lambda: client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "hi"}]
                )
            )
    message = str(caught.value)
    assert "complete, non-streaming response (ChatCompletion)" in message
    assert "pass stream=True" in message
    assert "tuple" not in message
    assert len(server.requests) == 1  # not retried: a programming error


@pytest.mark.anyio
async def test_a_pydantic_object_as_the_source_is_named_as_a_complete_response() -> None:
    class Reply(BaseModel):
        content: str

    with pytest.raises(l0.InvalidStreamError, match=r"non-streaming response \(.*Reply\)"):
        await l0.run(lambda: Reply(content="hi"))


def _gen_annotated(prompt: str) -> Iterator[str]:
    yield prompt


async def _agen_annotated(prompt: str) -> AsyncIterator[str]:
    yield prompt


class _Maker:
    def __call__(self, n: int) -> Iterator[str]:
        yield str(n)


@pytest.mark.anyio
@pytest.mark.parametrize("factory", [_gen_annotated, _agen_annotated, _Maker()])
async def test_a_factory_needing_another_argument_is_refused_up_front(factory: object) -> None:
    with pytest.raises(TypeError) as caught:
        await l0.run(factory)
    message = str(caught.value)
    assert message.startswith("source must take no argument or one l0.Attempt")
    assert "is annotated" in message and "(lambda: " in message


@pytest.mark.anyio
async def test_a_generator_yielding_its_unannotated_argument_says_it_got_the_attempt() -> None:
    def gen(prompt):  # type: ignore[no-untyped-def]  # what a new user writes
        yield prompt

    with pytest.raises(l0.InvalidStreamError, match="yielded the l0.Attempt it was called with"):
        await l0.run(gen)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "factory",
    [
        lambda attempt: iter(["ok"]),
        lambda attempt=None: iter(["ok"]),
        lambda: iter(["ok"]),
    ],
)
async def test_attempt_taking_factories_still_work(factory: object) -> None:
    assert (await l0.run(factory)).text == "ok"


@pytest.mark.anyio
async def test_annotated_attempt_factories_still_work() -> None:
    def plain(attempt: l0.Attempt) -> Iterator[str]:
        yield "a"

    def structured(attempt: l0.StructuredAttempt) -> Iterator[str]:
        yield "b"

    def untyped(attempt: Any) -> Iterator[str]:
        yield "c"

    assert [(await l0.run(f)).text for f in (plain, structured, untyped)] == ["a", "b", "c"]


# -- on_event ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_raising_on_event_handler_logs_one_traceback_per_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def handler(event: l0.ObservabilityEvent) -> None:
        raise RuntimeError("handler bug")

    with caplog.at_level(logging.DEBUG, logger="l0"):
        result = await l0.run(lambda: iter(["a", "b", "c"]), on_event=handler)
    assert result.text == "abc"  # never breaks the stream
    failures = [r for r in caplog.records if "raise" in r.getMessage()]
    assert len(failures) > 3  # every event was attempted
    first, *rest = failures
    assert first.levelno == logging.ERROR and "further failures" in first.getMessage()
    assert "handler bug" in caplog.text  # its traceback, once
    assert caplog.text.count("Traceback") == 1
    assert {r.levelno for r in rest} == {logging.DEBUG}


@pytest.mark.parametrize(
    ("make", "wrong", "right"),
    [
        (l0.Retry, "max_retires", "max_retries"),
        (l0.Retry, "attempt", "attempts"),
        (l0.Timeout, "inter_tokens", "inter_token"),
        (l0.Timeout, "intial_token", "initial_token"),
        (l0.Continuation, "restart_similarty", "restart_similarity"),
        (l0.CheckIntervals, "guardrail", "guardrails"),
    ],
)
def test_a_misspelt_policy_option_names_the_closest_one(make: Any, wrong: str, right: str) -> None:
    with pytest.raises(TypeError, match=f"unknown option '{wrong}'; did you mean '{right}'"):
        make(**{wrong: 1})
    # the right name still works, positionally and through dataclasses.replace
    assert dataclasses.replace(make(), **{right: getattr(make(), right)}) == make()


@pytest.mark.parametrize(
    ("option", "value", "hint"),
    [
        ("retry", 3, "retry=l0.Retry(max_retries=3)"),
        ("timeout", 30, "timeout=l0.Timeout(total=30) or l0.Timeout(inter_token=30)"),
        ("retry", True, None),
        ("timeout", "30", None),
    ],
)
def test_a_bare_number_for_a_policy_names_the_object_meant(
    option: str, value: object, hint: str | None
) -> None:
    with pytest.raises(TypeError) as info:
        l0.stream(["a"], **{option: value})
    message = str(info.value)
    assert message.startswith(f"{option} must be an l0.")
    assert (f"(did you mean {hint}?)" in message) if hint else ("did you mean" not in message)
