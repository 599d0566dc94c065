"""Completions carried by the next write (SQLite): a worker's ``complete_job`` reports
success from the lease it holds and commits with the steps after it; a completion the
store refuses at that commit is reported, and a crash before it loses the completion
and its steps together, so the job runs again, never beside another run of itself
(docs/durability.md)."""

from __future__ import annotations

import itertools
import logging
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.database.models.job import JobCompletion, JobStatus, NewJob
from statemachine_engine.database.store import Store
from tests.support.engines import Machines, run_to_end
from tests.support.files import sql, write
from tests.support.processes import MachineProcess, wait_until

#: Cancels the machine's current job through a handle of its own (as an operator would),
#: between the worker's completion and its commit; ``cancelled`` or ``too_late``.
CANCEL_ACTION = """
from statemachine_engine.actions.base import BaseAction
from statemachine_engine.database._sqlite import SqliteStore


class CancelCurrentAction(BaseAction):
    stays_in_process = True  # no commit before it: the completion still waits

    async def execute(self, context):
        operator = SqliteStore(self.get_config_value("db"))
        try:
            cancelled = await operator.cancel_job(context["job_id"])
        finally:
            await operator.close()
        return "cancelled" if cancelled else "too_late"
"""

REFUSED = """
    initial_state: waiting
    final: [done]
    transitions:
      - {from: waiting, to: working, event: new_job}
      - {from: working, to: cancelling, event: job_done}
      - {from: cancelling, to: done, event: cancelled}
      - {from: cancelling, to: failed, event: too_late}
    actions:
      waiting:
        - {type: check_database_queue, job_type: task, wait: 0}
      working:
        - {type: complete_job, success: job_done}
      cancelling:
        - {type: cancel_current, db: "@DB@"}
    """


async def test_a_completion_the_store_refuses_at_its_commit_is_reported(
    tmp_path: Path, db: Path, store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    await refused_at_commit(tmp_path, store, CANCEL_ACTION, str(db), caplog)


async def refused_at_commit(
    tmp_path: Path,
    store: Store,
    cancel_action: str,
    location: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A worker completes its job; ``cancel_action`` (the source of a ``cancel_current``
    action, given the store's ``location``) cancels it before the completion commits."""
    caplog.set_level(logging.INFO, logger="statemachine_engine")
    actions = tmp_path / "actions"
    actions.mkdir()
    (actions / "cancel_current_action.py").write_text(cancel_action)
    await store.add_job("task", job_id="j1")
    assert store.carries_completions

    async with Machines(actions_dir=actions, store=store, machine_name="worker") as machines:
        engine, recorder = machines.build(REFUSED.replace("@DB@", location))
        # The action reported the job completed, and the operator's cancel came before
        # the completion's commit: the commit refused it.
        assert await run_to_end(engine) == "done"

    job = await store.get_job("j1")
    assert job is not None
    assert job.status == JobStatus.CANCELLED
    history = [row["status"] for row in await store.job_history("j1")]
    assert "completed" not in history
    # Reported where the operator and the monitor look, not silently dropped.
    refused = [r for r in caplog.records if getattr(r, "action", None) == "job_completion_refused"]
    assert len(refused) == 1
    assert refused[0].levelno == logging.WARNING
    assert "j1" in refused[0].getMessage()
    kinds = [kind for kind, _ in recorder.others if kind != "action_finished"]
    assert kinds == ["job_started", "job_completion_refused"]


SHORT_LEASE = """
    initial_state: waiting
    final: [done]
    transitions:
      - {from: waiting, to: working, event: new_job}
      - {from: working, to: checking, event: job_done}
      - {from: checking, to: done, event: completed}
    actions:
      waiting:
        - {type: check_database_queue, job_type: task, wait: 0, lease: 5}
      working:
        - {type: complete_job, success: job_done}
      checking:
        - {type: job_status}
    """

#: The job's status as the store has it (read through another handle), as the event.
STATUS_ACTION = """
from statemachine_engine.actions.base import BaseAction
from statemachine_engine.database._sqlite import SqliteStore


class JobStatusAction(BaseAction):
    stays_in_process = True

    async def execute(self, context):
        reader = SqliteStore(self.get_config_value("db"))
        try:
            return (await reader.get_job(context["job_id"])).status
        finally:
            await reader.close()
"""


async def test_a_lease_too_short_to_carry_the_completion_commits_it_before_success(
    tmp_path: Path, db: Path, store: SqliteStore
) -> None:
    actions = tmp_path / "actions"
    actions.mkdir()
    (actions / "job_status_action.py").write_text(STATUS_ACTION)
    await store.add_job("task", job_id="j1")
    config = SHORT_LEASE.replace("{type: job_status}", f'{{type: job_status, db: "{db}"}}')
    async with Machines(actions_dir=actions, store=store, machine_name="worker") as machines:
        engine, _ = machines.build(config)
        assert await run_to_end(engine) == "done"  # committed before the next state ran


# -- a worker killed mid-drain --------------------------------------------------------

#: Runs the job: appends "B <job> <pid> <time>" to a file, completes the job through the
#: port (as complete_job does), then appends "E ..." once that reported success.
RUN_ACTION = """
import os
import time

from statemachine_engine.actions.base import BaseAction


class RunJobAction(BaseAction):
    stays_in_process = True  # no commit before it: completions are carried

    async def execute(self, context):
        path, job_id = self.get_config_value("file"), context["job_id"]
        with open(path, "a") as marks:
            marks.write("B %s %d %.6f\\n" % (job_id, os.getpid(), time.time()))
        if not await self.runtime.complete_job(job_id):
            return "job_lost"
        with open(path, "a") as marks:
            marks.write("E %s %d %.6f\\n" % (job_id, os.getpid(), time.time()))
        return "job_done"
"""

DRAIN = """
    name: Drain worker
    initial_state: waiting
    transitions:
      - {from: waiting, to: processing, event: new_job}
      - {from: waiting, to: waiting, event: no_jobs}
      - {from: processing, to: waiting, event: job_done}
      - {from: processing, to: waiting, event: job_lost}
    actions:
      waiting:
        - {type: check_database_queue, job_type: task, wait: 0.2}
      processing:
        - {type: run_job, file: "@MARKS@"}
    """

JOBS = 3000


def runs(marks: Path) -> dict[str, list[tuple[float, float | None]]]:
    """Each job's runs, ``(began, ended or None)``, from the marks file (a process runs
    a job once: a run that runs again does so in another process)."""
    found: dict[tuple[str, str], list[float | None]] = {}
    for line in marks.read_text().splitlines():
        what, job_id, pid, at = line.split()
        span = found.setdefault((job_id, pid), [None, None])
        span[0 if what == "B" else 1] = float(at)
    by_job: dict[str, list[tuple[float, float | None]]] = defaultdict(list)
    for (job_id, pid), (began, ended) in found.items():
        assert began is not None, f"job {job_id} ended in process {pid} without beginning"
        by_job[job_id].append((began, ended))
    return by_job


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses signals")
async def test_a_worker_killed_mid_drain_loses_no_job_and_no_job_runs_twice_at_once(
    tmp_path: Path,
    db: Path,
    store: SqliteStore,
    statemachine: Callable[..., MachineProcess],
) -> None:
    def worker(config: Path, actions: Path, name: str) -> MachineProcess:
        return statemachine(config, "--db", db, "--machine-name", name, "--actions-dir", actions)

    await kill_mid_drain(tmp_path, store, worker, lambda query: sql(db, query))


#: Starts a worker process: ``(config, actions dir, machine name)``.
StartWorker = Callable[[Path, Path, str], MachineProcess]
#: Runs one SQL statement on the test's store; its rows.
RunSql = Callable[[str], list[Any]]


async def kill_mid_drain(
    tmp_path: Path, store: Store, worker: StartWorker, run_sql: RunSql
) -> None:
    """Two workers drain :data:`JOBS` jobs; one is killed with SIGKILL mid-drain and
    started again under its name; every job completes once, and no two runs of a job
    overlap (:func:`check_runs`)."""
    actions = tmp_path / "actions"
    actions.mkdir()
    (actions / "run_job_action.py").write_text(RUN_ACTION)
    marks = tmp_path / "marks.txt"
    config = write(tmp_path / "drain.yaml", DRAIN.replace("@MARKS@", str(marks)))
    for first in range(0, JOBS, 500):
        await store.add_jobs([NewJob("task", {}, f"j{n:04}") for n in range(first, first + 500)])

    victim, survivor = worker(config, actions, "victim"), worker(config, actions, "survivor")

    def ended() -> int:
        if not marks.exists():
            return 0
        return sum(1 for line in marks.read_text().splitlines() if line.startswith("E "))

    wait_until(lambda: ended() >= 600, timeout=30.0, what="600 jobs run")
    victim.kill()  # SIGKILL, mid-drain: its last completions wait for a commit
    # Its leases would run out in a minute: that minute passes at once.
    run_sql("UPDATE jobs SET lease_expires = 0 WHERE lease_owner LIKE 'victim@%'")
    restarted = worker(config, actions, "victim")  # resumes in the state of its last commit

    def completed() -> int:
        [(count,)] = run_sql("SELECT count(*) FROM jobs WHERE status = 'completed'")
        return int(count)

    wait_until(lambda: completed() == JOBS, timeout=60.0, what=f"{JOBS} jobs completed")
    assert survivor.stop() == 0, survivor.stderr
    assert restarted.stop() == 0, restarted.stderr

    # Nothing lost: every job completed, and each one's history says so once.
    [(completions,)] = run_sql("SELECT count(*) FROM job_history WHERE status = 'completed'")
    assert completions == JOBS
    check_runs(marks)


def check_runs(marks: Path) -> None:
    """Every job ran to its end in the marks file but the run a kill cut short (if it cut
    one short); a run whose completion the kill lost ran again, never beside another run
    of the same job; and only those of the last few dozen turns of the killed worker's
    event loop (what waited for a commit) ran again."""
    by_job = runs(marks)
    assert len(by_job) == JOBS
    assert sum(ended is None for spans in by_job.values() for _, ended in spans) <= 1
    again = 0
    for job_id, spans in by_job.items():
        spans.sort()
        for (_, ended), (began, _) in itertools.pairwise(spans):
            assert ended is None or ended <= began, (job_id, spans)
        again += len(spans) > 1
    assert again <= 64, again


async def closed_with_a_completion_waiting(store: Store, run_sql: RunSql) -> None:
    """A handle closed while a completion waits for its next write commits it first."""
    await store.add_job("task", job_id="j1")
    [job] = await store.claim_jobs("task", "w", limit=1)
    told: list[bool] = []
    store.complete_job_with_next_write(JobCompletion("j1", "w", job.attempts), told.append)
    await store.close()
    assert told == [True]
    assert run_sql("SELECT status FROM jobs WHERE job_id = 'j1'") == [("completed",)]


async def test_a_handle_closed_with_a_completion_waiting_commits_it_first(
    db: Path, store: SqliteStore
) -> None:
    await closed_with_a_completion_waiting(store, lambda query: sql(db, query))
