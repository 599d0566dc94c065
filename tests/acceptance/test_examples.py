"""Each example runs as its README says, as a real `statemachine` process."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.support.processes import MachineProcess, run_cli, send


def transitions(log: str) -> list[str]:
    """``a --e--> b`` steps in a machine's log, in order (the first: ``--start--> a``)."""
    return re.findall(r"\] ((?:\S+ )?--\S+--> \S+)$", log, flags=re.MULTILINE)


CUSTOM_ACTIONS = EXAMPLES / "custom_actions"


@pytest.mark.parametrize(
    ("context", "message", "last"),
    [
        pytest.param(
            '{"who": "Ada", "operation": "add", "a": 3, "b": 4}',
            "Hello, Ada! add(3, 4) = 7",
            "calculating --calculated--> completed",
            id="success",
        ),
        pytest.param(
            '{"operation": "divide", "b": 0}',
            "Calculation failed: cannot divide by zero",
            "calculating --error--> failed",
            id="failure-path",
        ),
    ],
)
def test_custom_actions_example(tmp_path: Path, context: str, message: str, last: str) -> None:
    result = run_cli(
        CUSTOM_ACTIONS / "custom_actions.yaml",
        "--actions-dir",
        CUSTOM_ACTIONS / "actions",
        "--initial-context",
        context,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert message in result.stderr
    assert transitions(result.stderr) == [
        "--start--> greeting",
        "greeting --greeted--> calculating",
        last,
    ]
    assert "Traceback" not in result.stderr


def test_custom_actions_example_drives_the_compat_config(
    statemachine: Callable[..., MachineProcess], compat_config: Callable[[str], Path]
) -> None:
    """The example's actions implement what the earlier config expects of them."""
    machine = statemachine(
        compat_config("custom_actions_worker.yaml"), "--actions-dir", CUSTOM_ACTIONS / "actions"
    )
    machine.expect(r"--start--> waiting", timeout=20)
    send("custom_worker", "greet", {"name": "Grace"})
    machine.expect(r"--(greeted|calculated)--> waiting", timeout=20)
    send("custom_worker", "calculate", {"a": 6, "b": 7, "operation": "multiply"})
    machine.expect(r"--(greeted|calculated)--> waiting", timeout=20)
    text = machine.stderr
    assert "Processing greeting..." in text
    assert transitions(text)[-4:] == [
        "waiting --greet--> greeting",
        "greeting --greeted--> waiting",
        "waiting --calculate--> calculating",
        "calculating --calculated--> waiting",
    ]
    assert machine.stop() == 0


@pytest.mark.slow
def test_timeout_demo_example(tmp_path: Path) -> None:
    result = run_cli(EXAMPLES / "timeout_demo" / "timeout_demo.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert transitions(result.stderr) == [
        "--start--> waiting",
        "waiting --timeout(1)--> timed_out",
        "timed_out --retry--> waiting",
        "waiting --timeout(1)--> timed_out",
        "timed_out --retry--> waiting",
        "waiting --timeout(1)--> timed_out",
        "timed_out --give_up--> working",
        "working --work_done--> completed",
    ]
    assert "Done after 3 timeouts" in result.stderr


def run_script(script: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run an example's ``run.sh`` (it starts `statemachine` processes from PATH)."""
    if shutil.which("statemachine") is None:
        pytest.fail("statemachine is not on PATH: pip install -e . first")
    return subprocess.run(
        [str(script)],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_controller_worker_example(tmp_path: Path) -> None:
    """run.sh starts both machines; the controller hands out its tasks and both end."""
    result = run_script(EXAMPLES / "controller_worker" / "run.sh", tmp_path)
    assert result.returncode == 0, result.stderr
    finished = re.findall(r"\[controller\] worker finished (\S+): processed (\S+)", result.stderr)
    assert finished == [("a.txt", "a.txt"), ("b.txt", "b.txt"), ("c.txt", "c.txt")]
    assert "[controller] All tasks done." in result.stderr
    assert "[worker] waiting --stop--> stopped" in result.stderr


def test_pipeline_example(tmp_path: Path) -> None:
    """Three stages pass each payload along in order; the end-of-stream marker ends all."""
    result = run_script(EXAMPLES / "pipeline" / "run.sh", tmp_path)
    assert result.returncode == 0, result.stderr
    published = re.findall(r"\[publish\] published (\S+) -> (\S+) via (\S+)", result.stderr)
    assert published == [
        ("alpha", "ALPHA", '["ingest","transform"]'),
        ("beta", "BETA", '["ingest","transform"]'),
        ("gamma", "GAMMA", '["ingest","transform"]'),
    ]
    assert "[publish] Pipeline drained." in result.stderr
    assert "[transform] closing --event_sent--> completed" in result.stderr


def test_concurrent_example(tmp_path: Path) -> None:
    """The dispatcher starts one task machine per job in its process; all end by themselves."""
    items = ["alpha", "beta", "gamma", "delta", "epsilon"]
    for _ in range(2):  # it runs again, on the same store, as well as the first time
        result = run_script(EXAMPLES / "concurrent" / "run.sh", tmp_path)
        assert result.returncode == 0, result.stderr
        started = re.findall(r"\[dispatcher\] started task_(\S+) in this process", result.stderr)
        assert started == items
        finished = re.findall(r"\[task_\S+\] finished (\S+)", result.stderr)
        assert sorted(finished) == sorted(items)
        assert "[dispatcher] All 5 jobs done" in result.stderr
