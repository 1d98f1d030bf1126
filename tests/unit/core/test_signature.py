"""Which source factories receive the Attempt: a required first positional parameter, or one
annotated ``l0.Attempt``; the code-object reader and the ``inspect`` reader agree."""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable, Iterator
from typing import Any, Optional

import pytest

import l0
from l0.runtime.signature import _from_code, _from_signature, takes_attempt
from l0.types import Attempt


def gen(part: str) -> Iterator[str]:
    yield from (part, "!")


def required(attempt):  # type: ignore[no-untyped-def]
    return ["x"]


def annotated_default(attempt: l0.Attempt | None = None) -> list[str]:
    return ["x"]


def annotated_optional(attempt: Optional[Attempt] = None) -> list[str]:  # noqa: UP045
    return ["x"]


def untyped_default(x=1):  # type: ignore[no-untyped-def]
    return ["x"]


def star(*args):  # type: ignore[no-untyped-def]
    return ["x"]


def star_attempt(*args: Attempt) -> list[str]:
    return ["x"]


def kwargs_only(**kw):  # type: ignore[no-untyped-def]
    return ["x"]


def kwonly_with_default(*, k: int = 1) -> list[str]:
    return ["x"]


def required_then_default(a, b=2):  # type: ignore[no-untyped-def]
    return ["x"]


def two_required(a, b):  # type: ignore[no-untyped-def]
    return ["x"]


def needs_kwonly(*, k):  # type: ignore[no-untyped-def]
    return ["x"]


def posonly(a, /):  # type: ignore[no-untyped-def]
    return ["x"]


FUNCTIONS: list[tuple[Callable[..., Any], bool]] = [
    (lambda: 0, False),
    (lambda attempt: 0, True),
    (lambda p="x": 0, False),
    (lambda attempt, m=1: 0, True),
    (lambda *a: 0, False),
    (lambda **kw: 0, False),
    (required, True),
    (annotated_default, True),
    (annotated_optional, True),
    (untyped_default, False),
    (star, False),
    (star_attempt, True),
    (kwargs_only, False),
    (kwonly_with_default, False),
    (required_then_default, True),
    (posonly, True),
]


@pytest.mark.parametrize(("fn", "expected"), FUNCTIONS)
def test_functions_and_lambdas_fast_path_agrees_with_inspect(
    fn: Callable[..., Any], expected: bool
) -> None:
    assert isinstance(fn, types.FunctionType)
    assert _from_code(fn, "source") is expected
    assert _from_signature(inspect.signature(fn), "source") is expected
    assert takes_attempt(fn) is expected


@pytest.mark.parametrize("fn", [two_required, needs_kwonly, lambda a, b: 0])
def test_uncallable_factories_are_rejected_by_both_readers(fn: Callable[..., Any]) -> None:
    with pytest.raises(TypeError, match="one l0.Attempt"):
        _from_code(fn, "source")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="one l0.Attempt"):
        _from_signature(inspect.signature(fn), "source")
    with pytest.raises(TypeError, match=r"fallbacks\[0\]"):
        l0.stream(lambda: ["x"], fallbacks=[fn])


class Factory:
    def method(self, attempt: Attempt) -> list[str]:
        return [f"method {attempt.number}"]

    def method_default(self, p: str = "d") -> list[str]:
        return [p]

    @staticmethod
    def static(attempt: Any) -> list[str]:
        return ["static"]

    @classmethod
    def klass(cls, p: str = "c") -> list[str]:
        return [p]


class Callable1:
    def __call__(self, attempt: Any) -> list[str]:
        return [f"call {attempt.number}"]


class Callable0:
    def __call__(self, p: str = "zero") -> list[str]:
        return [p]


class NeedsAttempt(list[str]):
    def __init__(self, attempt: Attempt) -> None:
        super().__init__([f"class {attempt.number}"])


def two(part: str, attempt: Attempt) -> list[str]:
    return [part, str(attempt.number)]


def two_defaults(part: str, extra: str = "?") -> list[str]:
    return [part, extra]


OTHERS: list[tuple[Callable[..., Any], bool, str]] = [
    (Factory().method, True, "method 1"),
    (Factory().method_default, False, "d"),
    (Factory.static, True, "static"),
    (Factory.klass, False, "c"),
    (Callable1(), True, "call 1"),
    (Callable0(), False, "zero"),
    (NeedsAttempt, True, "class 1"),
    (functools.partial(two, "part"), True, "part1"),
    (functools.partial(two_defaults, "part"), False, "part?"),
    (functools.partial(gen, part="kw"), False, "kw!"),
]


@pytest.mark.parametrize(("fn", "expected", "text"), OTHERS)
def test_methods_partials_classes_and_callables(
    fn: Callable[..., Any], expected: bool, text: str
) -> None:
    assert takes_attempt(fn) is expected
    assert l0.run_sync(fn).text == text


@pytest.mark.anyio
async def test_late_binding_lambdas_keep_their_defaults() -> None:
    """``lambda p=p: gen(p)`` in a loop: each factory streams its own part, never the
    Attempt (the bug: the Attempt arrived as ``p``)."""
    parts = ["alpha", "beta", "gamma"]
    results = [await l0.run(lambda p=p: gen(p)) for p in parts]
    assert [r.text for r in results] == ["alpha!", "beta!", "gamma!"]


@pytest.mark.anyio
async def test_a_required_parameter_after_a_late_binding_default_is_not_confused() -> None:
    models = ["m1", "m2"]
    sources = [lambda attempt, m=m: [f"{m}#{attempt.number}"] for m in models]
    texts = [(await l0.run(src)).text for src in sources]
    assert texts == ["m1#1", "m2#1"]
