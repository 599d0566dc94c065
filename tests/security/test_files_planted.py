"""Files that cannot be planted: a link or file another user puts where a machine keeps
its lock, its socket or its store is never followed, truncated or removed.

Real ``statemachine`` processes; the "shared" directory is made like ``/tmp``
(mode 1777), or worse (0777: no sticky bit).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.files import write
from tests.support.processes import MachineProcess, moved, run_cli

StartMachine = Callable[..., MachineProcess]
DB_CLI = [sys.executable, "-m", "statemachine_engine.database.cli"]
EVENTS_CLI = [sys.executable, "-m", "statemachine_engine.tools.events"]

SINK = """
initial_state: idle
transitions:
  - {from: idle, to: idle, event: ping}
  - {from: "*", to: stopped, event: stop}
"""
PRECIOUS = "precious data\n"


@pytest.fixture
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short directory anybody may write to, sticky like /tmp."""
    directory = tmp_path_factory.mktemp("w")
    directory.chmod(0o1777)
    return directory


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file an attacker would like the machine to overwrite."""
    return write(tmp_path / "victim.txt", PRECIOUS)


def refused(machine: MachineProcess, words: str) -> str:
    """The one line a refusing machine printed (it exits 1, with no traceback)."""
    assert machine.wait() == 1, machine.stderr
    assert "Traceback" not in machine.stderr, machine.stderr
    lines = [line for line in machine.stderr_lines if words in line]
    assert lines, machine.stderr
    return lines[-1]


def test_a_symlink_planted_at_the_lock_is_not_followed(
    tmp_path: Path, shared: Path, victim: Path, statemachine: StartMachine
) -> None:
    """The issue's reproduction: the lock of ``<prefix>-sink.sock`` is a link to a file."""
    (shared / "ctl-sink.sock.lock").symlink_to(victim)
    config = write(tmp_path / "sink.yaml", SINK)
    machine = statemachine(config, "--control-socket-prefix", shared / "ctl")
    line = refused(machine, "symbolic link")
    assert str(shared / "ctl-sink.sock.lock") in line
    assert victim.read_text() == PRECIOUS


def test_a_hard_link_planted_at_the_lock_is_not_truncated(
    tmp_path: Path, shared: Path, statemachine: StartMachine
) -> None:
    victim = write(shared / "victim.txt", PRECIOUS)  # a hard link must be on its file system
    os.link(victim, shared / "ctl-sink.sock.lock")
    machine = statemachine(
        write(tmp_path / "sink.yaml", SINK), "--control-socket-prefix", shared / "ctl"
    )
    refused(machine, "2 names")
    assert victim.read_text() == PRECIOUS


def test_a_lock_of_another_user_is_refused(
    tmp_path: Path, shared: Path, statemachine: StartMachine
) -> None:
    if os.getuid() != 0:
        pytest.skip("giving a file to another user needs root")
    lock = write(shared / "ctl-sink.sock.lock", "4711\n")
    os.chown(lock, 4242, 4242)
    machine = statemachine(
        write(tmp_path / "sink.yaml", SINK), "--control-socket-prefix", shared / "ctl"
    )
    refused(machine, "belongs to another user (uid 4242)")
    assert lock.read_text() == "4711\n"


def test_a_symlink_planted_at_the_socket_path_is_replaced_not_followed(
    tmp_path: Path, shared: Path, victim: Path, statemachine: StartMachine
) -> None:
    """A stale link of ours at the socket path goes (the link, not its target); the
    machine binds its own socket there and is reached through it."""
    socket_path = shared / "ctl-sink.sock"
    socket_path.symlink_to(victim)
    machine = statemachine(
        write(tmp_path / "sink.yaml", SINK), "--control-socket-prefix", shared / "ctl"
    )
    machine.expect(moved("sink", None, "start", "idle"))
    assert stat.S_ISSOCK(os.lstat(socket_path).st_mode)
    assert stat.S_IMODE(os.lstat(socket_path).st_mode) == 0o600
    sent = run_cli("send-event", "--target", "sink", "--type", "ping", cwd=tmp_path, argv=DB_CLI)
    assert sent.returncode == 0, sent.stderr
    machine.expect(moved("sink", "idle", "ping", "idle"))
    assert machine.stop() == 0
    assert victim.read_text() == PRECIOUS


def test_a_file_at_the_socket_path_is_not_removed(
    tmp_path: Path, shared: Path, statemachine: StartMachine
) -> None:
    planted = write(shared / "ctl-sink.sock", PRECIOUS)
    machine = statemachine(
        write(tmp_path / "sink.yaml", SINK), "--control-socket-prefix", shared / "ctl"
    )
    refused(machine, "not a socket")
    assert planted.read_text() == PRECIOUS


def test_a_prefix_in_a_directory_others_may_write_to_without_sticky_bit_is_refused(
    tmp_path: Path, shared: Path, statemachine: StartMachine
) -> None:
    """Without the sticky bit anyone could rename our lock or socket away and put theirs."""
    shared.chmod(0o777)
    machine = statemachine(
        write(tmp_path / "sink.yaml", SINK), "--control-socket-prefix", shared / "ctl"
    )
    refused(machine, "no sticky bit")
    assert list(shared.iterdir()) == []


def test_an_event_socket_path_in_a_shared_directory_is_refused(
    tmp_path: Path, shared: Path, statemachine: StartMachine
) -> None:
    """Anyone able to create files there could listen in place of the monitor, so
    neither a machine nor a monitor uses it."""
    events = shared / "events.sock"
    machine = statemachine(write(tmp_path / "sink.yaml", SINK), "--event-socket-path", events)
    line = refused(machine, "could listen there in place of the monitor")
    assert str(events) in line
    monitor = run_cli(
        "--event-socket-path", events, "--duration", "5", cwd=tmp_path, argv=EVENTS_CLI
    )
    assert monitor.returncode == 1, monitor.stderr
    assert "could listen there in place of the monitor" in monitor.stderr
    assert "Traceback" not in monitor.stderr
    assert not os.path.lexists(events)
