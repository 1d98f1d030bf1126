"""markdown_rule and latex_rule: positive and negative examples, chunking independence."""

from __future__ import annotations

import pytest

from l0.guardrails import Severity, latex_rule, markdown_rule
from tests.unit.guardrails.helpers import feed, rules_of, split

GOOD_MARKDOWN = """# Title

Some text with **bold** and a [link](https://example.com).

```python
def f():
    return "```not a fence```"
```

| a | b |
|---|:-:|
| 1 | 2 |
| `x \\| y` | 3 |

- one
- two
  1. nested ordered
  2. fine

1. first
2. second

Done.
"""


@pytest.mark.parametrize("size", [1, 3, 17, 10_000])
def test_good_markdown_passes(size: int) -> None:
    assert feed(markdown_rule(), split(GOOD_MARKDOWN, size)) == []


@pytest.mark.parametrize(
    ("text", "rule", "severity"),
    [
        ("Intro\n```js\nconst a = 1;\n", "markdown.fences", Severity.ERROR),
        ("| a | b |\n|---|---|\n| 1 | 2 | 3 |\n", "markdown.tables", Severity.WARNING),
        ("- a\n- b\n1. c\n", "markdown.lists", Severity.WARNING),
        (
            "This is a long answer. " * 10 + "\nAnd then it stops in the middle of a",
            "markdown.abrupt_end",
            Severity.WARNING,
        ),
    ],
)
@pytest.mark.parametrize("size", [1, 5, 10_000])
def test_markdown_problems(text: str, rule: str, severity: Severity, size: int) -> None:
    found = feed(markdown_rule(), split(text, size))
    assert [(v.rule, v.severity) for v in found] == [(rule, severity)]


@pytest.mark.parametrize("answer", ["The answer is 42", "11", "Paris", "Yes, it works"])
def test_short_plain_answers_never_end_abruptly(answer: str) -> None:
    assert feed(markdown_rule(), [answer]) == []


def test_markdown_sub_checks_configurable() -> None:
    text = "```\ncode\n"
    assert feed(markdown_rule(fences=None), [text]) == []
    assert feed(markdown_rule(fences="fatal"), [text])[0].severity is Severity.FATAL


def test_fence_position_is_reported() -> None:
    found = feed(markdown_rule(), ["ab\ncd\n```\nx\n"])
    assert found[0].position == 6


GOOD_LATEX = r"""
\begin{align}
  a &= b \\
  \frac{1}{2} &= c
\end{align}
Inline $x^2$ and display $$y$$ and \[ z \] and a price of \$5.
\begin{itemize}\item one\end{itemize}
"""


@pytest.mark.parametrize("size", [1, 2, 7, 10_000])
def test_good_latex_passes(size: int) -> None:
    assert feed(latex_rule(), split(GOOD_LATEX, size)) == []


@pytest.mark.parametrize(
    ("text", "rule", "severity"),
    [
        (r"\begin{align} x \end{equation}", "latex.environments", Severity.ERROR),
        (r"\begin{align} x", "latex.environments", Severity.ERROR),
        (r"x \] y", "latex.display_math", Severity.ERROR),
        (r"\[ x", "latex.display_math", Severity.ERROR),
        (r"$$ x", "latex.display_math", Severity.ERROR),
        (r"costs $5 today", "latex.inline_math", Severity.WARNING),
    ],
)
@pytest.mark.parametrize("size", [1, 3, 10_000])
def test_latex_problems(text: str, rule: str, severity: Severity, size: int) -> None:
    found = feed(latex_rule(), split(text, size))
    assert [(v.rule, v.severity) for v in found] == [(rule, severity)]


def test_latex_mismatch_is_reported_while_streaming() -> None:
    found = feed(latex_rule(), [r"\begin{a}", r" \end{b} ", "more"], final=False)
    assert rules_of(found) == ["latex.environments"]


def test_rules_are_fresh_instances_and_reset() -> None:
    a, b = markdown_rule(), markdown_rule()
    assert a is not b
    feed(a, ["```\n"], final=False)
    a.reset()
    assert feed(a, ["fine"]) == []
