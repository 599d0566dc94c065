"""The ends of a failed command's output, as a job's failure keeps them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from statemachine_engine.actions._failure_output import TAIL_CHARS, failure_output, tail


def test_short_output_is_kept_whole() -> None:
    assert failure_output("out", "err\nmore", 2) == {
        "stdout": "out",
        "stderr": "err\nmore",
        "exit_code": 2,
    }


def test_long_output_keeps_its_last_whole_lines_and_says_how_much_was_left_out() -> None:
    text = "".join(f"line {n}\n" for n in range(1000))
    kept = tail(text, limit=100)
    note, _, rest = kept.partition("\n")
    assert rest.endswith("line 999\n")
    assert rest.startswith("line ")  # a whole line, not the end of one
    assert note == f"[{len(text) - len(rest)} characters before]"
    assert text.endswith(rest)


@given(st.text(max_size=5 * TAIL_CHARS))
def test_a_tail_is_bounded_and_ends_the_text(text: str) -> None:
    kept = tail(text)
    if len(text) <= TAIL_CHARS:
        assert kept == text
    else:
        rest = kept.partition("\n")[2]
        assert text.endswith(rest)
        assert len(rest) <= TAIL_CHARS
