"""Tracing's switch and its untrusted input: which exporters the OTEL_* variables name,
which traceparent texts are well formed, and what happens with tracing off."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from statemachine_engine import _tracing
from statemachine_engine.errors import StateMachineError
from statemachine_engine.settings import Settings

GOOD = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize(
    ("environ", "exporters"),
    [
        ({}, ()),
        ({"OTEL_TRACES_EXPORTER": ""}, ()),
        ({"OTEL_TRACES_EXPORTER": "console"}, ("console",)),
        ({"OTEL_TRACES_EXPORTER": " Console , otlp,console"}, ("console", "otlp")),
        ({"OTEL_TRACES_EXPORTER": "none"}, ()),
        ({"OTEL_TRACES_EXPORTER": "console,none"}, ()),
        ({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}, ()),
        ({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "false"}, ("console",)),
    ],
)
def test_the_exporters_come_from_otel_traces_exporter(
    environ: dict[str, str], exporters: tuple[str, ...]
) -> None:
    assert Settings.load(environ=environ).traces_exporters == exporters


@pytest.mark.parametrize("value", ["console;rm -rf", "a b", "x" * 65])
def test_a_malformed_exporter_list_names_the_variable(value: str) -> None:
    with pytest.raises(StateMachineError, match="OTEL_TRACES_EXPORTER names exporters"):
        Settings.load(environ={"OTEL_TRACES_EXPORTER": value})


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (GOOD, True),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", True),
        (GOOD.upper(), False),
        (GOOD[:-1], False),
        (GOOD + "0", False),
        ("01" + GOOD[2:], False),  # only version 00 is read
        ("00-" + "0" * 32 + GOOD[35:], False),
        (GOOD[:36] + "0" * 16 + "-01", False),
        (GOOD.replace("-", "_"), False),
        (None, False),
        (42, False),
        ("", False),
    ],
)
def test_only_a_well_formed_traceparent_is_valid(value: object, valid: bool) -> None:
    assert _tracing.valid_traceparent(value) == (value if valid else None)


def test_tracing_off_does_nothing() -> None:
    assert not _tracing.configure(())
    token = _tracing.bind("m")
    try:
        trace = _tracing.current()
        assert trace is _tracing.NO_TRACE
        assert trace.action_started("s", "log") is None
        assert _tracing.current_traceparent() is None

        def notice() -> None: ...

        assert _tracing.deferred(notice) is notice
    finally:
        _tracing.unbind(token)


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_the_extra_tracing_stays_off_and_says_so() -> None:
    result = run_python(
        """
        import logging, sys
        sys.modules["opentelemetry"] = None  # as if the extra were not installed
        logging.basicConfig()
        from statemachine_engine import _tracing
        print(_tracing.configure(["console"]))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    assert "install statemachine-engine[otel]" in result.stderr


def test_an_exporter_that_is_not_installed_is_refused_by_name() -> None:
    pytest.importorskip("opentelemetry.sdk")
    result = run_python(
        """
        from statemachine_engine import _tracing
        from statemachine_engine.errors import StateMachineError
        try:
            _tracing.configure(["zipkin_nowhere"])
        except StateMachineError as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "names 'zipkin_nowhere', which is not installed; installed: " in result.stdout
    assert "console" in result.stdout
