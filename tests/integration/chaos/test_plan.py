"""Fault plan syntax, and the default answer's continuation property."""

from __future__ import annotations

import pytest

from l0.chaos import DEFAULT_ANSWER, Fault, parse_fault, parse_plan, split_tokens
from l0.chaos.answer import find_continuation
from l0.runtime.continuation import OverlapResolver, resume_prefix_length


def test_kinds_start_faults_and_modifiers_bind_to_the_current_one() -> None:
    assert parse_plan("drop_after_tokens=20,ok") == [Fault("drop", after_tokens=20), Fault()]
    assert parse_plan("status=429,retry_after=2") == [Fault("status", status=429, retry_after=2)]
    assert parse_plan("slow=0.05,drop_after_tokens=5; ok") == [
        Fault("drop", after_tokens=5, slow=0.05),
        Fault(),
    ]
    assert parse_plan("inband_error, inband_error=3,error_type=api_error") == [
        Fault("inband_error", after_tokens=0),
        Fault("inband_error", after_tokens=3, error_type="api_error"),
    ]
    assert parse_plan(["status=529", Fault("empty"), "ok;ok"]) == [
        Fault("status", status=529),
        Fault("empty"),
        Fault(),
        Fault(),
    ]
    assert parse_plan(None) == parse_plan("") == parse_plan(" , ;") == []


@pytest.mark.parametrize(
    "text",
    [
        "ok",
        "status=503",
        "drop_after_bytes=200,close=fin",
        "stall_after_tokens=3,keepalive=0.5,stall_for=2",
        "stall_after_bytes=0",
        "malformed_after_tokens=4,slow=0.01",
        "truncate_after_tokens=0",
        "inband_error=2,retry_after=1,error_type=overloaded_error",
        "empty,delay=0.2",
    ],
)
def test_str_is_plan_syntax(text: str) -> None:
    fault = parse_fault(text)
    assert str(fault) == text
    assert parse_fault(str(fault)) == fault


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("explode", "unknown key 'explode'"),
        ("status", "status needs a value"),
        ("status=abc", "status= needs an int"),
        ("status=200", "status=400..599"),
        ("drop_after_tokens=-1", "after_tokens must be an int >= 0"),
        ("slow=fast", "slow= needs a number"),
        ("ok,slow=-1", "finite number of seconds >= 0"),
        ("ok,slow=1,slow=2", "slow given twice"),
        ("ok,keepalive=0", "keepalive must be > 0"),
        ("drop_after_tokens=1,close=maybe", "close must be 'rst' or 'fin'"),
        ("inband_error,error_type=no way", "error_type must be an identifier"),
        ("retry_after", "retry_after needs a value"),
    ],
)
def test_bad_plans_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_plan(text)


def test_parse_fault_takes_exactly_one() -> None:
    assert parse_fault("") == Fault()
    with pytest.raises(ValueError, match="expected one chaos fault, got 2"):
        parse_fault("ok,ok")
    with pytest.raises(TypeError):
        parse_plan(42)
    with pytest.raises(ValueError, match="exactly one of after_tokens, after_bytes"):
        Fault("drop")


def test_tokens_join_back_exactly() -> None:
    for text in (DEFAULT_ANSWER, "  lead", "trail  ", "a\n\nb", ""):
        assert "".join(split_tokens(text)) == text


@pytest.mark.parametrize("restate", [0, 1, 6])
def test_default_answer_continuation_is_exact_at_every_token(restate: int) -> None:
    """At every token boundary, the server's resumed text aligns to exactly the answer."""
    tokens = split_tokens(DEFAULT_ANSWER)
    for i in range(1, len(tokens)):
        delivered = "".join(tokens[:i])
        prefix = delivered[: resume_prefix_length(delivered)]
        body = {
            "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": prefix}]
        }
        start = find_continuation(body, DEFAULT_ANSWER, restate=restate).start
        resolver = OverlapResolver(delivered, len(prefix))
        rest = (resolver.feed(DEFAULT_ANSWER[start:]) or "") + resolver.flush()
        assert delivered + rest == DEFAULT_ANSWER, delivered
        assert resolver.ambiguity is None


def test_continuation_forms() -> None:
    answer = "Alpha beta gamma."
    user = {"role": "user", "content": "q"}
    part = {"role": "assistant", "content": [{"type": "text", "text": "Alpha be"}]}
    assert find_continuation({"messages": [user, part]}, answer).start == 8
    prompt = {"role": "user", "content": "continue"}
    assert find_continuation({"messages": [user, part, prompt]}, answer).start == 8
    done = {"role": "assistant", "content": answer}
    assert find_continuation({"messages": [user, done, user]}, answer).prefix is None
    assert find_continuation({"input": [user, part]}, answer, restate=3).start == 5
    assert find_continuation({"input": "just a string"}, answer).start == 0
