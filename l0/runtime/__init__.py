"""The attempt loop (:mod:`l0.runtime.run`) and the pieces it is built from.

- ``run``: the run record and the attempt loop, from the first attempt to the result
- ``options``: validate the keyword options once, before anything runs
- ``checks``: the slow path (first token, checkpoints, guardrails, drift, overlap removal)
- ``recovery``: after a failure, carry out the decision; ``results``: the final result
- ``retry``: the pure retry/fallback/give-up decision
- ``timers``: backoff strategies and the injectable clock
- ``watchdog``: stall/total deadlines and abort, without a task or timer per token
- ``continuation``: overlap removal when a resumed stream restates the checkpoint
- ``events`` / ``callbacks``: lifecycle event emission and the ``on_*`` convenience callbacks
- ``state_machine``: the enforced run status transitions
- ``stream``: the :class:`~l0.runtime.stream.Stream` handle returned by :func:`l0.stream`

The vocabulary it speaks lives below it: :mod:`l0.events` (event names and payloads),
:mod:`l0.errors` (the error tree and its classifier), :mod:`l0.guardrails.hooks`.
``classify`` and ``hooks`` here are kept importable for older code.
"""
