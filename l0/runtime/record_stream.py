"""The recorded stream layer: an attempt's opened stream, recorded as the loop reads it.

:meth:`RunRecorder.wrap <l0.runtime.recording.RunRecorder.wrap>` puts a
:class:`RecordingStream` around each opened :class:`~l0.adapters.base.AdapterStream`. A text
stream is read as it is (the loop records its plain tokens); a provider stream's chunks are
decoded here, recorded with the changes to the adapter's end-of-stream state
(:func:`_snapshot`, :func:`_changes`), and handed to the loop as :class:`PreDecoded` events.
How reading ended (normally, raising, or cut by l0: :func:`_is_cut`) is recorded too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from l0.adapters.base import AdapterStream, Decoded
from l0.runtime.record_schema import encode, encode_event
from l0.types import Event, EventType

if TYPE_CHECKING:
    from l0.runtime.recording import RunRecorder

__all__ = ["PreDecoded", "RecordingStream"]

_TOKEN = EventType.TOKEN


class PreDecoded:
    """A chunk the recorder already decoded (the adapter's events, handed to the loop)."""

    __slots__ = ("events",)

    def __init__(self, events: Decoded) -> None:
        self.events = events


def _snapshot(src: AdapterStream) -> tuple[Any, ...]:
    return (src.ended, src.finish_reason, src.usage, len(src.tool_calls), src.expects_end)


def _changes(src: AdapterStream, before: tuple[Any, ...], content: bool) -> dict[str, Any]:
    now = _snapshot(src)
    if now == before:
        return {}
    out: dict[str, Any] = {}
    if now[0] != before[0]:
        out["ended"] = now[0]
    if now[1] != before[1]:
        out["finish_reason"] = now[1]
    if now[2] != before[2]:
        out["usage"] = encode(now[2], content)
    if now[3] != before[3]:
        out["tool_calls"] = encode(src.tool_calls, content)
    if now[4] != before[4]:
        out["expects_end"] = now[4]
    return out


def _encode_decoded(decoded: Decoded, content: bool) -> Any:
    if decoded is None:
        return None
    if isinstance(decoded, Event):
        return encode_event(decoded, content)
    return [encode_event(e, content) for e in decoded]


def _is_cut(exc: BaseException) -> bool:
    """l0 (or the consumer) stopped reading: a cancellation, a close, a replayed cut."""
    return not isinstance(exc, Exception) or getattr(exc, "_l0_replay_cut", False)


class RecordingStream(AdapterStream):
    """An opened stream whose chunks are recorded as the loop reads them."""

    def __init__(self, inner: AdapterStream, rec: RunRecorder) -> None:
        self.inner = inner
        self.rec = rec
        self.text_fast_path = inner.text_fast_path
        self._done = False
        # A text stream is read as it is (the loop records its tokens, :meth:`RunRecorder.
        # tee`); a provider stream through a layer that decodes and records each chunk.
        self.chunks = inner.chunks if inner.text_fast_path else self._chunks()

    # The adapter's end-of-stream state, read by the loop.
    @property
    def ended(self) -> bool:  # type: ignore[override]
        return self.inner.ended

    @property
    def finish_reason(self) -> str | None:  # type: ignore[override]
        return self.inner.finish_reason

    @property
    def usage(self) -> Any:  # type: ignore[override]
        return self.inner.usage

    @property
    def tool_calls(self) -> Any:  # type: ignore[override]
        return self.inner.tool_calls

    @property
    def expects_end(self) -> bool:  # type: ignore[override]
        return self.inner.expects_end

    @property
    def raw(self) -> Any:  # type: ignore[override]
        return self.inner.raw

    @property
    def source(self) -> Any:  # type: ignore[override]
        return self.inner.source

    def _terminal(self, kind: str) -> None:
        self.rec._terminal(kind)

    async def _chunks(self) -> AsyncIterator[Any]:
        rec = self.rec
        inner = self.inner
        items = rec.items
        append = items.append
        content = rec.content
        fast = inner.text_fast_path
        decode = inner.decode
        timer_now = rec.clock.timer_now
        gap = rec.recorder.gap
        limit = rec.recorder.flush_every
        last = timer_now()
        try:
            async for chunk in inner.chunks:
                t = timer_now()
                if t - last > gap:
                    append({"k": "gap", "t": t})
                last = t
                if fast and chunk.__class__ is str:
                    append(chunk if content else len(chunk))
                    yield chunk
                elif fast and chunk.__class__ is Event and chunk.type is _TOKEN and chunk.text:
                    append({"k": "evt", "e": encode_event(chunk, content)})
                    yield chunk
                else:
                    before = _snapshot(inner)
                    decoded = decode(chunk)
                    entry: dict[str, Any] = {"k": "ev", "e": _encode_decoded(decoded, content)}
                    changes = _changes(inner, before, content)
                    if changes:
                        entry["s"] = changes
                    append(entry)
                    yield PreDecoded(decoded)
                if len(items) >= limit:
                    await rec.flush()
        except BaseException as exc:
            self._terminal("cut" if _is_cut(exc) else "raise")
            raise
        self._terminal("end")

    def decode(self, chunk: Any) -> Decoded:
        """The events of a chunk the recorder decoded; on a text stream, the adapter's
        (recorded here)."""
        if chunk.__class__ is PreDecoded:
            return chunk.events
        inner = self.inner
        if not inner.text_fast_path:
            return inner.decode(chunk)
        rec = self.rec
        rec.enter()
        before = _snapshot(inner)
        decoded = inner.decode(chunk)
        entry: dict[str, Any] = {"k": "ev", "e": _encode_decoded(decoded, rec.content)}
        changes = _changes(inner, before, rec.content)
        if changes:
            entry["s"] = changes
        entry["t"] = rec.clock.timer_now()
        rec.items.append(entry)
        return decoded

    def end(self) -> list[Event]:
        """The adapter's pending events, recorded."""
        self.rec._terminal("end")
        before = _snapshot(self.inner)
        events = self.inner.end()
        entry: dict[str, Any] = {
            "k": "endp",
            "e": [encode_event(e, self.rec.content) for e in events],
        }
        changes = _changes(self.inner, before, self.rec.content)
        if changes:
            entry["s"] = changes
        self.rec.items.append(entry)
        return events

    async def aclose(self) -> None:
        """Close the recorded chunks, then the provider stream."""
        try:
            await self.chunks.aclose()  # type: ignore[attr-defined]
        finally:
            await self.inner.aclose()
