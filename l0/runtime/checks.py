"""The attempt loop's slow path: what runs every N tokens rather than every token.

First-token bookkeeping, overlap removal on a resumed attempt, ``CHECKPOINT_SAVED`` events,
streaming guardrail and drift checks, and the final checks at the end of a stream. The loop
takes this path only when the token count reaches ``Run.next_check``, which this module
keeps at the nearest pending check (or 0 while every token needs it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from l0.errors import DriftError, ErrorCategory, ErrorCode, GuardrailViolationError
from l0.events import EventName
from l0.guardrails.hooks import (
    DriftHook,
    GuardrailHook,
    Severity,
    Violation,
    ViolationsResult,
    lookahead_of,
)
from l0.types import CheckIntervals, Event, EventType

if TYPE_CHECKING:
    from l0.runtime.continuation import OverlapResolver
    from l0.runtime.run import Run

__all__ = ["Checks"]

logger = logging.getLogger("l0")

_NEVER = 1 << 62
_STEP = 8  # tokens between guardrail checks (and releases) under ``checked`` release


class Checks:
    """Slow-path state of one run (see module docstring)."""

    def __init__(
        self,
        run: Run,
        guardrails: GuardrailHook | None,
        drift: DriftHook | None,
        intervals: CheckIntervals,
    ) -> None:
        self.run = run
        self.guardrails = guardrails
        self.drift = drift
        self.intervals = intervals
        self._first_pending = True
        self._guard_idx = 0
        self._drift_idx = 0
        self._ckpt_idx = 0  # parts counted into _ckpt_len so far
        self._ckpt_len = 0
        self._next_ckpt = intervals.checkpoint
        self._next_guard = intervals.guardrails
        self._next_drift = intervals.drift
        # ``checked`` release: text is held back until every rule has passed over it with
        # its declared look-ahead; only what is past that leaves (``_gate``).
        self.checked = run.opts.release == "checked" and guardrails is not None
        # The loop keeps tokens without yielding them (``hold``); every ``_STEP`` tokens the
        # rules run over them and all but the rules' look-ahead leaves.
        self.lookahead = lookahead_of(guardrails) if self.checked else 0
        self._gate_idx = 0  # parts already moved into ``held`` or released
        self.held = ""  # text accepted but not released yet
        self.released = 0  # characters of the current answer the consumer has been given
        self.pending: list[Event] = []  # events to yield before the next token
        # A run is a new answer: hooks reused from an earlier run (the same rule list or
        # detector passed again) must not carry its scanner state over.
        if guardrails is not None:
            guardrails.reset()
        if drift is not None:
            drift.reset()

    def new_attempt(self) -> None:
        """An attempt starts: its first token takes the slow path."""
        self._first_pending = True
        self._schedule()

    def reset(self) -> None:
        """The text restarts from empty: reset scanners and intervals."""
        self._guard_idx = self._drift_idx = self._ckpt_idx = self._ckpt_len = 0
        self._gate_idx = 0
        self.held = ""
        self.released = 0
        self._next_ckpt = self.intervals.checkpoint
        self._next_guard = self.intervals.guardrails
        self._next_drift = self.intervals.drift
        if self.guardrails is not None:
            self.guardrails.reset()
        if self.drift is not None:
            self.drift.reset()
        self._schedule()

    def _schedule(self) -> None:
        run = self.run
        if self._first_pending or run.resolver is not None:
            run.next_check = 0
            return
        nxt = self._next_ckpt if run.emitter.checkpoints else _NEVER
        if run.rec is not None:  # recording: its buffer is written from the slow path
            nxt = min(nxt, run.state.token_count + run.rec.recorder.flush_every)
        if self.checked:
            nxt = min(nxt, run.state.token_count + _STEP)
        if self.guardrails is not None:
            nxt = min(nxt, self._next_guard)
        if self.drift is not None:
            nxt = min(nxt, self._next_drift)
        run.next_check = nxt

    async def on_token(self, text: str, ts: float) -> str | None:
        """Handle one token on the slow path; the text to deliver (``None``: nothing yet)."""
        run = self.run
        run.state.last_token_at = ts
        if self._first_pending:
            self._first_pending = False
            state = run.state
            if state.first_token_at is None:
                state.first_token_at = ts
            run.wd.first_token()
            started = run.wd.attempt_started_at
            if run.emitter.active:
                await run.emitter.emit(
                    EventName.FIRST_TOKEN, ttft=(ts - started) if started is not None else None
                )
        resolver = run.resolver
        if resolver is not None:
            released = resolver.feed(text)
            if released is None:
                self._schedule()
                return None
            run.resolver = None
            await self._report_alignment(resolver)
            text = released
            if resolver.restarted:
                await self._restart_answer()
        if text:
            text = await self._accept(text)
        self._schedule()
        return text or None

    async def _restart_answer(self) -> None:
        """The resumed stream restarted the answer in other words: it replaces the checkpoint.

        Text already shown is taken back with a ``RESET`` (queued in :attr:`pending`, which
        the loop yields before the next token); held text is dropped silently."""
        run = self.run
        state = run.state
        shown = self.shown()
        state.checkpoint = ""
        state.clear_content()
        state.violations = []
        state.drift_detected = False
        state.resumed = False
        self.reset()
        logger.info("l0 stream %s: resumed stream restarted the answer", run.opts.stream_id)
        if not shown:
            return
        if run.emitter.active:
            await run.emitter.emit(EventName.RESET, discard=shown)
        self.pending.append(Event(EventType.RESET, None, {"discard": shown}, None, run.now()))

    def take_pending(self) -> list[Event]:
        """Events the loop must yield before the next token (a restart's ``RESET``)."""
        out, self.pending = self.pending, []
        return out

    async def _report_alignment(self, resolver: OverlapResolver) -> None:
        """``CONTINUATION_AMBIGUOUS`` when the evidence did not force the alignment."""
        amb = resolver.ambiguity
        if amb is not None and self.run.emitter.active:
            await self.run.emitter.emit(
                EventName.CONTINUATION_AMBIGUOUS,
                reason=amb.reason,
                removed=amb.removed,
                candidates=amb.candidates,
                held_back=amb.held_back,
            )

    async def _accept(self, text: str) -> str:
        """Run the due checks on the content plus ``text``; keep ``text`` if they pass.

        Returns the text to release now: ``text`` itself, or under ``checked`` release all
        held text but the last ``lookahead`` characters."""
        run = self.run
        state = run.state
        parts = state._parts
        n = state.token_count
        guard = self.guardrails
        if guard is not None and (n >= self._next_guard or self.checked):
            delta = "".join(parts[self._guard_idx :]) + text
            self._guard_idx = len(parts) + 1
            self._next_guard = n + self.intervals.guardrails
            # Inline the common case (a plain, empty result): no extra coroutine per check.
            result = guard.check(delta, state, final=False)
            if result.__class__ is not tuple and result.__class__ is not list:
                await self._guard_result(result, final=False)
            elif result:
                await self._violations(result, final=False)
        if self.drift is not None and n >= self._next_drift:
            delta = "".join(parts[self._drift_idx :]) + text
            self._drift_idx = len(parts) + 1
            self._next_drift = n + self.intervals.drift
            await self._check_drift(delta, final=False)
        parts.append(text)
        if n >= self._next_ckpt:
            self._next_ckpt = n + self.intervals.checkpoint
            if run.emitter.checkpoints:
                # Count only the new pieces: reading state.content here would copy the whole
                # text at every checkpoint (quadratic over a long answer).
                self._ckpt_len += sum(map(len, parts[self._ckpt_idx :]))
                self._ckpt_idx = len(parts)
                await run.emitter.emit(
                    EventName.CHECKPOINT_SAVED, token_count=n, length=self._ckpt_len
                )
        if not self.checked:
            return text
        return self._gate()

    def _gate(self) -> str:
        """The rules have passed over every part: release all but the last ``lookahead``
        characters (the parts the loop kept without yielding, then this token)."""
        parts = self.run.state._parts
        new = "".join(parts[self._gate_idx :])
        self._gate_idx = len(parts)
        held = self.held + new if self.held else new
        keep = self.lookahead
        if len(held) <= keep:
            self.held = held
            return ""
        if keep:
            out = held[:-keep]
            self.held = held[-keep:]
        else:
            out = held
            self.held = ""
        self.released += len(out)
        return out

    def release_rest(self) -> list[Event]:
        """The answer passed its final checks: release what is still held."""
        parts = self.run.state._parts
        held = self.held + "".join(parts[self._gate_idx :])
        self._gate_idx = len(parts)
        if not held:
            return []
        self.held = ""
        self.released += len(held)
        return [Event(EventType.TOKEN, held, None, None, self.run.now())]

    def shown(self) -> int:
        """Characters of the current answer the consumer has been given."""
        return self.released if self.checked else len(self.run.state.content)

    async def flush(self) -> list[Event]:
        """End of stream: release text the overlap resolver still holds."""
        run = self.run
        if run.resolver is None:
            return []
        resolver = run.resolver
        text = resolver.flush()
        run.resolver = None
        await self._report_alignment(resolver)
        out: list[Event] = []
        if resolver.restarted:
            await self._restart_answer()
            out = self.take_pending()
        self._schedule()
        if not text:
            return out
        text = await self._accept(text)
        if text:
            out.append(Event(EventType.TOKEN, text, None, None, run.now()))
        return out

    async def final(self) -> None:
        """The completion checks (all remaining text, ``final=True``)."""
        parts = self.run.state._parts
        if self.guardrails is not None:
            delta = "".join(parts[self._guard_idx :])
            self._guard_idx = len(parts)
            await self._final_guard(delta)
        if self.drift is not None:
            delta = "".join(parts[self._drift_idx :])
            self._drift_idx = len(parts)
            await self._check_drift(delta, final=True)

    async def _final_guard(self, delta: str) -> None:
        """The completion check, between ``GUARDRAIL_PHASE_START`` and ``GUARDRAIL_PHASE_END``
        (streaming checks report only their violations: a phase per token would cost the
        stream two events per check)."""
        assert self.guardrails is not None
        run = self.run
        emitter = run.emitter
        if not emitter.active:
            await self._guard_result(
                self.guardrails.check(delta, run.state, final=True), final=True
            )
            return
        started = run.clock.now()
        await emitter.emit(
            EventName.GUARDRAIL_PHASE_START, final=True, length=len(run.state.content)
        )
        result = self.guardrails.check(delta, run.state, final=True)
        if not isinstance(result, Sequence):
            result = await result
        for v in result:
            await emitter.emit(
                EventName.GUARDRAIL_RULE_RESULT, rule=v.rule, violation=v, final=True
            )
        await emitter.emit(
            EventName.GUARDRAIL_PHASE_END,
            final=True,
            violations=len(result),
            passed=not result,
            duration=run.clock.now() - started,
        )
        if result:
            await self._violations(result, final=True, emitted=True)

    async def _guard_result(self, result: ViolationsResult, *, final: bool) -> None:
        if not isinstance(result, Sequence):
            result = await result
        if result:
            await self._violations(result, final=final)

    async def _violations(
        self, violations: Sequence[Violation], *, final: bool, emitted: bool = False
    ) -> None:
        run = self.run
        run.state.violations.extend(violations)
        for v in violations:
            if run.emitter.active and not emitted:
                await run.emitter.emit(
                    EventName.GUARDRAIL_RULE_RESULT, rule=v.rule, violation=v, final=final
                )
        fatal = [
            v
            for v in violations
            if v.severity is Severity.FATAL or (v.severity is Severity.ERROR and not v.recoverable)
        ]
        if fatal:
            raise GuardrailViolationError(
                f"guardrail {fatal[0].rule!r}: {fatal[0].message}",
                violations=fatal,
                code=ErrorCode.FATAL_GUARDRAIL_VIOLATION,
                category=ErrorCategory.FATAL,
            )
        errors = [v for v in violations if v.severity is Severity.ERROR]
        if errors:
            raise GuardrailViolationError(
                f"guardrail {errors[0].rule!r}: {errors[0].message}", violations=errors
            )

    async def _check_drift(self, delta: str, *, final: bool) -> None:
        assert self.drift is not None
        result = self.drift.check(delta, final=final)
        run = self.run
        if run.emitter.active and (result.detected or final):
            await run.emitter.emit(
                EventName.DRIFT_CHECK_RESULT,
                detected=result.detected,
                types=result.types,
                confidence=result.confidence,
                final=final,
            )
        if result.detected:
            run.state.drift_detected = True
            if final:
                raise DriftError(
                    f"drift detected: {', '.join(result.types) or 'unspecified'}",
                    types=result.types,
                )
