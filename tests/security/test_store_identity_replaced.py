"""Store identity: a machine whose SQLite file is deleted or replaced under it stops
with exit status 1 and says so, instead of writing on into a file nobody reads.

Real ``statemachine`` processes on the test's store (``STATEMACHINE_DB``); the check
runs with the inbox watch's tick, so the exit is awaited, never slept for.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.files import write
from tests.support.processes import MachineProcess, moved

StartMachine = Callable[..., MachineProcess]

SINK = """
initial_state: idle
transitions:
  - {from: idle, to: idle, event: ping}
  - {from: "*", to: stopped, event: stop}
"""
GONE = "was deleted or replaced while this machine ran"


@pytest.fixture
def store() -> Path:
    return Path(os.environ["STATEMACHINE_DB"])


def remove_store(store: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)


def stopped_on_lost_store(machine: MachineProcess, store: Path) -> None:
    assert machine.wait() == 1, machine.stderr
    assert "Traceback" not in machine.stderr, machine.stderr
    line = machine.expect(GONE)
    assert f"the store {store}" in line


def test_a_machine_whose_store_is_deleted_stops(
    tmp_path: Path, store: Path, statemachine: StartMachine
) -> None:
    """The issue's reproduction: ``rm pipeline.db*`` under a running machine."""
    machine = statemachine(write(tmp_path / "sink.yaml", SINK))
    machine.expect(moved("sink", None, "start", "idle"))
    remove_store(store)
    stopped_on_lost_store(machine, store)
    assert not store.exists()  # it wrote nothing more: not even a new file


def test_a_machine_whose_store_is_replaced_stops(
    tmp_path: Path, store: Path, statemachine: StartMachine
) -> None:
    machine = statemachine(write(tmp_path / "sink.yaml", SINK))
    machine.expect(moved("sink", None, "start", "idle"))
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE unrelated (x)")
    conn.close()
    os.replace(other, store)
    stopped_on_lost_store(machine, store)
    with sqlite3.connect(store) as conn:  # the new file is left as it was
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master")]
    conn.close()
    assert tables == ["unrelated"]


def test_every_machine_of_a_host_stops_when_the_store_goes(
    tmp_path: Path, store: Path, statemachine: StartMachine
) -> None:
    machine = statemachine(write(tmp_path / "sink.yaml", SINK), "--instances", "2")
    machine.expect(moved("sink_001", None, "start", "idle"))
    machine.expect(moved("sink_002", None, "start", "idle"))
    remove_store(store)
    assert machine.wait() == 1, machine.stderr
    assert "2 machine(s) failed" in machine.stderr
    assert GONE in machine.stderr
    assert "Traceback" not in machine.stderr


def test_a_machine_whose_shm_file_is_replaced_stops(
    tmp_path: Path, store: Path, statemachine: StartMachine
) -> None:
    """A new ``-shm`` beside the old WAL would let other processes corrupt the store."""
    machine = statemachine(write(tmp_path / "sink.yaml", SINK))
    machine.expect(moved("sink", None, "start", "idle"))
    Path(f"{store}-shm").unlink()
    line = machine.expect(GONE)
    assert "(its -shm file)" in line
    assert machine.wait() == 1, machine.stderr


def test_a_store_moved_aside_is_complete_and_the_new_file_untouched(
    tmp_path: Path, store: Path, statemachine: StartMachine
) -> None:
    """The stopping machine checkpoints its WAL into the file it holds, so the store
    moved aside has every transition, and removes its -wal from beside the path, so
    the next process to open a new file there does not apply it."""
    machine = statemachine(write(tmp_path / "sink.yaml", SINK))
    machine.expect(moved("sink", None, "start", "idle"))
    aside = tmp_path / "aside.db"
    os.rename(store, aside)
    stopped_on_lost_store(machine, store)
    assert not Path(f"{store}-wal").exists()
    assert not Path(f"{store}-shm").exists()
    with sqlite3.connect(aside) as conn:
        states = conn.execute(
            "SELECT current_state FROM machine_state WHERE machine_name = 'sink'"
        ).fetchall()
    conn.close()
    assert states == [("idle",)]
