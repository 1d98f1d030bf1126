"""No import order can shadow a public function of l0 (issue 12, item 1).

A submodule imported into a package is bound as an attribute of that package; a public function
of the same name is then replaced by the module (``l0.structured`` became uncallable after
``l0.StructuredAttempt`` or ``l0.consensus(..., model=...)``). The kind is prevented by
structure: no public name of a package is also the name of one of its submodules. The order
test imports every public name and every submodule in many orders, each in a fresh ``l0``, and
then calls the main entry points.
"""

from __future__ import annotations

import ast
import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import l0

# LiteLLM fetches its model price map over the network at import unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# Not imported by the order test: running l0.__main__ starts the CLI; the others are
# applications or integrations with heavy imports, which bind names only in their own package.
_SKIP = {"l0.__main__", "l0.cli", "l0.demo", "l0.chaos", "l0.integrations"}
_DEEP = {"l0.orchestration", "l0.output", "l0.utils", "l0.runtime", "l0.guardrails", "l0.adapters"}


def _submodules() -> list[str]:
    """The modules whose import binds a name in ``l0`` or in a package ``l0`` re-exports
    from (the integrations bind only inside their own packages; the AST test covers them)."""
    root = Path(l0.__file__).parent
    out = []
    for m in pkgutil.iter_modules([str(root)], "l0."):
        if m.name in _SKIP:
            continue
        out.append(m.name)
        if m.name in _DEEP:
            out += [s.name for s in pkgutil.iter_modules([str(root / m.name[3:])], m.name + ".")]
    return sorted(out)


def _public_names(init: Path) -> set[str]:
    """``__all__`` and the lazily exported names (``_LAZY``) of a package, read from its AST."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(init.read_text())):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id in ("__all__", "_LAZY") for t in targets):
                value = node.value
                if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
                    names |= {e.value for e in value.elts if isinstance(e, ast.Constant)}
                elif isinstance(value, ast.Dict):
                    names |= {k.value for k in value.keys if isinstance(k, ast.Constant)}
    return {n for n in names if isinstance(n, str)}


def test_no_public_name_is_also_a_submodule_name() -> None:
    clashes = []
    for init in Path(l0.__file__).parent.rglob("__init__.py"):
        subs = {m.name for m in pkgutil.iter_modules([str(init.parent)])}
        clashes += [f"{init.parent.name}.{n}" for n in sorted(_public_names(init) & subs)]
    assert not clashes, f"public names that a submodule import would shadow: {clashes}"


def test_the_issue_orders_keep_structured_callable() -> None:
    code = textwrap.dedent(
        """
        import anyio, l0
        from pydantic import BaseModel
        class City(BaseModel):
            name: str
        l0.StructuredAttempt
        answer = '{"name": "Oslo"}'
        async def main():
            out = await l0.consensus([[answer], [answer]], model=City)
            assert out.data == City(name="Oslo")
            res = await l0.structured(City, [answer])
            assert res.data == City(name="Oslo")
            res = await l0.structured(City, [answer])  # a second request works too
            assert res.data == City(name="Oslo")
        anyio.run(main)
        print("ok")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


_ORDERS = textwrap.dedent(
    """
    import importlib, random, sys, anyio
    from pydantic import BaseModel

    class City(BaseModel):
        name: str

    SUBMODULES = {submodules!r}
    ANSWER = '{{"name": "Oslo"}}'

    def fresh():
        for key in [k for k in sys.modules if k == "l0" or k.startswith("l0.")]:
            del sys.modules[key]
        return importlib.import_module("l0")

    l0 = fresh()
    names = sorted(l0.__all__)
    groups = {{}}
    for name in names:  # group the public names by the module defining them
        value = getattr(l0, name)
        groups.setdefault(getattr(value, "__module__", "l0"), []).append(name)
    steps = [("name", n) for n in names] + [("module", m) for m in SUBMODULES]
    orders = [steps, steps[::-1]]
    rng = random.Random(16)
    for _ in range({rounds}):
        order = list(groups.values())
        rng.shuffle(order)
        mods = [("module", m) for m in SUBMODULES]
        rng.shuffle(mods)
        mixed = [("name", n) for g in order for n in g]
        for m in mods:  # submodule imports spliced in at random points
            mixed.insert(rng.randrange(len(mixed) + 1), m)
        orders.append(mixed)

    async def entry_points(l0):
        assert (await l0.run(["a", "b"])).text == "ab"
        assert (await l0.structured(City, [ANSWER])).data == City(name="Oslo")
        assert (await l0.consensus([[ANSWER], [ANSWER]], model=City)).data.name == "Oslo"
        assert (await l0.consensus([["x"], ["x"]])).text == "x"
        assert [r.text for r in await l0.parallel([["a"], ["b"]])] == ["a", "b"]
        assert (await l0.race([["a"], ["a"]])).text == "a"
        async with l0.structured_stream(City, [ANSWER]) as s:
            assert [o async for o in s][-1] == City(name="Oslo")

    for order in orders:
        l0 = fresh()
        for kind, what in order:
            if kind == "name":
                getattr(l0, what)
            else:
                importlib.import_module(what)
        shadowed = [n for n in names if type(getattr(l0, n)).__name__ == "module"]
        assert not shadowed, (shadowed, order)
        anyio.run(entry_points, l0)
    print(len(orders))
    """
)


@pytest.mark.timeout(150)  # a fresh interpreter imports everything 8 times
def test_every_import_order_keeps_every_entry_point_working() -> None:
    rounds = 6
    code = _ORDERS.format(submodules=_submodules(), rounds=rounds)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == str(rounds + 2)
