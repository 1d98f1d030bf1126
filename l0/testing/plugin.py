"""pytest fixtures of l0 (``pytest_plugins = ["l0.testing.plugin"]``).

``recorded``: a function ``recorded(path, **kw)`` -> :func:`l0.testing.recorded_source`, with
``path`` relative to the test file's directory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from l0.testing.recorded import RecordedSource, recorded_source

__all__ = ["recorded"]


@pytest.fixture
def recorded(request: pytest.FixtureRequest) -> Callable[..., RecordedSource]:
    """Turn a recording next to the test into a source factory."""
    base = Path(str(request.path)).parent

    def load(path: str, **kwargs: Any) -> RecordedSource:
        p = Path(path)
        return recorded_source(p if p.is_absolute() else base / p, **kwargs)

    return load
