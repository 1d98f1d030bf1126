"""One public door: `l0.__all__` is sorted, complete and importable with core deps only."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import l0


def test_all_is_sorted_and_every_name_exists() -> None:
    assert list(l0.__all__) == sorted(l0.__all__)
    for name in l0.__all__:
        assert hasattr(l0, name), name


def test_public_names_are_exported() -> None:
    public = {n for n in vars(l0) if not n.startswith("_")} - {
        "adapters", "core", "errors", "guardrails", "observability", "runtime", "testing", "types",
        "drift", "integrations", "output", "orchestration", "utils", "cli", "demo", "chaos",
        "breaker", "budget", "redis_stores", "hedging", "events", "redaction", "recordings",
        "fastlane", "format", "compare", "policy",
    }  # fmt: skip
    assert public <= set(l0.__all__), public - set(l0.__all__)


def test_import_l0_needs_only_the_core_dependencies() -> None:
    code = textwrap.dedent(
        """
        import sys, importlib.abc
        BLOCKED = {"openai", "anthropic", "litellm", "langchain_core", "fastapi", "starlette",
                   "httpx", "httpx2", "opentelemetry", "sentry_sdk", "redis", "uvicorn", "sniffio",
                   "json_repair", "trio"}
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None
        sys.meta_path.insert(0, Block())
        import l0, anyio
        from l0.testing import ScriptedSource, drop
        result = anyio.run(lambda: l0.run(ScriptedSource(["a", drop()], ["ab"]),
                                          retry=l0.Retry(base_delay=0)))
        assert result.text == "ab", result.text
        print("ok")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_structured_output_loads_lazily() -> None:
    code = (
        "import sys, l0; assert 'l0.output.structured' not in sys.modules; "
        "assert callable(l0.structured) and callable(l0.auto_correct_json); "
        "assert 'l0.output.structured' in sys.modules; print('ok')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "structured" in dir(l0)
