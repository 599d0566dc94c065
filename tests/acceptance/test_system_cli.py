"""``statemachine-system`` as users run it: a manifest, real processes, a second terminal."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.support.pids import is_zombie
from tests.support.processes import (
    DEADLINE,
    MachineProcess,
    console_script,
    run_cli,
    socket_dir,
    wait_until,
)
from tests.support.system_configs import BOOM, WAITER

SYSTEM = console_script("statemachine-system") or [
    sys.executable,
    "-m",
    "statemachine_engine.system.cli",
]

MANIFEST = """
name: demo
machines:
  controller: {config: config/waiter.yaml}
  worker: {config: config/waiter.yaml, instances: 2, depends_on: controller}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "waiter.yaml").write_text(textwrap.dedent(WAITER))
    (tmp_path / "statemachine-project.yaml").write_text(textwrap.dedent(MANIFEST))
    return tmp_path


def system(*args: str, cwd: Path) -> tuple[int, str, str]:
    result = run_cli(*args, cwd=cwd, argv=SYSTEM)
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout, result.stderr


def system_status(project: Path) -> dict[str, Any]:
    """``statemachine-system status --format json`` in ``project``."""
    code, out, _ = system("status", "--format", "json", cwd=project)
    assert code == 0
    status = json.loads(out)
    assert isinstance(status, dict)
    return status


def test_up_status_down_leaves_nothing_behind(project: Path) -> None:
    up = MachineProcess([*SYSTEM, "up"], cwd=project)
    try:
        up.expect("statemachine-system: demo is up: 2 process")
        code, out, _ = system("status", "--format", "json", cwd=project)
        assert code == 0
        status = json.loads(out)
        assert status["supervisor"]["up"]
        assert status["supervisor"]["pid"] == up.pid
        machines = {row["machine"]: row for row in status["machines"]}
        assert list(machines) == ["controller", "worker_001", "worker_002"]
        assert all(row["status"] == "running" for row in machines.values())
        assert all(row["state"] == "waiting" for row in machines.values())
        assert machines["worker_001"]["pid"] == machines["worker_002"]["pid"]
        pids = {row["pid"] for row in machines.values()}

        code, out, _ = system("up", cwd=project)  # a second up changes nothing
        assert (code, out.strip()) == (
            0,
            f"statemachine-system: demo is up already (supervisor pid {up.pid})",
        )

        code, out, _ = system("down", cwd=project)
        assert (code, out.strip()) == (0, "statemachine-system: demo is down")
        assert up.wait() == 0
    finally:
        up.close()
    assert all(is_zombie(pid) for pid in pids)
    assert "worker     | " in up.stdout  # every line prefixed by its process's name
    assert "worker_002 stops" in (project / "logs" / "worker.log").read_text()
    code, out, _ = system("down", cwd=project)
    assert (code, out.strip()) == (0, "statemachine-system: demo is not up: nothing to stop")
    code, out, _ = system("status", cwd=project)
    assert code == 0
    assert out.splitlines()[0] == "demo: not up"


def test_restart_a_machine_of_a_running_system(project: Path) -> None:
    code, _, err = system("restart", "worker", cwd=project)
    assert (code, err.strip()) == (
        1,
        "statemachine-system: error: demo is not up: nothing to restart "
        "(statemachine-system up starts it)",
    )
    up = MachineProcess([*SYSTEM, "up"], cwd=project)
    try:
        up.expect("is up")
        before = _machines(project)
        code, out, _ = system("restart", "worker_002", cwd=project)  # its whole process
        after = _machines(project)
        new = after["worker_001"]["pid"]
        assert (code, out.strip()) == (
            0,
            f"statemachine-system: worker: exited 0, restarted (pid {new}, restarts 1)",
        )
        assert new != before["worker_001"]["pid"]
        assert is_zombie(before["worker_001"]["pid"])
        assert [(row["restarts"], row["status"]) for row in after.values()] == [
            (0, "running"),
            (1, "running"),
            (1, "running"),
        ]
        assert after["controller"]["pid"] == before["controller"]["pid"]

        # No grace: killed at once (unless it took its stop event first).
        code, out, _ = system("restart", "--grace", "0", "controller", cwd=project)
        assert code == 0
        assert re.search(r"controller: (killed by SIG(KILL|TERM)|exited 0), restarted", out)

        code, _, err = system("restart", "nope", cwd=project)
        assert code == 2
        assert "starts no machine 'nope'; known: controller, worker" in err
        code, _, _ = system("down", cwd=project)
        assert code == 0
        assert up.wait() == 0
    finally:
        up.close()
    assert "worker     | --- exited 0; restarting, as asked" in up.stdout


def test_a_control_socket_that_cannot_be_bound_leaves_the_system_up(project: Path) -> None:
    taken = socket_dir() / "system-demo.sock"
    taken.parent.mkdir(parents=True, exist_ok=True)
    taken.write_text("not a socket")
    up = MachineProcess([*SYSTEM, "up"], cwd=project)
    try:
        up.expect("is up")
        up.expect("warning: restart will not work: refusing socket path")
        code, _, err = system("restart", "worker", cwd=project)
        assert code == 1
        assert "the supervisor does not listen on" in err
        code, _, _ = system("down", cwd=project)
        assert code == 0
        assert up.wait() == 0
    finally:
        up.close()
    assert taken.read_text() == "not a socket"


def _machines(project: Path) -> dict[str, dict[str, object]]:
    code, out, _ = system("status", "--format", "json", cwd=project)
    assert code == 0
    return {row["machine"]: row for row in json.loads(out)["machines"]}


def test_ctrl_c_brings_the_system_down(project: Path) -> None:
    up = MachineProcess([*SYSTEM, "up"], cwd=project)
    try:
        up.expect("is up")
        os.kill(up.pid, signal.SIGINT)
        up.expect("statemachine-system: worker: exited 0")
        assert up.wait() == 0
    finally:
        up.close()


def test_a_second_ctrl_c_ends_a_pre_stop_hook_that_hangs_and_the_down_goes_on(
    project: Path,
) -> None:
    manifest = project / "statemachine-project.yaml"
    manifest.write_text("pre_stop: echo hook-waiting; exec sleep 300\n" + manifest.read_text())
    up = MachineProcess([*SYSTEM, "up"], cwd=project)
    try:
        up.expect("is up")
        os.kill(up.pid, signal.SIGINT)
        wait_until(
            lambda: any("hook-waiting" in line for line in up.stdout_lines),
            DEADLINE,
            "the pre_stop hook started",
        )
        os.killpg(up.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole group
        up.expect(r"pre_stop exited -2|pre_stop exited 130")
        up.expect("statemachine-system: worker: exited 0")
        assert up.wait() == 0
    finally:
        up.close()


def test_up_exits_1_when_a_machine_ends_badly(project: Path) -> None:
    (project / "config" / "boom.yaml").write_text(textwrap.dedent(BOOM))
    manifest = project / "statemachine-project.yaml"
    manifest.write_text(
        "name: boom\nmachines:\n  boom: {config: config/boom.yaml, restart: {max_restarts: 0}}\n"
    )
    code, _, err = system("up", cwd=project)
    assert code == 1
    # Ended after registering, or before the supervisor saw it register.
    assert "ended badly (see their logs): boom" in err or "boom did not start" in err
    assert "max_restarts is 0, given up" in err
    code, out, _ = system("status", "--format", "json", cwd=project)
    assert code == 0
    [row] = json.loads(out)["machines"]
    if row["status"] != "not started":  # it got as far as its action
        assert "exit" in row["last_error"] or "3" in row["last_error"], row
    code, out, _ = system("status", cwd=project)
    assert "last error" in out.splitlines()[1]


def test_a_lint_error_starts_nothing(project: Path) -> None:
    (project / "config" / "broken.yaml").write_text(
        "initial_state: a\ntransitions:\n  - {from: a, to: b, event: go}\n"
    )
    manifest = project / "statemachine-project.yaml"
    manifest.write_text(manifest.read_text() + "  broken: {config: config/broken.yaml}\n")
    code, _, err = system("up", cwd=project)
    assert code == 1
    assert "broken.yaml" in err
    assert "nothing started" in err
    assert not (project / "logs").exists()
    code, _, _ = system("validate", cwd=project)
    assert code == 1


def test_a_manifest_mistake_is_one_line_at_its_place(project: Path) -> None:
    manifest = project / "statemachine-project.yaml"
    manifest.write_text(manifest.read_text().replace("instances", "instanses"))
    code, _, err = system("validate", cwd=project)
    assert code == 1
    assert err.strip().splitlines() == [
        f"statemachine-system: error: {manifest.name}:5: unknown key 'instanses' in "
        "machines.worker (did you mean 'instances'?); known: config, instances, "
        "actions_dir, initial_context, restart, start, in_process, depends_on"
    ]


@pytest.mark.parametrize("where", ["before", "after"])
def test_the_manifest_is_named_before_or_after_the_command(project: Path, where: str) -> None:
    manifest = project / "statemachine-project.yaml"
    other = manifest.rename(project / "other.yaml")
    for command in ("validate", "status"):
        flag = ["-f", other.name]
        args = [*flag, command] if where == "before" else [command, *flag]
        code, _, err = system(*args, cwd=project)
        assert code == 0, err
    code, _, err = system("logs", "--file", other.name, "-n", "1", cwd=project)
    assert code == 0, err
    code, _, err = system("validate", cwd=project)  # the default is gone
    assert code != 0
    assert "no manifest here" in err


@pytest.mark.parametrize(
    "command", [[], ["validate"], ["up"], ["down"], ["status"], ["logs"], ["restart"]]
)
def test_every_subcommand_has_help(project: Path, command: list[str]) -> None:
    code, out, _ = system(*command, "--help", cwd=project)
    assert code == 0
    assert out.startswith("usage: statemachine-system")
