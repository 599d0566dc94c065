"""Each example runs as its README says, as a real `statemachine` process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

STATEMACHINE = [sys.executable, "-m", "statemachine_engine"]


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STATEMACHINE, *map(str, args)],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def transitions(log: str) -> list[str]:
    """``a --e--> b`` steps in a machine's log, in order."""
    return re.findall(r"\] (\S+ --\S+--> \S+)$", log, flags=re.MULTILINE)


def test_custom_actions_example(tmp_path: Path) -> None:
    result = run(
        EXAMPLES / "custom_actions" / "custom_actions.yaml",
        "--actions-dir",
        EXAMPLES / "custom_actions" / "actions",
        "--initial-context",
        '{"who": "Ada", "operation": "add", "a": 3, "b": 4}',
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Hello, Ada! add(3, 4) = 7" in result.stderr
    assert transitions(result.stderr) == [
        "None --start--> greeting",
        "greeting --greeted--> calculating",
        "calculating --calculated--> completed",
    ]


def test_custom_actions_example_failure_path(tmp_path: Path) -> None:
    result = run(
        EXAMPLES / "custom_actions" / "custom_actions.yaml",
        "--actions-dir",
        EXAMPLES / "custom_actions" / "actions",
        "--initial-context",
        '{"operation": "divide", "b": 0}',
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert transitions(result.stderr)[-1] == "calculating --error--> failed"
    assert "Calculation failed: cannot divide by zero" in result.stderr
    assert "Traceback" not in result.stderr


def test_custom_actions_example_drives_the_compat_config(
    tmp_path: Path, compat_config: object
) -> None:
    """The example's actions implement what the earlier config expects of them."""
    import json
    import os
    import socket
    import time

    config = compat_config("custom_actions_worker.yaml")  # type: ignore[operator]
    process = subprocess.Popen(
        [
            *STATEMACHINE,
            str(config),
            "--actions-dir",
            str(EXAMPLES / "custom_actions" / "actions"),
        ],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        lines: list[str] = []

        def read_until(pattern: str) -> None:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                line = process.stderr.readline()  # type: ignore[union-attr]
                assert line, f"process ended before {pattern!r}: {''.join(lines)}"
                lines.append(line)
                if re.search(pattern, line):
                    return
            raise AssertionError(f"no {pattern!r} in {''.join(lines)}")

        read_until(r"None --start--> waiting")
        path = Path(os.environ["STATEMACHINE_SOCKET_DIR"]) / "control-custom_worker.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            for event in (
                {"type": "greet", "payload": {"name": "Grace"}},
                {"type": "calculate", "payload": {"a": 6, "b": 7, "operation": "multiply"}},
            ):
                sock.sendto(json.dumps(event).encode(), str(path))
                read_until(r"--(greeted|calculated)--> waiting")
        text = "".join(lines)
        assert "Processing greeting..." in text
        assert transitions(text)[-4:] == [
            "waiting --greet--> greeting",
            "greeting --greeted--> waiting",
            "waiting --calculate--> calculating",
            "calculating --calculated--> waiting",
        ]
    finally:
        process.terminate()
        status = process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
    assert status == 0


@pytest.mark.slow
def test_timeout_demo_example(tmp_path: Path) -> None:
    result = run(EXAMPLES / "timeout_demo" / "timeout_demo.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert transitions(result.stderr) == [
        "None --start--> waiting",
        "waiting --timeout(1)--> timed_out",
        "timed_out --retry--> waiting",
        "waiting --timeout(1)--> timed_out",
        "timed_out --retry--> waiting",
        "waiting --timeout(1)--> timed_out",
        "timed_out --give_up--> working",
        "working --work_done--> completed",
    ]
    assert "Done after 3 timeouts" in result.stderr
