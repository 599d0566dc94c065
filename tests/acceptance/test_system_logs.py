"""``statemachine-system logs``: each machine's log file, its last lines and followed."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from tests.acceptance.test_system_cli import MANIFEST, SYSTEM, system
from tests.support.processes import DEADLINE, MachineProcess, wait_until
from tests.support.system_configs import WAITER


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "waiter.yaml").write_text(textwrap.dedent(WAITER))
    (tmp_path / "statemachine-project.yaml").write_text(textwrap.dedent(MANIFEST))
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "controller.log").write_text("c1\nc2\nc3\n")
    (logs / "worker.log.1").write_text("w1\nw2\n")
    (logs / "worker.log").write_text("w3\nw4\n")
    return tmp_path


def test_the_last_lines_of_each_machine_prefixed_by_its_name(project: Path) -> None:
    code, out, _ = system("logs", "-n", "2", cwd=project)
    assert code == 0
    assert out.splitlines() == [
        "controller | c2",
        "controller | c3",
        "worker     | w3",
        "worker     | w4",
    ]
    # Fewer lines than asked in the log: the rotated one gives the rest.
    code, out, _ = system("logs", "-n", "3", "worker_002", cwd=project)
    assert (code, out.splitlines()) == (0, ["worker | w2", "worker | w3", "worker | w4"])
    code, out, _ = system("logs", "-n", "0", cwd=project)
    assert (code, out) == (0, "")


def test_an_unknown_machine_is_one_line_naming_the_known_ones(project: Path) -> None:
    code, out, err = system("logs", "worker", "nope", cwd=project)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "statemachine-system: error: statemachine-project.yaml starts no machine 'nope'; "
        "known: controller, worker"
    ]
    for args, error in (
        (["logs", "-n", "many"], "not a whole number: 'many'"),
        (["logs", "-n", "-1"], "must be 0 or more: -1"),
        (["down", "--grace=-1"], "must be 0 to 3600 seconds: -1"),
        (["restart", "--grace", "nan", "worker"], "must be 0 to 3600 seconds: nan"),
        (["up", "--grace", "soon"], "not a number of seconds: 'soon'"),
    ):
        code, _, err = system(*args, cwd=project)
        assert code == 2
        assert err.strip().splitlines()[-1].endswith(error)


def test_follow_prints_new_lines_across_rotation(project: Path) -> None:
    logs = project / "logs"
    tail = MachineProcess([*SYSTEM, "logs", "-f", "-n", "1", "worker"], cwd=project)
    try:
        wait_until(lambda: "worker | w4" in tail.stdout, DEADLINE, "the last line")
        with open(logs / "worker.log", "a") as file:
            file.write("w5\nw6 half")
        wait_until(lambda: "worker | w5" in tail.stdout, DEADLINE, "an appended line")
        with open(logs / "worker.log", "a") as file:
            file.write(" done\nw7\n")  # the last lines of the file before it is rotated
        os.replace(logs / "worker.log.1", logs / "worker.log.2")
        os.replace(logs / "worker.log", logs / "worker.log.1")
        (logs / "worker.log").write_text("w8\n")
        wait_until(lambda: "worker | w8" in tail.stdout, DEADLINE, "the new file's line")
        assert tail.stop() == 0
    finally:
        tail.close()
    assert tail.stdout.splitlines() == [
        "worker | w4",
        "worker | w5",
        "worker | w6 half done",
        "worker | w7",
        "worker | w8",
    ]


def test_a_running_systems_lines_and_a_log_that_comes_later(project: Path) -> None:
    for log in (project / "logs").iterdir():
        log.unlink()
    tail = MachineProcess([*SYSTEM, "logs", "--follow", "controller"], cwd=project)
    up = MachineProcess([*SYSTEM, "up"], cwd=project)
    try:
        up.expect("is up")
        wait_until(
            lambda: "[controller] --start--> waiting" in tail.stdout,
            DEADLINE,
            "the controller's first line, in a log created after logs -f started",
        )
        code, out, _ = system("logs", "worker", cwd=project)
        assert code == 0
        assert "[worker_002] --start--> waiting" in out
        assert all(line.startswith("worker | ") for line in out.splitlines())
        code, _, _ = system("down", cwd=project)
        assert code == 0
        assert up.wait() == 0
        wait_until(lambda: "controller stops" in tail.stdout, DEADLINE, "the last line")
        assert tail.stop() == 0
    finally:
        up.close()
        tail.close()
    assert "worker" not in tail.stdout
