"""Encoders made once (their C encoder not made again at every call) write what the
JSONEncoder they stand for writes, and fail the ways their callers take."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from statemachine_engine._jsondata import (
    COMPACT_REPR,
    COMPACT_STR,
    encode_compact_repr,
    encode_compact_str,
    encoder_made_once,
)

VALUES: list[Any] = [
    {"from_state": None, "to_state": "waiting", "event_trigger": "go", "timestamp": 1.5},
    {"message": 'héllo "quoted" \n', "level": "info", "nested": [1, [2, {"x": True}]]},
    [],
    {},
    "plain text",
    12,
    0.1,
    {"odd": object, "set": {1}},
]


@pytest.mark.parametrize("value", VALUES)
def test_made_once_writes_what_the_encoder_writes(value: Any) -> None:
    assert encode_compact_str(value) == COMPACT_STR.encode(value)
    assert encode_compact_repr(value) == COMPACT_REPR.encode(value)


def test_each_call_starts_afresh_after_a_failure() -> None:
    with pytest.raises(ValueError, match="Out of range"):
        encode_compact_repr({"n": math.nan})
    shared = [1]
    assert encode_compact_repr({"a": shared, "b": shared}) == '{"a":[1],"b":[1]}'


def test_a_circular_value_ends_in_recursion_error() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(RecursionError):
        encode_compact_str(loop)
    assert encode_compact_str([1]) == "[1]"


def test_an_indenting_encoder_is_used_as_it_is() -> None:
    pretty = json.JSONEncoder(indent=2)
    assert encoder_made_once(pretty) == pretty.encode
