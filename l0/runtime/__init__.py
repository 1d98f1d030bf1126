"""The runtime pieces the attempt loop in :mod:`l0.core` is built from.

- ``classify``: any exception -> :class:`~l0.errors.L0Error`
- ``retry``: the pure retry/fallback/give-up decision
- ``timers``: backoff strategies and the injectable clock
- ``watchdog``: stall/total deadlines and abort, without a task or timer per token
- ``continuation``: overlap removal when a resumed stream restates the checkpoint
- ``events`` / ``callbacks``: lifecycle event emission and the ``on_*`` convenience callbacks
- ``state_machine``: the enforced run status transitions
- ``hooks``: the interfaces guardrails and drift detectors plug into
- ``stream``: the :class:`~l0.runtime.stream.Stream` handle returned by :func:`l0.stream`
"""
