"""After a failure: classify it, decide, report it, and set up the next attempt.

The decision itself is the pure :func:`l0.runtime.retry.decide`; this module carries it out on
a run (counters, state, the continue-or-reset choice, the events), and builds the error
raised when the run gives up.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio

from l0.adapters.registry import map_provider_error
from l0.errors import (
    AbortedError,
    ErrorCategory,
    GuardrailViolationError,
    L0Error,
    RetriesExhaustedError,
    RetryBudgetExhaustedError,
    StreamTimeoutError,
    to_l0_error,
)
from l0.events import EventName
from l0.redaction import collect_credentials
from l0.runtime.continuation import OverlapResolver, resume_prefix_length
from l0.runtime.retry import Action, Counters, Decision, decide, throttled
from l0.types import Event, EventType, Status

if TYPE_CHECKING:
    from l0.runtime.run import Run

__all__ = ["classify_failure", "on_failure"]

# One line per recovery step (never a token's text): INFO for a rescue, WARNING on give-up.
logger = logging.getLogger("l0")


def classify_failure(run: Run, exc: BaseException) -> tuple[L0Error | None, BaseException]:
    """``(l0 error or None for a programming error, the exception to raise on give-up)``."""
    mine = run.wd.recognise(exc)
    if mine is not None:
        return mine, mine
    if isinstance(exc, anyio.get_cancelled_exc_class()) or not isinstance(exc, Exception):
        raise exc  # outside cancellation, KeyboardInterrupt, GeneratorExit: not ours
    # Learn the credentials of the failed request before any message is built from it.
    collect_credentials(exc)
    collect_credentials(exc.__cause__)
    # Before any stream exists (the factory's own request failed: a 429, a 401) no adapter
    # was detected yet: the registry asks every provider adapter to map it by type.
    adapter = run.adapter or run.opts.adapter
    mapped = adapter.map_error(exc) if adapter is not None else map_provider_error(exc)
    if mapped is None:
        mapped = to_l0_error(exc)
    return mapped, (mapped if mapped is not None else exc)


async def on_failure(run: Run, exc: BaseException) -> tuple[Decision, list[Event]]:
    """Classify, decide, report; prepare the next attempt or raise the final error."""
    err, raisable = classify_failure(run, exc)
    delivered = run.state.content
    if err is not None and delivered and not err.checkpoint:
        err.checkpoint = delivered  # what the user had already seen when it failed
    run.errors.append(raisable)
    if run.rec is not None:
        await run.rec.fault(exc, err, raisable)
    if run.breaker_key is not None and run.opts.breaker is not None:
        # The breaker itself decides whether this error's category counts.
        await run.emitter.breaker(await run.opts.breaker.record_failure(run.breaker_key, raisable))
        run.breaker_key = None
    if err is not None:
        _count_error(run, err)
        await _report_error(run, err)
    has_fallback = run.source_index + 1 < len(run.opts.sources)
    decision = decide(
        run.opts.retry, err, run.counters, has_fallback=has_fallback, random=run.random
    )
    budget_key = None
    if decision.action is Action.RETRY and run.opts.retry_budget is not None:
        budget_key = run.opts.breaker_keys[run.source_index]
        if budget_key is not None and not await run.opts.retry_budget.try_spend(budget_key):
            decision = throttled(budget_key, has_fallback)
        else:
            budget_key = None
    if run.emitter.active:
        await run.emitter.emit(
            EventName.ERROR,
            error=raisable,
            code=err.code.value if err else None,
            category=err.category.value if err else ErrorCategory.INTERNAL.value,
            action=decision.action.value,
            reason=decision.reason,
        )
    if decision.action is not Action.RETRY and run.counters.total and run.emitter.active:
        # Retries on this source are over: before the fallback or the final failure.
        await run.emitter.emit(
            EventName.RETRY_GIVE_UP, reason=decision.reason, retries=run.counters.total
        )
    if decision.action is Action.GIVE_UP:
        category = err.category.value if err else ErrorCategory.INTERNAL.value
        # A usage or programming error (internal, never retried) is raised to the caller as
        # it is: a warning beside it would only repeat it (INFO, for an l0 log reader).
        logger.log(
            logging.INFO if category == ErrorCategory.INTERNAL.value else logging.WARNING,
            "l0 stream %s gave up after %d attempt(s): %s (category=%s)",
            run.opts.stream_id,
            run.attempts,
            decision.reason,
            category,
        )
        final = (
            RetryBudgetExhaustedError(budget_key, errors=run.errors)
            if budget_key is not None
            else _final_error(run, err, raisable)
        )
        if isinstance(final, L0Error) and delivered and not final.checkpoint:
            final.checkpoint = delivered
        raise final from final.__cause__  # keep the SDK exception an adapter attached
    pending = await _prepare_next(run, err, decision)
    return decision, pending


def _count_error(run: Run, err: L0Error) -> None:
    by_cat = run.telemetry.errors_by_category
    by_cat[err.category.value] = by_cat.get(err.category.value, 0) + 1


async def _report_error(run: Run, err: L0Error) -> None:
    if isinstance(err, StreamTimeoutError):
        logger.info(
            "l0 stream %s timeout: attempt=%d kind=%s timeout=%ss elapsed=%.3fs",
            run.opts.stream_id,
            run.attempts,
            err.kind,
            err.timeout,
            err.elapsed,
        )
        if run.emitter.active:
            await run.emitter.emit(
                EventName.TIMEOUT_TRIGGERED,
                kind=err.kind,
                timeout=err.timeout,
                elapsed=err.elapsed,
            )
    elif err.category is ErrorCategory.NETWORK:
        kind = getattr(err, "kind", None)
        if run.emitter.active:
            await run.emitter.emit(
                EventName.NETWORK_ERROR, kind=getattr(kind, "value", None), error=err
            )
    if isinstance(err, AbortedError) and run.emitter.active:
        await run.emitter.emit(EventName.ABORT_REQUESTED, token_count=run.state.token_count)


def _final_error(run: Run, err: L0Error | None, raisable: BaseException) -> BaseException:
    if err is None or isinstance(err, AbortedError) or len(run.errors) == 1:
        return raisable
    if err.code.value == "TOTAL_TIMEOUT":
        return err
    return RetriesExhaustedError(
        f"all attempts failed ({run.attempts} attempts over {run.source_index + 1} "
        f"source(s)); last error: {err.message}",
        errors=run.errors,
    )


async def _prepare_next(run: Run, err: L0Error | None, decision: Decision) -> list[Event]:
    """Update counters and state for the next attempt; events to yield before it."""
    state = run.state
    if decision.action is Action.RETRY:
        run.machine.to(Status.RETRYING)
        run.counters = run.counters.after(decision.counts)
        if decision.counts:
            state.model_retry_count += 1
        else:
            state.network_retry_count += 1
        logger.info(
            "l0 stream %s retrying: attempt=%d retry=%d category=%s delay=%.3fs reason=%s",
            run.opts.stream_id,
            run.attempts,
            run.counters.total,
            err.category.value if err else None,
            decision.delay,
            decision.reason,
        )
        if run.emitter.active:
            await run.emitter.emit(
                EventName.RETRY_ATTEMPT,
                retry=run.counters.total,
                delay=decision.delay,
                counts=decision.counts,
                category=err.category.value if err else None,
                reason=decision.reason,
            )
    else:
        run.machine.to(Status.FALLING_BACK)
        state.fallback_index += 1
        run.counters = Counters()
        logger.info(
            "l0 stream %s falling back: attempt=%d source %d -> %d category=%s reason=%s",
            run.opts.stream_id,
            run.attempts,
            run.source_index - 1,
            run.source_index,
            err.category.value if err else None,
            decision.reason,
        )
        if run.emitter.active:
            await run.emitter.emit(
                EventName.FALLBACK_START,
                from_index=run.source_index - 1,
                to_index=run.source_index,
                reason=decision.reason,
            )
    return await _carry_or_reset(run, err)


async def _carry_or_reset(run: Run, err: L0Error | None) -> list[Event]:
    """Continue from the delivered text, or reset it (and tell the consumer)."""
    state = run.state
    run.resolver = None
    delivered = state.content
    shown = run.checks.shown()  # under checked release, held text was never shown
    can_continue = (
        run.opts.continuation is not None
        and bool(delivered)
        and err is not None
        and err.category is not ErrorCategory.CONTENT
        and not isinstance(err, (GuardrailViolationError, AbortedError))
    )
    if can_continue:
        cont = run.opts.continuation
        assert cont is not None
        state.checkpoint = delivered
        state.resumed = True
        state.resume_point = len(delivered)
        prefix = resume_prefix_length(
            delivered, max_overlap=cont.max_overlap, max_held_back=cont.max_held_back
        )
        run.resolver = OverlapResolver(
            delivered,
            prefix,
            max_overlap=cont.max_overlap,
            restart_similarity=cont.restart_similarity,
            restart_window=cont.restart_window,
        )
        logger.info(
            "l0 stream %s resuming from checkpoint: chars=%d",
            run.opts.stream_id,
            len(delivered),
        )
        return []
    state.checkpoint = ""
    state.clear_content()
    state.token_count = 0
    state.violations = []
    state.drift_detected = False
    run.checks.reset()
    if not shown:
        return []
    logger.info("l0 stream %s reset: discard=%d chars", run.opts.stream_id, shown)
    if run.emitter.active:
        await run.emitter.emit(EventName.RESET, discard=shown)
    return [Event(EventType.RESET, None, {"discard": shown}, None, run.now())]
