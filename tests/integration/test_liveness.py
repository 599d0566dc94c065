"""Nothing stalls: every event committed to a running machine's inbox reaches it, a name
runs once per store, and a job handed to a spawned machine is completed by it.

Real ``statemachine`` processes share the test's SQLite file (``STATEMACHINE_DB``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from statemachine_engine.core._jobs import JobTracker
from statemachine_engine.database._sqlite import SqliteStore
from tests.support.files import write
from tests.support.processes import STATEMACHINE, MachineProcess, moved, run_cli

StartMachine = Callable[..., MachineProcess]
DB_CLI = [sys.executable, "-m", "statemachine_engine.database.cli"]

SINK = """
initial_state: idle
transitions:
  - {from: idle, to: idle, event: ping}
  - {from: "*", to: stopped, event: stop}
"""


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[..., MachineProcess]]:
    """``run(*args, env={...})``: ``statemachine`` with extra environment variables."""
    started: list[MachineProcess] = []

    def run(*args: str | Path, env: dict[str, str] | None = None) -> MachineProcess:
        process = MachineProcess(
            [*STATEMACHINE, *args], cwd=tmp_path, env={**os.environ, **(env or {})}
        )
        started.append(process)
        return process

    try:
        yield run
    finally:
        for process in started:
            process.close()


def test_an_event_reaches_a_machine_listening_under_another_prefix(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    """The sender needs no prefix: it wakes the address the machine recorded."""
    (tmp_path / "run").mkdir(mode=0o700)
    sink = statemachine(write(tmp_path / "sink.yaml", SINK), "--control-socket-prefix", "run/ctl")
    sink.expect(moved("sink", None, "start", "idle"))
    assert (tmp_path / "run" / "ctl-sink.sock").exists()
    sent = run_cli("send-event", "--target", "sink", "--type", "ping", cwd=tmp_path, argv=DB_CLI)
    assert sent.returncode == 0, sent.stderr
    sink.expect(moved("sink", "idle", "ping", "idle"))
    assert sink.stop() == 0


def test_an_event_whose_wake_up_never_comes_is_handled(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    """An event committed with no wake-up at all (a dropped datagram, a sender that died
    after its commit) is found by the host's inbox watch, in a lone machine and in a
    process hosting several."""
    config = write(tmp_path / "sink.yaml", SINK)
    lone = statemachine(config)
    lone.expect(moved("sink", None, "start", "idle"))
    hosted = statemachine(config, "--instances", "3", "--machine-name", "many")
    for n in (1, 2, 3):
        hosted.expect(moved(f"many_00{n}", None, "start", "idle"))

    async def commit_silently() -> None:
        store = SqliteStore(os.environ["STATEMACHINE_DB"])
        try:
            await store.send_event("sink", "ping")  # the store alone: nobody is woken
            await store.send_event("many_002", "ping")
        finally:
            await store.close()

    # First a ping sent as usual: each process has read its inboxes and follows them.
    for target, process in (("sink", lone), ("many_002", hosted)):
        sent = run_cli(
            "send-event", "--target", target, "--type", "ping", cwd=tmp_path, argv=DB_CLI
        )
        assert sent.returncode == 0, sent.stderr
        process.expect(moved(target, "idle", "ping", "idle"))
    asyncio.run(commit_silently())
    lone.expect(moved("sink", "idle", "ping", "idle"))
    hosted.expect(moved("many_002", "idle", "ping", "idle"))
    assert lone.stop() == 0
    assert hosted.stop() == 0


def test_a_name_runs_once_per_store_whatever_the_socket_directory(
    tmp_path: Path, processes: Callable[..., MachineProcess]
) -> None:
    config = write(tmp_path / "sink.yaml", SINK)
    first = processes(config, env={"STATEMACHINE_SOCKET_DIR": str(tmp_path / "a")})
    first.expect(moved("sink", None, "start", "idle"))
    second = processes(config, env={"STATEMACHINE_SOCKET_DIR": str(tmp_path / "b")})
    assert second.wait() == 1
    assert "machine 'sink' is already running against" in second.stderr
    assert f"pid {first.proc.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    assert first.stop() == 0
    # Its holder stopped: the name is free again.
    third = processes(config, env={"STATEMACHINE_SOCKET_DIR": str(tmp_path / "b")})
    third.expect(r"\[sink\] resumed in 'idle'")
    third.close()


def test_a_killed_holder_frees_its_name_at_once(tmp_path: Path, statemachine: StartMachine) -> None:
    config = write(tmp_path / "sink.yaml", SINK)
    first = statemachine(config)
    first.expect(moved("sink", None, "start", "idle"))
    first.kill()
    second = statemachine(config)
    second.expect(r"\[sink\] resumed in 'idle'")
    assert second.stop() == 0


def test_two_stores_run_the_same_name_side_by_side(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    config = write(tmp_path / "sink.yaml", SINK)
    one = statemachine(config, "--db", tmp_path / "one.db")
    two = statemachine(config, "--db", tmp_path / "two.db")
    one.expect(moved("sink", None, "start", "idle"))
    two.expect(moved("sink", None, "start", "idle"))
    for store, machine in (("one.db", one), ("two.db", two)):
        sent = run_cli(
            "send-event",
            "--db",
            store,
            "--target",
            "sink",
            "--type",
            "ping",
            cwd=tmp_path,
            argv=DB_CLI,
        )
        assert sent.returncode == 0, sent.stderr
        machine.expect(moved("sink", "idle", "ping", "idle"))
    assert one.count("--ping-->") == 1
    assert two.count("--ping-->") == 1
    assert one.stop() == 0
    assert two.stop() == 0


CONTROLLER = """
initial_state: checking
transitions:
  - {{from: checking, to: spawning, event: new_job}}
  - {{from: checking, to: waiting, event: no_jobs}}
  - {{from: spawning, to: checking, event: spawned}}
  - {{from: waiting, to: waiting, event: still_running}}
  - {{from: waiting, to: completed, event: all_jobs_complete}}
  - {{from: waiting, to: failed, event: jobs_timeout}}
final: [failed]
actions:
  checking:
    - {{type: check_database_queue, job_type: task, wait: 0.3}}
  spawning:
    - {{type: add_to_list, list: tracked_jobs, value: "{{current_job.job_id}}"}}
    - type: start_fsm
      yaml_path: "{child}"
      machine_name: "task_{{current_job.job_id}}"
      context_vars: ["current_job.job_id as job_id"]
      in_process: {in_process}
      success: spawned
  waiting:
    - {{type: wait_for_jobs, wait: 5, timeout: 30, pending: still_running}}
  completed:
    - {{type: log, message: "done: {{completed_jobs|length}} failed: {{failed_jobs|length}}"}}
"""

CHILD = """
initial_state: working
transitions:
  - {from: working, to: completed, event: done}
  - {from: working, to: failed, event: error}
final: [failed]
actions:
  working:
    - type: complete_job
      job_id: "{job_id}"
      result: {by: "{machine_name}"}
      success: done
"""


@pytest.mark.parametrize("in_process", [False, True], ids=["processes", "in-process"])
def test_a_job_handed_to_a_spawned_machine_is_completed_by_it(
    tmp_path: Path, statemachine: StartMachine, in_process: bool
) -> None:
    """The earlier implementation's concurrent pattern: the controller claims, the child
    it starts with the job's id completes the job."""
    child = write(tmp_path / "child.yaml", CHILD)
    controller = write(
        tmp_path / "controller.yaml",
        CONTROLLER.format(child=child, in_process="true" if in_process else "false"),
    )
    ids = [f"j{n}" for n in range(4)]

    async def add_jobs() -> None:
        store = SqliteStore(os.environ["STATEMACHINE_DB"])
        try:
            for job_id in ids:
                await store.add_job("task", {"n": job_id}, job_id=job_id)
        finally:
            await store.close()

    asyncio.run(add_jobs())
    machine = statemachine(controller)
    machine.expect(r"\[controller\] done: 4 failed: 0")
    assert machine.wait() == 0

    async def jobs() -> list[tuple[str, object]]:
        store = SqliteStore(os.environ["STATEMACHINE_DB"])
        try:
            found = [await store.get_job(job_id) for job_id in ids]
            return [(job.status, job.result) for job in found if job is not None]
        finally:
            await store.close()

    assert asyncio.run(jobs()) == [("completed", {"by": f"task_{job_id}"}) for job_id in ids]


async def test_a_holder_whose_lease_ran_out_cannot_finish_the_next_attempt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Fencing by attempt, and a log line that says why."""
    store = SqliteStore(tmp_path / "fence.db")
    try:
        await store.add_job("task", job_id="j1")
        stale, live = JobTracker("a@h"), JobTracker("b@h")
        lost = await store.claim_job("task", stale.worker, lease_seconds=-1.0)
        assert lost is not None
        stale.adopt(lost, {})
        again = await store.claim_job("task", live.worker, lease_seconds=30)
        assert again is not None
        live.adopt(again, {})
        with caplog.at_level(logging.WARNING, logger="statemachine_engine.jobs"):
            assert not await stale.release(store, "j1")
            assert not await stale.release(store, "j1", error="late failure")
        reasons = [r.getMessage() for r in caplog.records if r.action == "job_release_refused"]
        assert reasons
        assert "its lease ran out in attempt 1 and attempt 2 now belongs to b@h" in reasons[0]
        job = await store.get_job("j1")
        assert job is not None
        assert (job.status, job.attempts, job.lease_owner) == ("processing", 2, "b@h")
        assert await live.release(store, "j1")
    finally:
        await store.close()
