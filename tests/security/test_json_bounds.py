"""The one decoder's bounds, over generated JSON: what it accepts round-trips exactly,
its depth scan agrees with the parsed value, and nothing it is given raises anything but
its own one-line error (never ``RecursionError``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statemachine_engine._jsondata import (
    MAX_BYTES,
    MAX_DEPTH,
    JSONDataError,
    check,
    decode,
    encode,
    text_depth,
    value_depth,
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=40,
)


def nest(depth: int, inner: Any = 1) -> Any:
    value = inner
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@given(values)
@settings(max_examples=300, deadline=None)
def test_what_is_accepted_round_trips_and_its_depth_is_exact(value: Any) -> None:
    text = encode(value)
    assert decode(text) == value
    assert text_depth(text, limit=0) == value_depth(value, limit=10**6)  # limit 0: exact


@given(st.text(alphabet='[]{}",:\\ 1a', max_size=300))
@settings(max_examples=500, deadline=None)
def test_any_text_decodes_or_is_refused_in_one_line(text: str) -> None:
    refusal = ""
    try:
        decode(text)
    except JSONDataError as exc:
        refusal = str(exc)
    assert "\n" not in refusal


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 975, 5_000, 200_000])
def test_deeper_than_the_bound_is_refused_never_a_recursion_error(depth: int) -> None:
    for text in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        with pytest.raises(JSONDataError, match=f"nested {depth} levels deep"):
            decode(text, what="payload")
    with pytest.raises(JSONDataError):  # never closed: not JSON (and no RecursionError)
        decode("[" * depth, what="payload")
    with pytest.raises(JSONDataError, match="nested more than"):
        check(nest(depth))


def test_the_bound_itself_is_accepted() -> None:
    value = nest(MAX_DEPTH)
    assert decode(encode(value)) == value


def test_long_integers_in_range_and_long_digit_strings_are_accepted() -> None:
    text = json.dumps({"n": 10**300, "s": "7" * 5000})
    assert decode(text) == {"n": 10**300, "s": "7" * 5000}


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"s": "[" * 10_000 + '\\"{' * 1000})
    assert decode(text) == json.loads(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NaN", "NaN is not allowed"),
        ('{"v": [Infinity]}', "Infinity is not allowed"),
        ("-Infinity", "-Infinity is not allowed"),
        ("1e400", "number 1e400 is out of range"),
        ("-1e999", "out of range"),
        ('{"n": ' + "9" * 309 + "}", "integer of 309 digits is out of range"),
    ],
)
def test_only_strict_json_is_accepted(text: str, message: str) -> None:
    with pytest.raises(JSONDataError, match=message):
        decode(text)


@pytest.mark.parametrize(
    "value", [float("nan"), [float("inf")], {"v": -float("inf")}, {"n": -(10**400)}]
)
def test_values_json_cannot_hold_are_refused_before_they_are_sent(value: Any) -> None:
    with pytest.raises(JSONDataError):
        encode(value)


def test_large_payloads_stay_supported_and_larger_ones_are_refused() -> None:
    big = {"blob": "x" * (16 * 1024 * 1024), "items": list(range(100_000))}
    assert decode(encode(big)) == big
    with pytest.raises(JSONDataError, match="too large"):
        decode(" " * (MAX_BYTES + 1))


def test_bytes_that_are_not_utf8_are_refused_in_one_line() -> None:
    with pytest.raises(JSONDataError, match="not UTF-8"):
        decode(b'{"a": "\xff"}', what="message")
