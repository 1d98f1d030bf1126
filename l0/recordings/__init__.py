"""Record and replay: recordings read back, :func:`replay`, :func:`compare_replays`.

Recording itself is a run option (``record=``, :mod:`l0.runtime.recording`); the stores are in
:mod:`l0.runtime.record_stores` and the format in :mod:`l0.runtime.record_schema`
(docs/replay.md).
"""

from l0.recordings.compare import ReplayDiff, compare_replays
from l0.recordings.player import OVERRIDES, ReplayDivergedError, ReplayResult, replay
from l0.recordings.recording import AttemptRecord, Recording, load_recording

__all__ = [
    "OVERRIDES",
    "AttemptRecord",
    "Recording",
    "ReplayDiff",
    "ReplayDivergedError",
    "ReplayResult",
    "compare_replays",
    "load_recording",
    "replay",
]
