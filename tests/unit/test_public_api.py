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
        assert "rich" not in sys.modules  # (a core dependency, for `l0 replay` only)
        try:
            import l0.fastlane
        except ImportError as exc:
            assert "pip install 'l0[openai]'" in str(exc), exc
        else:
            raise AssertionError("l0.fastlane imported without the SDKs' HTTP client")
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


def test_public_submodules_are_reachable_after_a_bare_import() -> None:
    # The docs write l0.fastlane.openai_chat(...), l0.format..., l0.testing...: a bare
    # ``import l0`` reaches them, and imports the heavier ones only when used.
    code = textwrap.dedent(
        """
        import sys
        import l0
        subs = ("fastlane", "format", "recordings", "testing")
        lazy = ("fastlane", "recordings", "testing")  # (l0.format is part of import l0)
        assert not [s for s in lazy if f"l0.{s}" in sys.modules]
        assert l0.fastlane.openai_chat and l0.format.format_tools and l0.testing.FakeClock
        assert l0.recordings.Recording is l0.Recording
        assert set(subs) <= set(dir(l0))
        try:
            l0.fastlan
        except AttributeError as exc:
            assert "no attribute 'fastlan'" in str(exc)
        else:
            raise AssertionError("a misspelt submodule must not resolve")
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr
