"""The end of a successful run: the :class:`~l0.types.Result` and its telemetry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from l0.events import EventName
from l0.types import Result, Status, Telemetry

if TYPE_CHECKING:
    from l0.runtime.run import Run

__all__ = ["complete", "telemetry"]


async def complete(run: Run) -> Result:
    state = run.state
    src = run.adapter_stream
    state.completed = True
    end = run.now()
    if state.first_token_at is not None:
        state.duration = end - state.first_token_at
    run.machine.to(Status.COMPLETED)
    if run.breaker_key is not None and run.opts.breaker is not None:
        await run.emitter.breaker(await run.opts.breaker.record_success(run.breaker_key))
        run.breaker_key = None
    if run.opts.retry_budget is not None:
        key = run.opts.breaker_keys[run.source_index]
        if key is not None:
            await run.opts.retry_budget.record_success(key)
    text = state.content
    state.checkpoint = text  # the whole answer passed its final checks: the last good point
    result = Result(
        text=text,
        state=state,
        telemetry=telemetry(run, end),
        tool_calls=list(src.tool_calls) if src else [],
        usage=src.usage if src else None,
        finish_reason=src.finish_reason if src else None,
        errors=list(run.errors),
        fallback_index=run.source_index,
    )
    run.result = result
    if run.emitter.active:
        await run.emitter.emit(
            EventName.COMPLETE,
            token_count=state.token_count,
            length=len(result.text),
            duration=state.duration,
            finish_reason=result.finish_reason,
            usage=result.usage,
            tool_calls=len(result.tool_calls),
            fallback_index=result.fallback_index,
            result=result,
        )
        retries = state.model_retry_count + state.network_retry_count
        if retries:
            await run.emitter.emit(EventName.RETRY_END, retries=retries, success=True)
        if run.source_index:
            await run.emitter.emit(EventName.FALLBACK_END, index=run.source_index, success=True)
    return result


def telemetry(run: Run, end: float) -> Telemetry:
    t = run.telemetry
    s = run.state
    t.ended_at = end
    t.duration = end - t.started_at
    t.token_count = s.token_count
    t.attempts = run.attempts
    t.model_retries = s.model_retry_count
    t.network_retries = s.network_retry_count
    t.retries = s.model_retry_count + s.network_retry_count
    t.fallbacks = run.source_index
    t.violations = len(s.violations)
    if s.first_token_at is not None:
        t.time_to_first_token = s.first_token_at - t.started_at
        if s.duration:
            t.tokens_per_second = s.token_count / s.duration
    return t
