"""Streaming structured output: progressively validated partial objects.

:func:`structured_stream` runs like :func:`l0.structured` (same schema check, retries and
errors) and, while the JSON streams in, yields the object validated so far with pydantic's
partial mode (``experimental_allow_partial="trailing-strings"``): an object appears as soon
as its required fields are present, and grows. The last item is the final, fully validated
object. Partial validation runs only on tokens that can change the value (a quote, comma,
closing bracket, end of a literal), not on every character; never while a number may still
be growing (so ``22`` is not shown as ``2`` first).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter, ValidationError

from l0.errors import L0Error
from l0.runtime.stream import Stream
from l0.structured import SchemaCheck, StructuredResult, failure, prepare
from l0.types import EventType

__all__ = ["StructuredStream", "structured_stream"]

T = TypeVar("T")

_TRIGGERS = frozenset('",}]el')  # characters that can complete a value
_NUMBER_END = frozenset("0123456789.-+eE")


class StructuredStream(Generic[T]):
    """``async with l0.structured_stream(Model, source) as s: async for obj in s: ...``

    Iteration yields partial objects (each a valid instance under partial validation), then
    the final validated object; after a retry the partial objects start again from scratch.
    ``s.result`` is the :class:`l0.StructuredResult` once iteration finished.
    """

    def __init__(self, check: SchemaCheck, stream: Stream) -> None:
        self._check = check
        self._stream = stream
        self._result: StructuredResult[T] | None = None

    async def __aenter__(self) -> StructuredStream[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stream.aclose()

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate()

    async def _iterate(self) -> AsyncGenerator[T, None]:
        adapter: TypeAdapter[Any] = self._check.adapter
        parts: list[str] = []
        last: Any = None
        try:
            async for event in self._stream:
                if event.type is EventType.TOKEN and event.text:
                    parts.append(event.text)
                    if _TRIGGERS.isdisjoint(event.text):
                        continue
                    value = _partial(adapter, "".join(parts))
                    if value is not None and value != last:
                        last = value
                        yield value
                elif event.type is EventType.RESET:
                    parts.clear()
                    last = None
        except L0Error as exc:
            err = failure(exc, self._check)
            if err is exc:
                raise
            raise err from exc
        check = self._check
        self._result = StructuredResult(
            check.data, check.raw, bool(check.corrections), check.corrections, self._stream.result
        )
        yield check.data

    @property
    def result(self) -> StructuredResult[T]:
        """The final :class:`l0.StructuredResult`.

        Raises:
            L0Error: Read before iteration finished successfully.
        """
        if self._result is None:
            raise L0Error("no structured result yet: iterate the stream to its end first")
        return self._result


def _partial(adapter: TypeAdapter[Any], text: str) -> Any:
    start = min((i for i in (text.find("{"), text.find("[")) if i != -1), default=-1)
    if start == -1:
        return None
    body = text[start:]
    fence = body.find("```")
    if fence != -1:
        body = body[:fence]
    tail = body.rstrip()[-1:]
    if tail in _NUMBER_END and tail:
        return None  # a number may still be growing ("2" of "22"): wait for its end
    try:
        return adapter.validate_json(body, experimental_allow_partial="trailing-strings")
    except ValidationError:
        return None


def structured_stream(
    model: type[T] | TypeAdapter[T] | Any,
    source: Any,
    *,
    auto_correct: bool = True,
    strict: bool = False,
    **options: Any,
) -> StructuredStream[T]:
    """Stream ``source`` as progressively validated ``model`` objects.

    Takes the same arguments as :func:`l0.structured`.

    Raises:
        l0.StructuredOutputError: (while iterating) the output never validated.
    """
    from l0.core import stream

    check, wrapped, opts = prepare(model, source, options, auto_correct=auto_correct, strict=strict)
    return StructuredStream(check, stream(wrapped, **opts))
