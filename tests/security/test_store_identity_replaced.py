"""Store identity: a machine whose SQLite file is deleted, replaced or overwritten in
place under it stops with exit status 1 and says so, instead of writing on into a file
nobody reads or mixing two stores.

Real ``statemachine`` processes on the test's store (``STATEMACHINE_DB``); the check
runs with the inbox watch's tick, so the exit is awaited, never slept for.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
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
OVERWRITTEN = "was overwritten while this machine ran"
DB = [sys.executable, "-m", "statemachine_engine.database.cli"]
#: Transitions back to back, each committed: a machine always reading and writing pages.
BUSY = """
initial_state: ping
transitions:
  - {from: ping, to: pong, event: timeout(0.005)}
  - {from: pong, to: ping, event: timeout(0.005)}
  - {from: "*", to: stopped, event: stop}
"""


@pytest.fixture
def store() -> Path:
    return Path(os.environ["STATEMACHINE_DB"])


def remove_store(store: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)


def stopped_on_lost_store(machine: MachineProcess, store: Path, what: str = GONE) -> None:
    assert machine.wait() == 1, machine.stderr
    assert "Traceback" not in machine.stderr, machine.stderr
    line = machine.expect(what)
    assert f"the store {store}" in line


def other_store(path: Path) -> bytes:
    """Another store, made by ``statemachine-db`` with one job in it: its file's bytes."""
    made = subprocess.run(
        [*DB, "--db", str(path), "add-job", "--type", "elsewhere", "other-1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    return path.read_bytes()


def overwrite(store: Path, source: Path) -> None:
    """``cp source store``: the same file (inode), other bytes."""
    inode = store.stat().st_ino
    shutil.copyfile(source, store)
    assert store.stat().st_ino == inode


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


def test_a_machine_whose_store_is_overwritten_in_place_stops(
    tmp_path: Path, store: Path, statemachine: StartMachine
) -> None:
    """``cp other.db pipeline.db`` under a running machine keeps the inode. The machine
    stops, and leaves the file as copied: the other store, whole, usable."""
    machine = statemachine(write(tmp_path / "sink.yaml", SINK))
    machine.expect(moved("sink", None, "start", "idle"))
    copied = other_store(tmp_path / "other.db")
    overwrite(store, tmp_path / "other.db")
    stopped_on_lost_store(machine, store, OVERWRITTEN)
    assert store.read_bytes() == copied  # not a page of the old store written into it
    assert not Path(f"{store}-wal").exists()  # nor left beside it to be applied
    with sqlite3.connect(store) as conn:
        jobs = conn.execute("SELECT job_id FROM jobs").fetchall()
    conn.close()
    assert jobs == [("other-1",)]


def test_a_busy_machine_whose_store_is_overwritten_in_place_stops(
    tmp_path: Path, store: Path, statemachine: StartMachine
) -> None:
    """Mid-transition, SQLite may fail first ("database disk image is malformed", "no
    such table"...), or commit into its WAL unaware: either way one line, exit 1."""
    machine = statemachine(write(tmp_path / "busy.yaml", BUSY))
    machine.expect(moved("busy", "pong", "timeout(0.005)", "ping"))
    other_store(tmp_path / "other.db")
    overwrite(store, tmp_path / "other.db")
    assert machine.wait() == 1, machine.stderr
    assert "Traceback" not in machine.stderr, machine.stderr
    errors = [line for line in machine.stderr.splitlines() if f"the store {store}" in line]
    assert errors, machine.stderr
    assert all(OVERWRITTEN in line or "became unreadable" in line for line in errors)


SPOIL_ACTION = '''
import os
import sqlite3

from statemachine_engine.actions.base import BaseAction


class SpoilStoreAction(BaseAction):
    """Writes the store's WAL into its file, then zeroes the file in place: the commit
    of the transition this action's event takes is the first to read it."""

    async def execute(self, context):
        path = os.environ["STATEMACHINE_DB"]
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        with open(path, "r+b") as file:
            file.write(bytes(os.path.getsize(path)))
        return "spoiled"
'''
SPOILER = """
initial_state: idle
transitions:
  - {from: idle, to: spoiling, event: start}
  - {from: spoiling, to: stopped, event: spoiled}
actions:
  spoiling:
    - {type: spoil_store}
"""


def test_a_machine_whose_store_fails_mid_transition_stops_with_one_line(
    tmp_path: Path, store: Path, statemachine: StartMachine
) -> None:
    """The store fails under the commit of a transition an action's event takes (SQLite
    reads zeros: "file is not a database"): the line names the store, no traceback."""
    actions = tmp_path / "actions"
    actions.mkdir()
    write(actions / "spoil_store_action.py", SPOIL_ACTION)
    machine = statemachine(write(tmp_path / "spoiler.yaml", SPOILER), "--actions-dir", actions)
    stopped_on_lost_store(machine, store, OVERWRITTEN)
    assert f"[spoiler] stopped: the store {store}" in machine.stderr
    assert "internal error" not in machine.stderr
