"""An unusable ``-shm`` file gives an error line, not a silent SIGBUS.

SQLite maps the store's ``-shm`` file into every process; when it cannot be written
(made immutable here, with ``chattr +i``: the one way to take write access from root),
SQLite would fail with "attempt to write a readonly database" or die of SIGBUS on its
next write to the mapping. A machine refuses such a store at start, and a running one
stops at its next watch tick with a line naming the file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
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


def chattr(flag: str, path: Path) -> bool:
    result = subprocess.run(["chattr", flag, str(path)], capture_output=True, check=False)
    return result.returncode == 0


@pytest.fixture
def immutable() -> Iterator[Callable[[Path], None]]:
    """``immutable(path)``: make ``path`` immutable (undone at the end of the test)."""
    if shutil.which("chattr") is None or os.getuid() != 0:
        pytest.skip("making a file immutable needs chattr and root")
    made: list[Path] = []

    def make(path: Path) -> None:
        if not chattr("+i", path):
            pytest.skip(f"the file system of {path} has no immutable files")
        made.append(path)

    try:
        yield make
    finally:
        for path in made:
            chattr("-i", path)


@pytest.fixture
def shm() -> Path:
    return Path(os.environ["STATEMACHINE_DB"] + "-shm")


def test_a_store_whose_shm_cannot_be_written_is_refused_at_start(
    tmp_path: Path, shm: Path, immutable: Callable[[Path], None], statemachine: StartMachine
) -> None:
    shm.write_bytes(bytes(32768))
    immutable(shm)
    machine = statemachine(write(tmp_path / "sink.yaml", SINK))
    assert machine.wait() == 1, machine.stderr
    assert f"its shared-memory file {shm} cannot be written" in machine.stderr
    assert "Traceback" not in machine.stderr


def test_a_running_machine_whose_shm_becomes_unwritable_says_so(
    tmp_path: Path, shm: Path, immutable: Callable[[Path], None], statemachine: StartMachine
) -> None:
    """It stops at its next tick with the line naming the file. A write to the mapping
    before that tick (any commit), or SQLite's checkpoint when the connection closes,
    still raises SIGBUS: then the process says "Fatal Python error: Bus error" and
    where, instead of dying without a word."""
    machine = statemachine(write(tmp_path / "sink.yaml", SINK))
    machine.expect(moved("sink", None, "start", "idle"))
    immutable(shm)
    said = machine.expect(
        f"its shared-memory file {shm} became unwritable while this machine ran"
        "|Fatal Python error: Bus error"
    )
    assert machine.wait() != 0
    if "Bus error" not in said:
        assert "Traceback" not in machine.stderr
