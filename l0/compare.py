"""String comparison helpers on ``rapidfuzz`` (docs/format.md, "Comparing texts").

::

    from l0.compare import similarity, is_similar, best_match

The implementations live in :mod:`l0.utils.compare` (the components layer); the JSON-aware
comparison of structured values is :func:`values_similarity`.
"""

from __future__ import annotations

from l0.orchestration.agreement import value_similarity as values_similarity
from l0.utils.compare import (
    Match,
    best_match,
    edit_distance,
    is_similar,
    rank_matches,
    similarity,
)

__all__ = [
    "Match",
    "best_match",
    "edit_distance",
    "is_similar",
    "rank_matches",
    "similarity",
    "values_similarity",
]
