"""``l0.structured_stream``: partial objects while the JSON streams in, then the final one.

The run is :func:`l0.structured`'s (same schema check, retries, events); iteration yields the
object validated so far. The partial document is the one :func:`l0.auto_correct_json` would
pick, closed where the text stops (:func:`l0.utils.auto_correct.close_partial_json`): never a
draft inside a ``<think>`` block, never the inside of a fence in another language, and a
fence closes the document only outside a string (a string holding backticks is kept whole).

Partial validation runs only on tokens that can complete a value (a quote, comma, closing
bracket, end of a literal), only once the text grew by a sixteenth since the last validation
(so the total work stays linear in the output), and never while a number may still be
growing (``22`` is not shown as ``2`` first).
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from typing_extensions import Unpack

from l0.errors import L0Error
from l0.output.presets import StructuredPreset
from l0.output.schema import OutputSchema
from l0.output.structured import SchemaCheck, StructuredResult, failure, prepare, success
from l0.runtime.stream import Stream
from l0.types import EventType
from l0.utils.auto_correct import close_partial_json

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from l0.runtime.options import RunOptions

__all__ = ["StructuredStream", "partial_value", "structured_stream"]

T = TypeVar("T")

_TRIGGERS = frozenset('",}]el')  # characters that can complete a value
# The text ends in what may be a number still growing: a digit, sign, point, or "1e".
_GROWING_NUMBER = re.compile(r"(?:[-+0-9.]|[0-9][eE])\Z")


def partial_value(schema: OutputSchema, text: str) -> Any:
    """The value ``text`` (an unfinished answer) shows so far, or ``None``.

    ``None`` while there is no document yet, while a number may still be growing, and while
    what there is does not validate (even partially) against ``schema``.
    """
    if _GROWING_NUMBER.search(text):
        return None
    closed = close_partial_json(text)
    if closed is None:
        return None
    return schema.validate_partial(closed)


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
        schema = self._check.schema
        parts: list[str] = []
        last: Any = None
        size = seen = 0  # characters received / at the last partial validation
        try:
            async for event in self._stream:
                if event.type is EventType.TOKEN and event.text:
                    parts.append(event.text)
                    size += len(event.text)
                    # Re-validate only when the text grew by 1/16 since the last time: each
                    # validation reads everything, so this keeps the total work linear.
                    if _TRIGGERS.isdisjoint(event.text) or size - seen < size >> 4:
                        continue
                    seen = size
                    value = partial_value(schema, "".join(parts))
                    if value is not None and value != last:
                        last = value
                        yield value
                elif event.type is EventType.RESET:
                    parts.clear()
                    last = None
                    size = seen = 0
        except L0Error as exc:
            err = failure(exc, self._check)
            if err is exc:
                raise
            raise err from exc
        self._result = success(self._check, self._stream.result)
        yield self._result.data

    @property
    def result(self) -> StructuredResult[T]:
        """The final :class:`l0.StructuredResult`.

        Raises:
            L0Error: Read before iteration finished successfully.
        """
        if self._result is None:
            raise L0Error("no structured result yet: iterate the stream to its end first")
        return self._result


def structured_stream(
    model: type[T] | TypeAdapter[T] | Any,
    source: Any,
    *,
    auto_correct: bool | None = None,
    strict: bool | None = None,
    preset: str | StructuredPreset | None = None,
    **options: Unpack[RunOptions],
) -> StructuredStream[T]:
    """Stream ``source`` as progressively validated ``model`` objects.

    Takes the same arguments as :func:`l0.structured` (a Pydantic type or a JSON Schema
    dict; with a JSON Schema a partial object is shown while its only failures are ones more
    text can fix, such as missing required fields).

    Raises:
        l0.StructuredOutputError: (while iterating) the output never validated.
    """
    from l0.core import stream

    check, wrapped, opts = prepare(
        model, source, dict(options), auto_correct=auto_correct, strict=strict, preset=preset
    )
    return StructuredStream(check, stream(wrapped, **opts))
