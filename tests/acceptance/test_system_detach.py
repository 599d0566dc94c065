"""``statemachine-system up --detach``: a supervisor that outlives the terminal it was
started from, brought down by ``down``."""

from __future__ import annotations

import os
import re
import shlex
import signal
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.test_system_cli import MANIFEST, SYSTEM, system, system_status
from tests.support.pids import Reaper, has_exited
from tests.support.processes import DEADLINE, STATEMACHINE, MachineProcess, wait_until
from tests.support.system_configs import WAITER


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "waiter.yaml").write_text(textwrap.dedent(WAITER))
    (tmp_path / "statemachine-project.yaml").write_text(textwrap.dedent(MANIFEST))
    try:
        yield tmp_path
    finally:  # whatever the test did, nothing of the system outlives it
        system("down", "--grace", "2", cwd=tmp_path)


def test_a_detached_system_survives_its_terminal_and_down_leaves_nothing(
    project: Path, reaper: Reaper
) -> None:
    command = " ".join(shlex.quote(arg) for arg in [*SYSTEM, "up", "-d"])
    terminal = MachineProcess(
        ["bash", "-c", f"{command} && echo launched && exec sleep 300"], cwd=project
    )
    try:
        wait_until(lambda: "launched" in terminal.stdout, DEADLINE * 2, "up -d returning")
        said = re.search(r"demo is up \(supervisor pid (\d+); its log: (.*)\)", terminal.stdout)
        assert said is not None, terminal.stdout
        supervisor = int(said.group(1))
        (watched,) = reaper.watch(supervisor)
        status = system_status(project)
        rows = status["machines"]
        machines = reaper.watch(*{row["pid"] for row in rows})
        assert all(row["status"] == "running" for row in rows)
        # The terminal goes: its whole process group is hung up on, then killed.
        os.killpg(terminal.pid, signal.SIGHUP)
        os.killpg(terminal.pid, signal.SIGKILL)
        terminal.wait()
    finally:
        terminal.close()
    status = system_status(project)
    assert status["supervisor"] == {
        "up": True,
        "pid": supervisor,
        "started_at": status["supervisor"]["started_at"],
    }
    assert [row["pid"] for row in status["machines"]] == [row["pid"] for row in rows]

    code, out, _ = system("up", "-d", cwd=project)  # a second up changes nothing
    assert (code, out.strip()) == (
        0,
        f"statemachine-system: demo is up already (supervisor pid {supervisor})",
    )
    code, out, _ = system("restart", "controller", cwd=project)
    assert code == 0
    assert "controller: exited 0, restarted" in out
    code, out, _ = system("down", cwd=project)
    assert (code, out.strip()) == (0, "statemachine-system: demo is down")
    assert watched.exited()
    assert all(machine.exited() for machine in machines)
    restarted = [row["pid"] for row in system_status(project)["machines"]]
    assert all(pid is None or has_exited(pid) for pid in restarted)
    log = (project / "logs" / "statemachine-system.log").read_text()
    assert "controller: exited 0, restarted" in log
    assert "statemachine-system: worker: exited 0" in log  # brought down by its stop event
    assert "worker_001 stops" in (project / "logs" / "worker.log").read_text()
    assert "worker_001 stops" not in log  # the machines' lines are in their own logs


def test_a_detached_up_that_fails_says_why_and_leaves_nothing(project: Path) -> None:
    # A machine that cannot start: its name is held by a machine started by hand.
    holder = MachineProcess(
        [*STATEMACHINE, "config/waiter.yaml", "--machine-name", "worker_002"], cwd=project
    )
    try:
        holder.expect(r"\[worker_002\] --start--> waiting")
        code, out, err = system("up", "--detach", cwd=project)
        assert (code, out) == (1, "")
        assert re.search(r"statemachine-system: error: worker did not start: exited \d", err)
        status = system_status(project)
        assert status["supervisor"] == {"up": False}
        controller = status["machines"][0]
        assert controller["machine"] == "controller"
        assert controller["status"] != "running"
        assert controller["pid"] is None or has_exited(controller["pid"])
    finally:
        holder.close()

    # A config with an error starts nothing, not even a supervisor.
    (project / "config" / "waiter.yaml").write_text("initial_state: [not, a, name]\n")
    code, _, err = system("up", "-d", cwd=project)
    assert code == 1
    assert "nothing started" in err
    assert system_status(project)["supervisor"] == {"up": False}
