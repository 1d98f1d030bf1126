"""Collect the Python blocks of README.md and docs/*.md.

A block is a fenced ```` ```python ```` block. An HTML comment on the nearest non-blank line
before its fence marks it:

- ``<!-- docs-test: fragment -->``: a piece of code that cannot run on its own (a signature,
  an excerpt with ``...`` in place of arguments); it is parsed, not run.

Every other block runs, in order, in one namespace per file (a later block may use what an
earlier one defined), with the placeholders of :mod:`tests.docs.placeholders` for the names
it uses but does not define.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))

_FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
_MARK = re.compile(r"^<!--\s*docs-test:\s*(.+?)\s*-->$")


@dataclass(frozen=True, slots=True)
class Block:
    """One Python block of a document.

    Attributes:
        path: The document.
        line: The line of the block's first code line (1-based).
        code: The block's code.
        marks: The words of its ``docs-test`` comment (``{"fragment"}``).
    """

    path: Path
    line: int
    code: str
    marks: frozenset[str]

    @property
    def where(self) -> str:
        """``docs/x.md:12``: the file and line of the block, for test ids and failures."""
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The Python blocks of ``path``, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and not _FENCE.match(lines[end]):
            end += 1
        if fence.group(2) == "python":
            code = textwrap.dedent("\n".join(lines[i + 1 : end]) + "\n")
            found.append(Block(path, i + 2, code, _marks(lines, i)))
        i = end + 1
    return found


def _marks(lines: list[str], fence: int) -> frozenset[str]:
    j = fence - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    mark = _MARK.match(lines[j].strip()) if j >= 0 else None
    return frozenset(mark.group(1).split()) if mark else frozenset()


def all_blocks() -> list[Block]:
    """Every Python block of README.md and docs/*.md."""
    return [block for path in DOC_FILES for block in blocks(path)]
