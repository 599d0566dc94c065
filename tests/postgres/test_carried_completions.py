"""Completions carried by the next write on PostgreSQL, as on SQLite: a worker's
``complete_job`` reports success from the lease it holds and commits with the steps
after it; a completion the server refuses at that commit is reported, and a worker
killed before it loses the completion and its steps together, so the job runs again,
never beside another run of itself (docs/durability.md)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from statemachine_engine.database._postgres import PostgresStore
from statemachine_engine.database.models.job import JobCompletion, NewJob
from tests.integration.test_carried_completions import (
    closed_with_a_completion_waiting,
    kill_mid_drain,
    refused_at_commit,
)
from tests.postgres.conftest import Host
from tests.postgres.test_carried_steps import rows
from tests.support.processes import MachineProcess

#: Cancels the machine's current job through a handle of its own (as an operator would),
#: between the worker's completion and its commit; ``cancelled`` or ``too_late``. The
#: operator's handle runs in a thread the action waits for without yielding: connecting
#: in the worker's own loop would leave it idle, and an idle worker commits what waits.
CANCEL_ACTION = """
import asyncio
import threading

from statemachine_engine.actions.base import BaseAction
from statemachine_engine.database import open_store


async def cancel(url, job_id):
    operator = open_store(url)
    try:
        return await operator.cancel_job(job_id)
    finally:
        await operator.close()


class CancelCurrentAction(BaseAction):
    stays_in_process = True  # no commit before it: the completion still waits

    async def execute(self, context):
        url, job_id, done = self.get_config_value("db"), context["job_id"], []
        thread = threading.Thread(target=lambda: done.append(asyncio.run(cancel(url, job_id))))
        thread.start()
        thread.join()
        return "cancelled" if done[0] else "too_late"
"""


async def test_the_server_refusing_a_carried_completion_at_its_commit_is_reported(
    tmp_path: Path, url: str, store: PostgresStore, caplog: pytest.LogCaptureFixture
) -> None:
    await refused_at_commit(tmp_path, store, CANCEL_ACTION, url, caplog)


async def test_completions_and_a_claim_in_one_transaction_each_get_their_own_rows(
    url: str, store: PostgresStore
) -> None:
    """The carried completions and the claim carrying them go as two statements of one
    pipeline: each is handed its own result."""
    await store.add_jobs([NewJob("task", {}, job_id) for job_id in ("a", "b", "c")])
    held = await store.claim_jobs("task", "w", limit=2)
    assert [job.job_id for job in held] == ["a", "b"]
    told: dict[str, bool] = {}
    for job in held:
        store.complete_job_with_next_write(
            JobCompletion(job.job_id, "w", job.attempts),
            lambda done, job_id=job.job_id: told.__setitem__(job_id, done),
        )
    # Cancelled by an operator meanwhile, as the monitor does to a running job.
    rows(url, "UPDATE jobs SET status = 'cancelled', lease_owner = NULL WHERE job_id = 'b'")
    claimed = await store.claim_jobs("task", "w", limit=5)  # carries the completions
    assert [job.job_id for job in claimed] == ["c"]
    assert told == {"a": True, "b": False}
    [(a_xmin, c_xmin)] = rows(
        url,
        "SELECT (SELECT xmin::text FROM jobs WHERE job_id = 'a'), "
        "(SELECT xmin::text FROM jobs WHERE job_id = 'c')",
    )
    assert a_xmin == c_xmin  # one transaction
    assert rows(url, "SELECT status FROM jobs WHERE job_id = 'b'") == [("cancelled",)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses signals")
async def test_a_worker_killed_mid_drain_loses_no_job_and_no_job_runs_twice_at_once(
    tmp_path: Path, url: str, store: PostgresStore, hosts: Callable[[str], Host]
) -> None:
    host = hosts("one")

    def worker(config: Path, actions: Path, name: str) -> MachineProcess:
        return host.run(config, "--machine-name", name, "--actions-dir", actions)

    await kill_mid_drain(tmp_path, store, worker, lambda query: rows(url, query))


async def test_a_handle_closed_with_a_completion_waiting_commits_it_first(
    url: str, store: PostgresStore
) -> None:
    await closed_with_a_completion_waiting(store, lambda query: rows(url, query))
