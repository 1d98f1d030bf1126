"""Every Python block of README.md and docs/*.md runs as written.

Blocks run in order in one namespace per document, against a chaos server that every SDK's
default client is pointed at (through the environment); names a block uses without defining
come from :mod:`tests.docs.placeholders`. A block marked ``<!-- docs-test: fragment -->`` is
only parsed. ``async def test_*`` / ``def test_*`` functions a block defines are called too.
A failure's traceback names the document and line (``README.md:37``).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import gc
import inspect
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from l0.testing.chaos import chaos_server

from .blocks import DOC_FILES, ROOT, Block, all_blocks, blocks

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch on import

from .placeholders import answer, environment, placeholder

BLOCKS = all_blocks()


class _Document:
    """One document's namespace, the blocks run so far, and the event loop they share."""

    def __init__(self, path: Path, portal: BlockingPortal, server: Any) -> None:
        self.name = str(path.relative_to(ROOT))
        self.blocks = blocks(path)
        self.portal = portal
        self.server = server
        self.namespace: dict[str, Any] = {"__name__": f"docs_{path.stem}"}
        self.done = 0
        self.opened: list[Any] = []

    def run_until(self, block: Block) -> None:
        """Run every block before ``block`` (once), then ``block`` itself."""
        index = next(i for i, b in enumerate(self.blocks) if b.line == block.line)
        while self.done <= index:
            current = self.blocks[self.done]
            self.done += 1
            self._run(current)

    def _run(self, block: Block) -> None:
        source = "\n" * (block.line - 1) + block.code
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        code = compile(source, str(block.path), "exec", flags=flags, dont_inherit=True)
        if "fragment" in block.marks:
            return
        self._provide(ast.parse(source))
        before = set(self.namespace)
        if code.co_flags & inspect.CO_COROUTINE:
            coroutine = eval(code, self.namespace)
            self.portal.call(_await, coroutine)
        else:
            exec(code, self.namespace)
        for name in sorted(set(self.namespace) - before):
            function = self.namespace[name]
            if name.startswith("test_") and inspect.isfunction(function):
                if inspect.iscoroutinefunction(function):
                    self.portal.call(function)
                else:
                    function()

    def close(self) -> None:
        """Close the async SDK clients the document's blocks and placeholders opened."""
        for value in [*self.namespace.values(), *self.opened]:
            close = getattr(value, "close", None)
            if type(value).__name__ in _ASYNC_CLIENTS and inspect.iscoroutinefunction(close):
                self.portal.call(close)

    def _provide(self, tree: ast.Module) -> None:
        """Bind the placeholders the block uses and neither it nor an earlier block defines."""
        stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not _load(n)}
        stored |= {
            n.name
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
        stored |= {
            a.asname or a.name.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.Import | ast.ImportFrom)
            for a in n.names
        }
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Name) and _load(node)):
                continue
            name = node.id
            if name in stored or name in self.namespace or hasattr(builtins, name):
                continue
            # A name with no placeholder stays unbound: the block's own NameError names it.
            with contextlib.suppress(KeyError):
                self.namespace[name] = placeholder(self.server, self.name, name, self.opened)


_ASYNC_CLIENTS = {"AsyncOpenAI", "AsyncAnthropic"}


def _load(node: ast.Name) -> bool:
    return isinstance(node.ctx, ast.Load)


async def _await(coroutine: Any) -> Any:
    return await coroutine


def _forget_litellm_callbacks() -> None:
    """Undo what the docs do to LiteLLM's globals (only if a block imported LiteLLM)."""
    if "l0.integrations.litellm" not in sys.modules:
        return
    import litellm

    from l0.integrations.litellm import L0Handler, l0_handler

    litellm.callbacks[:] = [c for c in litellm.callbacks if not isinstance(c, L0Handler)]
    l0_handler.on_event = None


@pytest.fixture(scope="module")
def documents() -> Iterator[dict[Path, _Document]]:
    """One namespace per document, over one chaos server and one event loop per document."""
    saved_env = dict(os.environ)
    with ExitStack() as stack:
        server = stack.enter_context(chaos_server(answer=answer))
        os.environ.update(environment(server))
        docs: dict[Path, _Document] = {}

        class _Lazy(dict[Path, _Document]):
            def __missing__(self, path: Path) -> _Document:
                portal = stack.enter_context(start_blocking_portal())
                doc = docs[path] = _Document(path, portal, server)
                self[path] = doc
                return doc

        lazy = _Lazy()
        try:
            yield lazy
        finally:
            for doc in lazy.values():
                doc.close()
            _forget_litellm_callbacks()
            os.environ.clear()
            os.environ.update(saved_env)


# The first block that imports litellm or langchain pays for the import (tens of seconds on a
# loaded machine); the blocks themselves take well under a second each.
# Blocks are user code: a client made at module level (``client = AsyncOpenAI()``) is never
# closed, as in a real script. Its sockets are collected here, inside the block's own test,
# so the ResourceWarning neither fails the block nor surfaces in a later, unrelated test.
@pytest.mark.timeout(180)
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("block", BLOCKS, ids=[b.where for b in BLOCKS])
def test_block_runs_as_written(block: Block, documents: dict[Path, _Document]) -> None:
    documents[block.path].run_until(block)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def test_every_document_with_python_is_collected() -> None:
    """A Python block the collector misses (say, an indented fence) is not tested: none is."""
    for path in DOC_FILES:
        lines = path.read_text(encoding="utf-8").splitlines()
        fences = [n for n, line in enumerate(lines, 1) if line.strip() == "```python"]
        assert [b.line - 1 for b in blocks(path)] == fences, path
    assert len(BLOCKS) >= 50
