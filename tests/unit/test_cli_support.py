"""The options and error funnel every console script shares."""

from __future__ import annotations

import argparse

import pytest

from statemachine_engine._cli_support import EXIT_USAGE, add_format_option, duration, run_command
from statemachine_engine.errors import UsageError


@pytest.mark.parametrize(
    ("given", "meant"),
    [("text", "text"), ("json", "json"), ("table", "text"), ("human", "text")],
)
def test_format_takes_text_or_json_and_the_old_spellings(given: str, meant: str) -> None:
    parser = argparse.ArgumentParser()
    add_format_option(parser)
    assert parser.parse_args(["--format", given]).format == meant
    assert parser.parse_args([]).format == "text"


def test_format_refuses_anything_else(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="tool")
    add_format_option(parser)
    with pytest.raises(SystemExit) as caught:
        parser.parse_args(["--format", "yaml"])
    assert caught.value.code == EXIT_USAGE
    assert "invalid choice: 'yaml' (choose from 'text', 'json')" in capsys.readouterr().err


def test_the_funnel_prints_one_line_for_our_errors(capsys: pytest.CaptureFixture[str]) -> None:
    def body() -> int:
        raise UsageError("--x must be positive")

    assert run_command(body, prog="tool") == EXIT_USAGE
    assert capsys.readouterr().err == "tool: error: --x must be positive\n"


@pytest.mark.parametrize(
    ("maximum", "says"),
    [
        (2.5, "must be 0 to 2.5 seconds: 1e300"),
        (600, "must be 0 to 600 seconds: 1e300"),
        (3_155_760_000.0, "must be 0 to 3155760000 seconds: 1e300"),  # not 3.15576e+09
        (float("inf"), "must be 0 or more seconds: 1e300"),
    ],
)
def test_a_duration_beyond_its_bound_names_the_bound_as_written(maximum: float, says: str) -> None:
    parse = duration(maximum)
    assert parse("1.5") == 1.5
    too_far = "-1e300" if maximum == float("inf") else "1e300"
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        parse(too_far)
    assert str(caught.value) == says.replace(": 1e300", f": {too_far}")
