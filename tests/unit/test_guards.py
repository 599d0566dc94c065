"""Guards: compiling, evaluating, and choosing among guarded transitions."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statemachine_engine.config._guards import MAX_GUARD_LENGTH, compile_guard
from statemachine_engine.config._transitions import GuardScope, TransitionTable
from statemachine_engine.config.model import Transition
from statemachine_engine.errors import GuardError


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("n > 3", {"n": 5}, True),
        ("n > 3", {"n": 2}, False),
        ("n > 3.5", {"n": 4.0}, True),
        ('kind == "image" && size < 10000', {"kind": "image", "size": 99}, True),
        ('kind == "image" && size < 10000', {"kind": "text", "size": 99}, False),
        ("items.size() == 0", {"items": []}, True),
        ("items.exists(i, i.done)", {"items": [{"done": False}, {"done": True}]}, True),
        ("has(job.data) && job.data.n == 1", {"job": {"id": 1}}, False),
        ('event_data.payload.kind in ["a", "b"]', {"event_data": {"payload": {"kind": "b"}}}, True),
        ('name.startsWith("img_")', {"name": "img_1"}, True),
        ("x == null", {"x": None}, True),
    ],
)
def test_a_guard_reads_the_context(text: str, values: dict[str, object], expected: bool) -> None:
    assert compile_guard(text).holds(values) is expected


def test_a_guard_knows_the_names_it_reads() -> None:
    assert compile_guard("items.exists(i, i > n) && has(a.b)").names == {"items", "n", "a"}


@pytest.mark.parametrize(
    ("text", "values", "message"),
    [
        ("n > 3", {}, "n is not set"),
        ("n > 3", {"n": "many"}, "types do not fit"),
        ("n + 1", {"n": 1}, "it gave 2, not true or false"),
        ("n / 0 == 1", {"n": 1}, "divide by zero"),
        ("a.b == 1", {"a": {}}, "no such member"),
    ],
)
def test_a_guard_that_cannot_be_evaluated_says_why(
    text: str, values: dict[str, object], message: str
) -> None:
    with pytest.raises(GuardError, match=message):
        compile_guard(text).holds(values)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("n >", "syntax error at character 3"),
        ("", "empty"),
        ("__import__('os')", "not allowed"),
        ("x.__class__.__bases__ == 1", "not allowed"),
        ("eval('1')", "unknown function eval()"),
        ("x.system('ls')", "unknown function system()"),
        ("1 == " * 300 + "1", f"longer than {MAX_GUARD_LENGTH}"),
    ],
)
def test_a_guard_that_does_not_compile_is_refused(text: str, message: str) -> None:
    with pytest.raises(GuardError, match=message):
        compile_guard(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_no_string_runs_code_or_escapes_the_errors(text: str) -> None:
    """Whatever is written, compiling and evaluating gives a boolean or a GuardError:
    nothing else is raised, nothing hangs, nothing outside the values is reached."""
    try:
        guard = compile_guard(text)
    except GuardError:
        return
    values = {name: {"a": [1, "x", None]} for name in guard.names}
    with contextlib.suppress(GuardError):
        assert guard.holds(values) in (True, False)


# Compiled before hypothesis runs: the first compile imports cel-python, which raises the
# recursion limit, and hypothesis warns of a limit changed under a test.
_ANY_VALUE_GUARD = compile_guard('v == 1 || v == "x" || size(string(v)) > 0')


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
def test_any_json_value_is_evaluated_or_refused_cleanly(value: object) -> None:
    with contextlib.suppress(GuardError):
        _ANY_VALUE_GUARD.holds({"v": value})


def _table(*transitions: Transition) -> TransitionTable:
    return TransitionTable.build(transitions)


def _scope(values: dict[str, object], failures: list[str] | None = None) -> GuardScope:
    heard = failures if failures is not None else []
    return GuardScope(lambda: values, lambda transition, error: heard.append(str(error)))


BIG = Transition("waiting", "big", "file", guard="size > 100")
SMALL = Transition("waiting", "small", "file", guard="size > 0")
OTHER = Transition("waiting", "other", "file")
STOP = Transition("*", "stopped", "file", guard="size < 0")
ANY = Transition("*", "anywhere", "file")


def test_the_first_guard_that_holds_is_taken_in_file_order() -> None:
    table = _table(OTHER, BIG, SMALL)
    assert table.lookup("waiting", "file", _scope({"size": 500})) == BIG
    assert table.lookup("waiting", "file", _scope({"size": 5})) == SMALL


def test_the_transition_without_a_guard_is_the_fallback_wherever_it_is_written() -> None:
    table = _table(OTHER, BIG, SMALL)
    assert table.lookup("waiting", "file", _scope({"size": 0})) == OTHER


def test_a_guard_that_fails_counts_as_false_and_is_reported() -> None:
    failures: list[str] = []
    table = _table(BIG, OTHER)
    assert table.lookup("waiting", "file", _scope({}, failures)) == OTHER
    assert failures == ["size is not set"]


def test_wildcards_are_tried_when_no_own_transition_applies() -> None:
    table = _table(BIG, STOP, ANY)
    assert table.lookup("waiting", "file", _scope({"size": 500})) == BIG
    assert table.lookup("waiting", "file", _scope({"size": -1})) == STOP
    assert table.lookup("waiting", "file", _scope({"size": 5})) == ANY
    assert _table(BIG).lookup("waiting", "file", _scope({"size": 5})) is None


def test_without_a_scope_only_unguarded_transitions_are_taken() -> None:
    table = _table(BIG, OTHER)
    assert table.lookup("waiting", "file") == OTHER
    assert _table(BIG).lookup("waiting", "file") is None
    assert _table(BIG).leads("waiting", "file")
    assert _table(BIG).first("waiting", "file") == BIG


def test_a_table_without_guards_says_so() -> None:
    assert not _table(OTHER).guarded
    assert _table(OTHER, BIG).guarded
