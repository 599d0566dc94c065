"""What the console scripts print: tables, JSON, times and durations."""

from __future__ import annotations

import json
import time

import pytest

from statemachine_engine import _cli_output as cli_output
from statemachine_engine._cli_output import (
    MAX_CELL_WIDTH,
    compact_json,
    count,
    cut,
    duration,
    one_of,
    plural,
    print_json,
    print_json_line,
    print_listing,
    table,
    when,
)


def test_a_table_aligns_columns_under_a_rule() -> None:
    text = table(["NAME", "JOBS"], [["alpha", "3"], ["b", "12"]], right={1})
    assert text.splitlines() == [
        "NAME   JOBS",
        "-----  ----",
        "alpha     3",
        "b        12",
    ]


def test_a_table_cell_is_one_line_and_cut_to_the_width() -> None:
    long = "x" * (MAX_CELL_WIDTH + 10)
    lines = table(["A", "B"], [["two\nlines\tand a tab", long]]).splitlines()
    assert lines[2].startswith("two lines and a tab  ")
    assert lines[2].endswith("x" * (MAX_CELL_WIDTH - 3) + "...")
    assert len(lines[2].split("  ")[-1]) == MAX_CELL_WIDTH


def test_a_table_without_rows_is_its_headers() -> None:
    assert table(["ID", "TYPE"], []) == "ID  TYPE\n--  ----"


def test_json_documents_keep_unicode_and_write_what_json_cannot_hold_as_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_json({"name": "café", "path": cli_output})
    out = capsys.readouterr().out
    assert '"name": "café"' in out
    assert out.startswith("{\n  ")
    assert json.loads(out)["path"].startswith("<module 'statemachine_engine._cli_output'")


def test_a_json_line_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    print_json_line({"machine_name": "wörker", "payload": {"a": [1, 2]}})
    out = capsys.readouterr().out
    assert out == '{"machine_name": "wörker", "payload": {"a": [1, 2]}}\n'


@pytest.mark.parametrize(("value", "text"), [(None, ""), ({}, ""), ([], ""), ({"a": 1}, '{"a":1}')])
def test_compact_json(value: object, text: str) -> None:
    assert compact_json(value) == text


def test_cut_says_how_long_the_text_was() -> None:
    assert cut("short") == "short"
    assert cut("y" * 100) == "y" * 80 + "... (100 characters)"


def test_when_is_local_time_or_a_dash() -> None:
    stamp = 1_700_000_000.5
    assert when(stamp) == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))
    assert when(None) == "-"


@pytest.mark.parametrize(
    ("stamp", "shown"),
    [(1e300, "1e+300"), (3.6e17, "3.6e+17"), (-1e300, "-1e+300"), (float("nan"), "nan")],
)
def test_a_time_the_clock_cannot_show_is_out_of_range(stamp: float, shown: str) -> None:
    """Rows older versions let in are listed, not crashed on."""
    assert when(stamp) == f"out of range ({shown})"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0, "0s"), (59.9, "59s"), (61, "1m 1s"), (3600, "1h 0m"), (90061, "1d 1h")],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_words() -> None:
    assert (plural(1, "job"), plural(0, "job"), plural(2, "job")) == ("job", "jobs", "jobs")
    assert (count(1, "error"), count(3, "error")) == ("1 error", "3 errors")
    assert one_of(["a"]) == "a"
    assert one_of(["a", "b"]) == "a or b"
    assert one_of(["a", "b", "c"]) == "a, b or c"


def test_a_listing_is_a_json_array_a_table_or_its_empty_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    items = [("a", 1), ("b", 22)]

    def show(output_format: str, shown: list[tuple[str, int]]) -> str:
        print_listing(
            output_format,
            shown,
            document=lambda item: {"name": item[0], "n": item[1]},
            headers=["NAME", "N"],
            row=lambda item: [item[0], str(item[1])],
            empty="nothing here",
            right={1},
        )
        return capsys.readouterr().out

    assert json.loads(show("json", items)) == [{"name": "a", "n": 1}, {"name": "b", "n": 22}]
    assert show("json", []) == "[]\n"
    assert show("text", items) == "NAME   N\n----  --\na      1\nb     22\n"
    assert show("text", []) == "nothing here\n"
