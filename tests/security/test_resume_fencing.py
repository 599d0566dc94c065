"""Fencing on resume: a worker that lost its job's lease while it was down does not run
the job again when it resumes (issue 13, point 4).

Worker ``a`` (lease 3 s) is SIGKILLed mid-job, ``b`` claims the job once the lease has run
out, ``a`` is started again: it resumes in ``processing`` but, its lease gone, emits the
state's error event instead of re-running the state's actions. Every run of the job's
command appends a line to ``runs.txt``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from statemachine_engine.database.sqlite import SqliteStore
from tests.support.fifo import Fifo
from tests.support.files import write
from tests.support.processes import MachineProcess, moved

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="uses /bin/bash and signals"
)

WORKER = """
    initial_state: waiting
    transitions:
      - {from: waiting, to: processing, event: new_job}
      - {from: waiting, to: waiting, event: no_jobs}
      - {from: processing, to: waiting, event: job_done}
      - {from: processing, to: waiting, event: %(lost)s}
    actions:
      waiting:
        - {type: check_database_queue, job_type: task, wait: 30, lease: 3}
      processing:
        - type: bash
          command: >-
            echo {machine_name} {job_id} {current_job.attempts} >> runs.txt;
            echo {machine_name} $$ > started.fifo; read line < gate.fifo
          %(error)s
"""


@pytest.fixture
async def store() -> AsyncIterator[SqliteStore]:
    handle = SqliteStore(Path(os.environ["STATEMACHINE_DB"]))
    try:
        yield handle
    finally:
        await handle.close()


def _open_gate(fifo: Path) -> None:
    """Let one waiting ``read line < gate.fifo`` go on (blocks until it reads)."""
    with open(fifo, "w") as gate:
        gate.write("go\n")


def _crash(machine: MachineProcess, started: str, name: str, shells: list[int]) -> None:
    """SIGKILL ``machine`` mid-job, and its command's process group with it (the command
    runs in a session of its own, which issue 13's point 5 ties to its machine)."""
    runner, pgid = started.split()
    assert runner == name
    machine.kill()
    shells.append(int(pgid))
    with contextlib.suppress(ProcessLookupError):
        os.killpg(int(pgid), signal.SIGKILL)


@pytest.mark.parametrize(
    ("lost", "error"),
    [
        ("job_lost", ""),  # the state takes job_lost: that is the event
        ("job_failed", "error: job_failed"),  # else its first action's error event
    ],
)
async def test_a_resumed_worker_does_not_rerun_a_job_it_lost(
    tmp_path: Path,
    store: SqliteStore,
    statemachine: Callable[..., MachineProcess],
    shells: list[int],
    lost: str,
    error: str,
) -> None:
    config = write(tmp_path / "worker.yaml", WORKER % {"lost": lost, "error": error})
    os.mkfifo(tmp_path / "gate.fifo")
    started = Fifo(tmp_path / "started.fifo")
    runs = tmp_path / "runs.txt"
    job = await store.add_job("task", {})

    a = statemachine(config, "--machine-name", "a")
    _crash(a, await started.wait_line(), "a", shells)  # mid-job, its command with it
    assert runs.read_text().splitlines() == [f"a {job.job_id} 1"]

    b = statemachine(config, "--machine-name", "b")
    b.expect(moved("b", "waiting", "new_job", "processing"))  # once a's lease ran out
    name, pgid = (await started.wait_line()).split()
    assert name == "b"
    shells.append(int(pgid))

    again = statemachine(config, "--machine-name", "a")
    again.expect(re.escape("[a] resumed in 'processing'"))
    warning = again.expect(r"WARNING .*\[a\] resumes in 'processing' without its job")
    assert f"job {job.job_id} was lost" in warning
    assert "attempt 2 now belongs to b@" in warning
    assert f"emitting '{lost}'" in warning
    again.expect(moved("a", "processing", lost, "waiting"))
    # a did not run the job's command again: b's run is the only other one.
    lines = runs.read_text().splitlines()
    assert lines == [f"a {job.job_id} 1", f"b {job.job_id} 2"]

    _open_gate(tmp_path / "gate.fifo")
    b.expect(moved("b", "processing", "job_done", "waiting"))
    assert b.stop() == 0
    finished = await store.get_job(job.job_id)
    assert finished is not None
    assert finished.status == "completed"
    assert finished.lease_owner is None or finished.lease_owner.startswith("b@")
    assert runs.read_text().splitlines() == lines
    assert again.stop() == 0


async def test_a_resumed_worker_that_still_holds_its_job_runs_it_again(
    tmp_path: Path,
    store: SqliteStore,
    statemachine: Callable[..., MachineProcess],
    shells: list[int],
) -> None:
    """The fence lets through a worker back before its lease ran out (at-least-once)."""
    config = write(
        tmp_path / "worker.yaml",
        (WORKER % {"lost": "job_lost", "error": ""}).replace("lease: 3", "lease: 60"),
    )
    os.mkfifo(tmp_path / "gate.fifo")
    started = Fifo(tmp_path / "started.fifo")
    job = await store.add_job("task", {})
    a = statemachine(config, "--machine-name", "a")
    _crash(a, await started.wait_line(), "a", shells)
    again = statemachine(config, "--machine-name", "a")
    again.expect(re.escape("[a] resumed in 'processing' (re-running its actions)"))
    name, pgid = (await started.wait_line()).split()
    assert name == "a"
    shells.append(int(pgid))
    _open_gate(tmp_path / "gate.fifo")
    again.expect(moved("a", "processing", "job_done", "waiting"))
    assert (tmp_path / "runs.txt").read_text().splitlines() == [
        f"a {job.job_id} 1",
        f"a {job.job_id} 1",
    ]
    assert "without its job" not in "\n".join(again.stderr_lines)
    assert again.stop() == 0
