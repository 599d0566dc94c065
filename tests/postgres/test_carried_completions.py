"""Completions carried by the next write on PostgreSQL, as on SQLite: a worker's
``complete_job`` reports success from the lease it holds and commits with the steps
after it; a completion the server refuses at that commit is reported, and a worker
killed before it loses the completion and its steps together, so the job runs again,
never beside another run of itself (docs/durability.md)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import psycopg
import pytest

from statemachine_engine.database._postgres import PostgresStore
from statemachine_engine.database.models.job import JobCompletion, JobStatus, NewJob
from tests.integration.test_carried_completions import (
    DRAIN,
    JOBS,
    REFUSED,
    RUN_ACTION,
    check_runs,
)
from tests.postgres.conftest import Host
from tests.support.engines import Machines, run_to_end
from tests.support.files import write
from tests.support.processes import wait_until

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


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(query)
        return cursor.fetchall() if cursor.description else []


async def test_the_server_refusing_a_carried_completion_at_its_commit_is_reported(
    tmp_path: Path, url: str, store: PostgresStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="statemachine_engine")
    actions = tmp_path / "actions"
    actions.mkdir()
    (actions / "cancel_current_action.py").write_text(CANCEL_ACTION)
    await store.add_job("task", job_id="j1")
    assert store.carries_completions

    async with Machines(actions_dir=actions, store=store, machine_name="worker") as machines:
        engine, recorder = machines.build(REFUSED.replace("@DB@", url))
        assert await run_to_end(engine) == "done"

    job = await store.get_job("j1")
    assert job is not None
    assert job.status == JobStatus.CANCELLED
    assert "completed" not in [row["status"] for row in await store.job_history("j1")]
    refused = [r for r in caplog.records if getattr(r, "action", None) == "job_completion_refused"]
    assert len(refused) == 1
    assert refused[0].levelno == logging.WARNING
    kinds = [kind for kind, _ in recorder.others if kind != "action_finished"]
    assert kinds == ["job_started", "job_completion_refused"]


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
    tmp_path: Path, url: str, store: PostgresStore, hosts: type[Host]
) -> None:
    host = hosts("one")
    actions = tmp_path / "actions"
    actions.mkdir()
    (actions / "run_job_action.py").write_text(RUN_ACTION)
    marks = tmp_path / "marks.txt"
    config = write(tmp_path / "drain.yaml", DRAIN.replace("@MARKS@", str(marks)))
    for first in range(0, JOBS, 500):
        await store.add_jobs([NewJob("task", {}, f"j{n:04}") for n in range(first, first + 500)])

    def worker(name: str):  # type: ignore[no-untyped-def]
        return host.run(config, "--machine-name", name, "--actions-dir", actions)

    victim, survivor = worker("victim"), worker("survivor")

    def ended() -> int:
        if not marks.exists():
            return 0
        return sum(1 for line in marks.read_text().splitlines() if line.startswith("E "))

    wait_until(lambda: ended() >= 600, timeout=30.0, what="600 jobs run")
    victim.kill()  # SIGKILL, mid-drain: its last completions wait for a commit
    rows(url, "UPDATE jobs SET lease_expires = 0 WHERE lease_owner LIKE 'victim@%'")
    restarted = worker("victim")

    def completed() -> int:
        [(count,)] = rows(url, "SELECT count(*) FROM jobs WHERE status = 'completed'")
        return int(count)  # type: ignore[call-overload]

    wait_until(lambda: completed() == JOBS, timeout=60.0, what=f"{JOBS} jobs completed")
    assert survivor.stop() == 0, survivor.stderr
    assert restarted.stop() == 0, restarted.stderr

    [(completions,)] = rows(url, "SELECT count(*) FROM job_history WHERE status = 'completed'")
    assert completions == JOBS
    check_runs(marks)
