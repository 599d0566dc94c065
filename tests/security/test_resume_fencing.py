"""Fencing on resume: a worker that lost its job's lease while it was down does not run
the job again when it resumes (issue 13, point 4).

Worker ``a`` (lease 3 s) is SIGKILLed mid-job, ``b`` claims the job once the lease has run
out, ``a`` is started again: it resumes in ``processing`` but, its lease gone, emits the
state's error event instead of re-running the state's actions. Every run of the job's
command appends a line to ``runs.txt``.

The same holds for a machine a claimer started and handed its job to (``start_fsm`` with
``context_vars: [current_job.job_id as job_id]``): restarted with the same command line
after its lease ran out, it does not run the job beside the worker that claimed it since.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from statemachine_engine.database._sqlite import SqliteStore
from tests.support.fifo import Fifo
from tests.support.files import write
from tests.support.pids import Reaper
from tests.support.processes import STATEMACHINE, MachineProcess, moved, run_cli

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


@pytest.mark.parametrize("ran_out", [False, True], ids=["lease-alive", "lease-ran-out"])
async def test_a_resumed_worker_that_still_holds_its_job_runs_it_again(
    tmp_path: Path,
    store: SqliteStore,
    statemachine: Callable[..., MachineProcess],
    shells: list[int],
    ran_out: bool,
) -> None:
    """The fence lets through a worker whose job nobody claimed while it was down
    (at-least-once). If its lease ran out meanwhile, the lease is renewed before the job
    runs again, not a heartbeat later (a third of the lease), when another worker could
    have claimed the job beside the run."""
    config = write(
        tmp_path / "worker.yaml",
        (WORKER % {"lost": "job_lost", "error": ""}).replace("lease: 3", "lease: 60"),
    )
    os.mkfifo(tmp_path / "gate.fifo")
    started = Fifo(tmp_path / "started.fifo")
    job = await store.add_job("task", {})
    worker = f"a@{socket.gethostname()}"
    a = statemachine(config, "--machine-name", "a")
    _crash(a, await started.wait_line(), "a", shells)
    if ran_out:
        await store.renew_leases(worker, -1.0)  # as if a had been down for over 60 s
    again = statemachine(config, "--machine-name", "a")
    again.expect(re.escape("[a] resumed in 'processing' (re-running its actions)"))
    name, pgid = (await started.wait_line()).split()
    assert name == "a"
    shells.append(int(pgid))
    held = await store.get_job(job.job_id)
    assert held is not None
    assert (held.status, held.attempts, held.lease_owner) == ("processing", 1, worker)
    assert held.lease_expires is not None
    assert held.lease_expires > time.time() + 30  # renewed for its 60 s before the run
    _open_gate(tmp_path / "gate.fifo")
    again.expect(moved("a", "processing", "job_done", "waiting"))
    assert (tmp_path / "runs.txt").read_text().splitlines() == [
        f"a {job.job_id} 1",
        f"a {job.job_id} 1",
    ]
    assert "without its job" not in "\n".join(again.stderr_lines)
    assert again.stop() == 0


CONTROLLER = """
    initial_state: checking
    transitions:
      - {from: checking, to: spawning, event: new_job}
      - {from: checking, to: checking, event: no_jobs}
      - {from: spawning, to: done, event: spawned}
    final: [done]
    actions:
      checking:
        - {type: check_database_queue, job_type: task, wait: 30, lease: 3}
      spawning:
        - type: start_fsm
          yaml_path: child.yaml
          machine_name: "child_{current_job.job_id}"
          context_vars: ["current_job.job_id as job_id"]
          success: spawned
"""

CHILD = """
    initial_state: working
    transitions:
      - {from: working, to: completed, event: job_done}
      - {from: working, to: abandoned, event: job_lost}
    final: [abandoned]
    actions:
      working:
        - type: bash
          command: >-
            echo {machine_name} {job_id} >> runs.txt;
            echo {machine_name} $$ $PPID > started.fifo; read line < gate.fifo
"""


def _command_line(pid: int) -> list[str]:
    """The arguments process ``pid`` was started with."""
    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
        return [arg.decode() for arg in cmdline.read().rstrip(b"\0").split(b"\0")]


async def test_a_restarted_child_does_not_rerun_a_job_handed_to_it_and_lost(
    tmp_path: Path,
    store: SqliteStore,
    statemachine: Callable[..., MachineProcess],
    shells: list[int],
    reaper: Reaper,
) -> None:
    """The controller claims (lease 3 s) and hands the job to the child it starts; the
    child is SIGKILLed mid-job, ``b`` claims the job once the child's lease ran out, and
    the child, started again with its command line, gives the job up instead of running
    it again."""
    write(tmp_path / "child.yaml", CHILD)
    controller_config = write(tmp_path / "controller.yaml", CONTROLLER)
    worker = write(tmp_path / "worker.yaml", WORKER % {"lost": "job_lost", "error": ""})
    os.mkfifo(tmp_path / "gate.fifo")
    started = Fifo(tmp_path / "started.fifo")
    runs = tmp_path / "runs.txt"
    job = await store.add_job("task", {})
    child = f"child_{job.job_id}"

    controller = statemachine(controller_config)  # the child logs to its stderr too
    name, pgid, pid = (await started.wait_line()).split()
    assert name == child
    (watched,) = reaper.watch(int(pid))
    argv = _command_line(int(pid))
    assert f"{job.job_id}@1:3" in argv  # the controller's lease, handed on
    os.kill(int(pid), signal.SIGKILL)  # mid-job; its command dies with it
    shells.append(int(pgid))
    assert await watched.ended()
    assert runs.read_text().splitlines() == [f"{child} {job.job_id}"]
    record = await store.load_machine(child)
    assert record is not None
    assert record.context["job_lease"] == {"job_id": job.job_id, "attempt": 1, "lease": 3}

    b = statemachine(worker, "--machine-name", "b")
    b.expect(moved("b", "waiting", "new_job", "processing"))  # once the lease ran out
    name, pgid = (await started.wait_line()).split()
    assert name == "b"
    shells.append(int(pgid))

    again = statemachine(argv=argv)  # the same command line
    again.expect(re.escape(f"[{child}] resumed in 'working'"))
    warning = again.expect(rf"WARNING .*\[{child}\] resumes in 'working' without its job")
    assert f"job {job.job_id} was lost while {child} was down" in warning
    assert "its lease ran out in attempt 1 and attempt 2 now belongs to b@" in warning
    assert "emitting 'job_lost'" in warning
    again.expect(moved(child, "working", "job_lost", "abandoned"))
    assert again.wait() == 0
    # The child did not run the job's command again: b's run is the only other one.
    assert runs.read_text().splitlines() == [f"{child} {job.job_id}", f"b {job.job_id} 2"]

    _open_gate(tmp_path / "gate.fifo")
    b.expect(moved("b", "processing", "job_done", "waiting"))
    assert b.stop() == 0
    finished = await store.get_job(job.job_id)
    assert finished is not None
    assert (finished.status, finished.attempts) == ("completed", 2)
    assert controller.wait() == 0


async def test_a_child_handed_a_job_claimed_again_since_does_not_work_on_it(
    tmp_path: Path, store: SqliteStore, statemachine: Callable[..., MachineProcess]
) -> None:
    """A child that starts after the job's lease ran out (and ``b`` claimed the job) does
    not take it over, nor run the job's command: the fence holds on a first start too."""
    config = write(tmp_path / "child.yaml", CHILD)
    job = await store.add_job("task", {}, job_id="j1")
    assert await store.claim_job("task", "controller@h", lease_seconds=-1.0) is not None
    assert await store.claim_job("task", "b@h", lease_seconds=60.0) is not None

    child = statemachine(
        config,
        "--machine-name",
        "child",
        "--initial-context",
        json.dumps({"job_id": job.job_id}),
        "--take-over-job",
        "j1@1:3",
    )
    child.expect(
        r"WARNING .*job j1 was handed to child@\S+ in attempt 1, but its lease ran out in "
        r"attempt 1 and attempt 2 now belongs to b@h; not taking it"
    )
    warning = child.expect(r"WARNING .*\[child\] starts in 'working' without its job")
    assert "the state's actions are not run, emitting 'job_lost'" in warning
    child.expect(moved("child", "working", "job_lost", "abandoned"))
    assert child.wait() == 0
    assert not (tmp_path / "runs.txt").exists()
    held = await store.get_job("j1")
    assert held is not None
    assert (held.status, held.attempts, held.lease_owner) == ("processing", 2, "b@h")

    bad = run_cli(config, "--take-over-job", "j1@1:soon", cwd=tmp_path, argv=STATEMACHINE)
    assert bad.returncode == 2
    assert "expected JOB_ID@ATTEMPT or JOB_ID@ATTEMPT:LEASE_SECONDS" in bad.stderr
    assert "Traceback" not in bad.stderr
