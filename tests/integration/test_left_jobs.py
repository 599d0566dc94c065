"""A worker killed while it held jobs (claimed ahead, or the one it worked on) leaves
them to their leases only until its next run on the host takes the name: that run knows
the process is gone and puts them back in the queue at once, attempts counted, as their
leases running out would. Jobs of other workers, and the one a resumed run holds again,
stay as they are."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from statemachine_engine.database._names import worker_id
from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.database.models.job import Job
from tests.support.files import write
from tests.support.processes import MachineProcess

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses signals")

#: Checks for `a` jobs only: the `b` jobs claimed in its name stay as the test left them.
WORKER = """
name: Worker
initial_state: waiting
events: [new_job, no_jobs]
transitions:
  - {from: waiting, to: waiting, event: no_jobs}
  - {from: waiting, to: waiting, event: new_job}
actions:
  waiting:
    - {type: check_database_queue, job_type: a, wait: 3600}
"""


@pytest.fixture
def start(
    statemachine: Callable[..., MachineProcess], db: Path, tmp_path: Path
) -> Callable[[], MachineProcess]:
    """``start()`` runs the worker ``w`` on ``db``."""
    config = write(tmp_path / "worker.yaml", WORKER)
    return lambda: statemachine(config, "--machine-name", "w", "--db", db)


async def run_holding(
    store: SqliteStore, start: Callable[[], MachineProcess], *, jobs: int
) -> tuple[MachineProcess, list[Job]]:
    """A run of ``w`` in its first state, and ``jobs`` `b` jobs processing in its name,
    as if it had claimed them ahead."""
    run = start()
    run.expect(r"\[w\] --start--> waiting")
    for number in range(jobs):
        await store.add_job("b", {"n": number}, job_id=f"b{number}")
    return run, await store.claim_jobs("b", worker_id("w"), limit=jobs)


async def test_the_next_run_puts_back_what_a_killed_run_held(
    store: SqliteStore, start: Callable[[], MachineProcess]
) -> None:
    first, held = await run_holding(store, start, jobs=2)
    await store.add_job("b", {}, job_id="theirs")
    [others] = await store.claim_jobs("b", worker_id("other"), limit=1)
    first.kill()

    second = start()
    line = second.expect("its killed run held went back to the queue")
    assert "[w] 2 jobs its killed run held" in line
    second.expect(r"\[w\] resumed in 'waiting'")
    for job in held:
        again = await store.get_job(job.job_id)
        assert again is not None
        assert (again.status, again.attempts, again.lease_owner) == ("pending", 1, None)
        assert again.error == f"worker {worker_id('w')} was killed"
        history = await store.job_history(job.job_id)
        assert [(row["status"], row["message"]) for row in history][-1] == (
            "pending",
            "worker killed: released by its next run",
        )
    untouched = await store.get_job(others.job_id)
    assert untouched is not None
    assert (untouched.status, untouched.lease_owner) == ("processing", worker_id("other"))
    assert second.stop() == 0


async def test_a_run_stopped_cleanly_leaves_nothing_to_put_back(
    store: SqliteStore, start: Callable[[], MachineProcess]
) -> None:
    first, [job] = await run_holding(store, start, jobs=1)
    assert first.stop() == 0  # its record says stopped: no killed run to clean up after

    second = start()
    second.expect(r"\[w\] (resumed in 'waiting'|--start--> waiting)")
    assert second.stop() == 0
    assert "went back to the queue" not in second.stderr
    again = await store.get_job(job.job_id)
    assert again is not None
    assert (again.status, again.lease_owner) == ("processing", worker_id("w"))
