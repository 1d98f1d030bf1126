"""From l0's events back to LiteLLM chunks: one client-facing stream across attempts.

l0 reads each attempt's ``ModelResponseStream`` chunks through :meth:`ChunkRelay.tap`, which
keeps the chunks of the current attempt that l0 has not answered for yet. For every event l0
yields, :meth:`ChunkRelay.feed` returns the chunks the client should get:

* a ``TOKEN`` whose text is exactly the pending chunks' content: those chunks, as they are
  (the healthy path: the client gets LiteLLM's own objects);
* otherwise (overlap removed after a continuation, text held while it was undecided): the
  pending chunks that carry no text, then one chunk with the text l0 kept;
* after a ``RESET`` (l0 restarted the answer, e.g. after a guardrail violation) the client
  keeps what it already has: the new attempt continues from the text already sent and goes
  through an overlap resolver against it, so a restated prefix is not sent twice. Only an
  exact continuation is accepted there (a reading the resolver confirmed, a full restart that
  restates the client's text included): a stream that diverges from it (a fallback answering
  afresh, a restart in other words) cannot be reconciled with text the client already has,
  and the client's stream ends with :class:`~l0.errors.OutputRetractedError` instead of
  gluing the two answers together. The same holds for a ``RESET`` inside an attempt (the core
  found that a resumed stream restarted the answer): what follows must restate the client's
  text from its start, or the stream ends with that error.

Which prefix a new attempt continues from is :meth:`ChunkRelay.resume`'s decision: l0's own
checkpoint while the client's text is l0's delivered text (held tokens included: they are
released later), the client's text once a ``RESET`` made the two differ.

Chunks of a failed attempt that l0 never released (its role chunk, a finish chunk, tool-call
deltas) are dropped with the attempt; :meth:`ChunkRelay.finish` releases the last attempt's
remaining chunks (finish reason, usage). Every chunk carries the first chunk's ``id``,
``model`` and ``created``, so attempts are invisible to the client.

What is released when is this module's one decision: ``hold`` tokens are kept back until
the checks that run after them have passed (a streaming rule may report a match only once
the next text arrived), dropped on a ``RESET``, released at the end. A release policy (hold
to the end of a sentence, or of the answer) plugs in there.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from l0.errors import OutputRetractedError
from l0.runtime.continuation import OverlapResolver, resume_prefix_length
from l0.types import Attempt, Event, EventType

__all__ = ["ChunkRelay"]

_TOKEN = EventType.TOKEN


def _content(chunk: Any) -> str | None:
    choices = getattr(chunk, "choices", None)
    if not choices:
        return None
    content = choices[0].delta.content
    return content if isinstance(content, str) and content else None


def _last(chunk: Any) -> bool:
    """A chunk that ends the stream: a finish reason, or usage without choices."""
    choices = getattr(chunk, "choices", None)
    if not choices:
        return True
    return getattr(choices[0], "finish_reason", None) is not None


class ChunkRelay:
    """Turns l0's events over tapped LiteLLM chunks into the client's chunks (module doc).

    Args:
        hold: Tokens kept back until the next token has been checked (0: none).

    Attributes:
        chunks: How many chunks were released.
    """

    def __init__(self, *, hold: int = 0) -> None:
        self.hold = hold
        self._held: list[tuple[list[Any], str]] = []
        self._pending: list[Any] = []
        self._sent: list[str] = []
        self._ident: tuple[Any, Any, Any] | None = None
        self._template: Any = None
        self._resolver: OverlapResolver | None = None
        # After a RESET: the client's text then, and how much of the first later attempt's
        # text the resolver removed as a restatement of it (None: not decided yet).
        self._base: str | None = None
        self._removed: int | None = None
        # A RESET was fed and no attempt was set up to continue the client's text since: the
        # text that follows (a restart inside the attempt) must restate it from its start.
        self._unaligned = False
        self._last: Any = None
        self.chunks = 0

    @property
    def sent(self) -> str:
        """The text released to the client so far."""
        if len(self._sent) > 1:
            self._sent[:] = ["".join(self._sent)]
        return self._sent[0] if self._sent else ""

    # -- the attempt side ------------------------------------------------------------------

    def resume(self, attempt: Attempt) -> Attempt:
        """``attempt`` set to continue the text the client has (or is about to get).

        Until a ``RESET`` the client gets exactly l0's delivered text (tokens held back here
        are released later), so l0's own checkpoint and held-back tail stand: the resumed
        stream is aligned by l0 itself. After a ``RESET`` l0 restarts its answer while the
        client keeps its text ``B``: the first new attempt continues from ``B`` minus a
        held-back tail chosen like l0's (aligned here), and a later one from ``B`` followed by
        l0's checkpoint minus what that alignment removed.
        """
        base = self._base
        if base is None:
            return attempt
        delivered = attempt.checkpoint + attempt.held_back
        cont = attempt.continuation
        if not delivered:
            if self._resolver is not None or not base:
                return attempt
            k = 0
            if cont is not None:
                k = resume_prefix_length(
                    base, max_overlap=cont.max_overlap, max_held_back=cont.max_held_back
                )
            overlap = cont.max_overlap if cont is not None else 500
            self._resolver = OverlapResolver(base, k, max_overlap=overlap)
            self._removed = None
            self._unaligned = False
            return dataclasses.replace(attempt, checkpoint=base[:k], held_back=base[k:])
        removed = self._removed
        if removed is None or removed > len(attempt.checkpoint):
            # Still aligning the previous attempt: continue from everything the client has.
            return dataclasses.replace(attempt, checkpoint=self.eventual, held_back="")
        checkpoint = base + attempt.checkpoint[removed:]
        return dataclasses.replace(attempt, checkpoint=checkpoint)

    @property
    def eventual(self) -> str:
        """The client's text once the tokens held back here are released."""
        return self.sent + "".join(text for _, text in self._held)

    async def tap(self, stream: Any) -> AsyncIterator[Any]:
        """Yield ``stream``'s chunks, keeping each until l0 answers for it; closes ``stream``."""
        self._pending.clear()  # whatever is left belonged to a failed attempt
        try:
            async for chunk in stream:
                self._pending.append(chunk)
                yield chunk
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()

    # -- the client side -------------------------------------------------------------------

    def feed(self, event: Event) -> list[Any]:
        """The chunks to send for one event l0 yielded (often the pending chunk itself)."""
        if event.type is _TOKEN:
            return self._token(event.text or "")
        if event.type is EventType.RESET:
            self._pending.clear()
            self._held.clear()
            self._base = self.sent
            self._resolver = None  # set up by resume(), with the prefix the attempt is sent
            self._removed = None
            self._unaligned = bool(self._base)
        return []

    def finish(self) -> list[Any]:
        """The run completed: held text, then the last attempt's remaining chunks."""
        out = self._release(0)
        if self._resolver is not None:
            resolver = self._resolver
            text = resolver.flush()
            self._resolver = None
            self._removed = 0
            self._check_aligned(resolver)
            if text:
                out.append(self._synth(text, self._pending[-1] if self._pending else None))
                self._record(text)
        pending, self._pending = self._pending, []
        out.extend(self._stamp(c) for c in pending if _content(c) is None)
        self.chunks += len(out)
        return out

    def _release(self, keep: int) -> list[Any]:
        """Release held tokens beyond the last ``keep``."""
        out: list[Any] = []
        while len(self._held) > keep:
            chunks, text = self._held.pop(0)
            out.extend(chunks)
            self._record(text)
        return out

    def _token(self, text: str) -> list[Any]:
        if self._unaligned:
            # A restart inside the attempt (no resume() since the RESET): its text starts the
            # answer over, so the only reading is a full restart restating the client's text.
            self._unaligned = False
            self._resolver = OverlapResolver(self._base or "", 0, max_overlap=0)
            self._removed = None
        if self._resolver is not None:
            resolver = self._resolver
            released = resolver.feed(text)
            if released is None:
                return []
            self._resolver = None
            self._removed = resolver.overlap
            self._check_aligned(resolver)
            text = released
        pending, self._pending = self._pending, []
        if not text:
            return []
        if (len(pending) == 1 and _content(pending[0]) == text) or "".join(
            [_content(c) or "" for c in pending]
        ) == text:
            out = [self._stamp(c) for c in pending]
        else:
            # A finish or usage chunk waits for finish(): l0 may still hold text back
            # (checked release) that must go out before it.
            out = [self._stamp(c) for c in pending if _content(c) is None and not _last(c)]
            self._pending = [c for c in pending if _content(c) is None and _last(c)]
            template = next((c for c in reversed(pending) if _content(c) is not None), None)
            out.append(self._synth(text, template))
        if self.hold:
            self._held.append((out, text))
            out = self._release(self.hold)
        else:
            self._record(text)
        self.chunks += len(out)
        return out

    def _check_aligned(self, resolver: OverlapResolver) -> None:
        """End the client's stream when the text after a ``RESET`` does not continue the
        client's text exactly (module doc): never glue two answers together."""
        amb = resolver.ambiguity
        if resolver.restarted or (amb is not None and amb.reason == "diverged"):
            self._pending.clear()
            raise OutputRetractedError(None, len(self.sent))

    def _record(self, text: str) -> None:
        self._sent.append(text)

    def _stamp(self, chunk: Any) -> Any:
        """Give ``chunk`` the stream's identity (the first released chunk's)."""
        self._last = chunk
        ident = self._ident
        if ident is None:
            self._ident = (chunk.id, chunk.model, chunk.created)
            self._template = chunk
            return chunk
        if chunk.id != ident[0] or chunk.model != ident[1] or chunk.created != ident[2]:
            chunk.id, chunk.model, chunk.created = ident
        return chunk

    def _synth(self, text: str, template: Any) -> Any:
        """A content chunk carrying ``text``, shaped like ``template`` (or the first chunk)."""
        from litellm.types.utils import Delta, ModelResponseStream, StreamingChoices

        base = template if template is not None else self._template
        chunk = ModelResponseStream(choices=[StreamingChoices(index=0, delta=Delta(content=text))])
        if base is not None:
            chunk.id, chunk.model, chunk.created = base.id, base.model, base.created
        # stream_chunk_builder orders chunks by their hidden ``created_at``: take the place of
        # the chunk this one stands for (or the last one released), never the end.
        timed = template if template is not None else self._last
        hidden = getattr(timed, "_hidden_params", None)
        if isinstance(hidden, dict) and "created_at" in hidden:
            chunk._hidden_params = {**chunk._hidden_params, "created_at": hidden["created_at"]}
        return self._stamp(chunk)
