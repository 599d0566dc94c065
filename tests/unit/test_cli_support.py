"""The options and error funnel every console script shares."""

from __future__ import annotations

import argparse

import pytest

from statemachine_engine._cli_support import EXIT_USAGE, add_format_option, run_command
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
