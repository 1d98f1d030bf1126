"""The layer rules of ``l0``, checked on the import graph read from the source (AST).

Layers, bottom to top (a module may import its own layer and the layers below it)::

    0 vocabulary     l0.types, l0.policy, l0.events, l0.errors.*, l0.guardrails.hooks, l0.redaction
    1 components     l0.adapters.*, l0.guardrails.*, l0.drift, l0.utils.*
    2 runtime        l0.runtime.*, l0.breaker, l0.budget, l0.hedging, l0.redis_stores
    3 facade         l0.core
    4 orchestration  l0.output.* (structured output), l0.orchestration.*
    5 surface        l0 (the package), l0.observability.*, l0.integrations.*, l0.testing.*,
                     l0.chaos.*, l0.cli, l0.demo, l0.__main__, and any module not listed

Every import counts, including one inside a function (a lazy import is still an import);
an import under ``if TYPE_CHECKING:`` is *type-only*. Rules: no import cycle except through a
type-only import; no import points upward except at most one type-only one; the core (layers
0-4) never imports observability, integrations, testing or chaos; guardrails, adapters and
drift never import the runtime or the core; the vocabulary imports only the vocabulary.

``python tests/unit/test_layers.py [ROOT]`` prints the figures for a source tree.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

VOCABULARY = (
    "l0.types",
    "l0.policy",
    "l0.events",
    "l0.errors",
    "l0.guardrails.hooks",
    "l0.redaction",
)
COMPONENTS = ("l0.adapters", "l0.guardrails", "l0.drift", "l0.utils")
RUNTIME = ("l0.runtime", "l0.breaker", "l0.budget", "l0.hedging", "l0.redis_stores")
FACADE = ("l0.core",)
ORCHESTRATION = ("l0.output", "l0.orchestration")
EDGE = ("l0.observability", "l0.integrations", "l0.testing", "l0.chaos")
LAYERS = (VOCABULARY, COMPONENTS, RUNTIME, FACADE, ORCHESTRATION)


@dataclass(frozen=True)
class Edge:
    """One import: ``source`` imports ``target`` (both module names)."""

    source: str
    target: str
    type_only: bool
    line: int


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def layer(module: str) -> int:
    """The layer of ``module`` (the most specific prefix wins: ``l0.guardrails.hooks``)."""
    best, best_len = len(LAYERS), -1
    for rank, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = rank, len(p)
    return best


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id in {"TYPE_CHECKING", "_TYPE_CHECKING"}) or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import node with whether it sits under ``if TYPE_CHECKING:``."""
    found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []

    def visit(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append((node, type_only))
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_only)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, type_only)

    visit(tree, False)
    return found


def import_graph(root: Path = ROOT) -> list[Edge]:
    """Every import between ``l0`` modules in the tree under ``root``."""
    files = sorted((root / "l0").rglob("*.py"))
    modules = {_module_name(f, root) for f in files}
    edges: list[Edge] = []
    for path in files:
        name = _module_name(path, root)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node, type_only in _imports(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in modules else base)
            for target in targets:
                if target in modules and target != name:
                    edges.append(Edge(name, target, type_only, node.lineno))
    # One edge per pair of modules: type-only when every import between them is.
    pairs: dict[tuple[str, str], Edge] = {}
    for e in edges:
        seen = pairs.get((e.source, e.target))
        if seen is None or (seen.type_only and not e.type_only):
            pairs[(e.source, e.target)] = e
    return list(pairs.values())


def cycles(edges: list[Edge], *, include_type_only: bool) -> list[list[str]]:
    """The import cycles: strongly connected components of more than one module."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        if include_type_only or not e.type_only:
            graph.setdefault(e.source, set()).add(e.target)
            graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def connect(v: str) -> None:  # Tarjan
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def upward(edges: list[Edge]) -> list[Edge]:
    """Imports from a lower layer into a higher one."""
    return [e for e in edges if layer(e.target) > layer(e.source)]


def _show(edges: list[Edge]) -> list[str]:
    return [
        f"{e.source}:{e.line} -> {e.target}{' (type-only)' if e.type_only else ''}" for e in edges
    ]


# -- the rules ---------------------------------------------------------------------------------


def test_the_graph_is_read() -> None:
    edges = import_graph()
    assert any(e.source == "l0.core" for e in edges)
    assert any(e.type_only for e in edges)


def test_no_import_cycles_except_type_only() -> None:
    assert cycles(import_graph(), include_type_only=False) == []


def test_nothing_imports_upward_except_one_type_only_import() -> None:
    up = upward(import_graph())
    assert [e for e in up if not e.type_only] == [], _show(up)
    assert len(up) <= 1, _show(up)


def test_core_never_imports_observability_integrations_testing_or_chaos() -> None:
    bad = [
        e
        for e in import_graph()
        if layer(e.source) < len(LAYERS) and _within(e.target, EDGE) and not e.type_only
    ]
    assert bad == [], _show(bad)


def test_guardrails_and_adapters_never_import_the_runtime() -> None:
    bad = [
        e for e in import_graph() if layer(e.source) <= 1 and _within(e.target, (*RUNTIME, *FACADE))
    ]
    assert bad == [], _show(bad)


def test_the_vocabulary_imports_only_the_vocabulary() -> None:
    bad = [e for e in import_graph() if layer(e.source) == 0 and layer(e.target) > 0]
    assert bad == [], _show(bad)


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    graph = import_graph(root)
    runtime_cycles = cycles(graph, include_type_only=False)
    all_cycles = cycles(graph, include_type_only=True)
    up = upward(graph)
    print(f"imports between l0 modules: {len(graph)}")
    print(f"import cycles (runtime imports): {len(runtime_cycles)}")
    for c in runtime_cycles:
        print("   ", " <-> ".join(c))
    print(f"import cycles (counting type-only imports too): {len(all_cycles)}")
    for c in all_cycles:
        print("   ", " <-> ".join(c))
    print(f"upward imports: {len(up)} ({sum(e.type_only for e in up)} type-only)")
    for line in _show(up):
        print("   ", line)
