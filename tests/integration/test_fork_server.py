"""Machine processes started by ``start_fsm`` are forked from the fork server: they write
to the controller's stderr, run in sessions of their own, outlive the controller, and
the server itself does not outlive it. ``STATEMACHINE_FORK_SERVER=off`` and requests too
large for the server start them with a fresh interpreter, as before."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from statemachine_engine.actions._fork_client import MAX_REQUEST_BYTES, start_machine_process
from tests.support.files import write
from tests.support.pids import Watched
from tests.support.processes import STATEMACHINE, MachineProcess, moved, run_cli

DB_CLI = [sys.executable, "-m", "statemachine_engine.database.cli"]

CHILD = """
initial_state: idle
transitions:
  - {from: idle, to: stopped, event: stop}
actions:
  idle:
    - {type: log, message: "child {machine_name} is up"}
"""

PARENT = """
initial_state: spawning
transitions:
  - {from: spawning, to: waiting, event: success}
  - {from: waiting, to: stopped, event: stop}
actions:
  spawning:
    - {type: start_fsm, yaml_path: child.yaml, machine_name: child_1}
"""


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    return text.rsplit(")", 1)[1].split()  # state, ppid, pgrp, session, ...


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., MachineProcess]]:
    """Parent processes, each ended at the end with its child (which a failed test may
    have left running: it is no child of the test, and it holds the parent's stderr)."""
    write(tmp_path / "child.yaml", CHILD)
    write(tmp_path / "parent.yaml", PARENT)
    started: list[MachineProcess] = []

    def run(env: dict[str, str] | None = None) -> MachineProcess:
        process = MachineProcess(
            [*STATEMACHINE, "parent.yaml"], cwd=tmp_path, env={**os.environ, **(env or {})}
        )
        started.append(process)
        return process

    try:
        yield run
    finally:
        for pid in _machine_pids("child_1"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for process in started:
            process.close()


def _machine_pids(name: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if f"--machine-name {name} " in _cmdline(int(entry)) + " ":
                    found.append(int(entry))
    return found


def _child_pid(parent: MachineProcess) -> int:
    line = parent.expect(r"\[parent\] started child_1 \(pid \d+\)")
    found = re.search(r"pid (\d+)", line)
    assert found is not None
    return int(found.group(1))


def _stop(tmp_path: Path, machine: str) -> None:
    sent = run_cli("send-event", "--target", machine, "--type", "stop", cwd=tmp_path, argv=DB_CLI)
    assert sent.returncode == 0, sent.stderr


def test_a_child_is_forked_by_the_server_and_outlives_its_controller(
    tmp_path: Path, start: Callable[..., MachineProcess]
) -> None:
    parent = start()
    pid = _child_pid(parent)
    child = Watched(pid)
    parent.expect(re.escape("[child_1] child child_1 is up"))  # on the parent's stderr
    _, ppid, _, session = _stat(pid)[:4]
    server = int(ppid)
    assert "statemachine_engine._fork_server" in _cmdline(server)
    assert int(session) == pid  # a session of its own
    # ps shows the child's own command line, as if started with it.
    assert _cmdline(pid).split()[1:] == [
        "-m",
        "statemachine_engine",
        "child.yaml",
        "--machine-name",
        "child_1",
    ]
    watched_server = Watched(server)
    parent.proc.send_signal(signal.SIGKILL)
    assert watched_server.exited(), "the fork server outlived its controller"
    assert not child.exited(timeout=0.5), "the child ended with its controller"
    _stop(tmp_path, "child_1")
    assert child.exited()
    # (The child wrote to the parent's stderr: the pipe ends with the child.)
    assert parent.wait() == -signal.SIGKILL


def test_a_controller_that_ends_ends_its_server(
    tmp_path: Path, start: Callable[..., MachineProcess]
) -> None:
    parent = start()
    pid = _child_pid(parent)
    server = Watched(int(_stat(pid)[1]))
    child = Watched(pid)
    _stop(tmp_path, "parent")
    parent.expect(moved("parent", "waiting", "stop", "stopped"))
    assert server.exited()
    assert not child.exited(timeout=0.5)
    _stop(tmp_path, "child_1")
    assert child.exited()
    assert parent.wait() == 0


def test_without_the_server_a_child_gets_a_fresh_interpreter(
    tmp_path: Path, start: Callable[..., MachineProcess]
) -> None:
    parent = start({"STATEMACHINE_FORK_SERVER": "off"})
    pid = _child_pid(parent)
    assert int(_stat(pid)[1]) == parent.pid
    parent.expect(re.escape("[child_1] child child_1 is up"))
    _stop(tmp_path, "child_1")
    _stop(tmp_path, "parent")
    assert parent.wait() == 0


async def test_a_request_too_large_for_the_server_is_left_to_the_caller() -> None:
    huge = {"STATEMACHINE_X": "x" * MAX_REQUEST_BYTES}
    assert await start_machine_process(["child.yaml"], huge) is None
