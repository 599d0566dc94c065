"""Steps carried by the next write: on SQLite a machine's waiting steps commit in the
transaction of whatever the process writes next (an action's claim, completion or sent
event), and so do its completions, so a worker pays a commit every several jobs, and no
effect precedes the steps behind it (docs/durability.md).

What is committed is read from the SQLite file as another process would see it, and each
transaction's statements are traced on the store's own connection.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from statemachine_engine.database._carry import CARRY_MOST
from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.database.store import Store
from tests.support.engines import Machines, run_to_end
from tests.support.files import sql


class Transactions:
    """The statements of each transaction the store's connection commits."""

    def __init__(self, store: SqliteStore) -> None:
        self.committed: list[list[str]] = []
        self._open: list[str] = []
        store.connector._conn.set_trace_callback(self._trace)  # type: ignore[attr-defined]

    def _trace(self, statement: str) -> None:
        if statement == "BEGIN IMMEDIATE":
            self._open = []
        elif statement == "COMMIT":
            self.committed.append(self._open)
        else:
            self._open.append(statement)

    def writing(self, table: str, what: str = "INSERT INTO") -> list[list[str]]:
        return [t for t in self.committed if self.inserting(t, table, what)]

    @staticmethod
    def inserting(statements: list[str], table: str, what: str = "INSERT INTO") -> list[str]:
        return [s for s in statements if re.match(rf"\s*{what} {table}\b", s)]


WORKER = """
    initial_state: waiting
    transitions:
      - {from: waiting, to: processing, event: new_job}
      - {from: processing, to: waiting, event: job_done}
      - {from: waiting, to: stopped, event: no_jobs}
    actions:
      waiting:
        - {type: check_database_queue, job_type: task, wait: 0}
      processing:
        - {type: complete_job, success: job_done}
    """


async def add_tasks(store: Store, jobs: int) -> None:
    """Queue ``jobs`` zero-work jobs of type ``task``: j000, j001..."""
    for number in range(jobs):
        await store.add_job("task", {"n": number}, job_id=f"j{number:03}")


async def run_worker(store: Store) -> None:
    """Run :data:`WORKER` (as ``worker``) until the queue is empty."""
    async with Machines(store=store, machine_name="worker") as machines:
        engine, _ = machines.build(WORKER)
        assert await run_to_end(engine) == "stopped"


async def test_a_worker_commits_each_job_with_the_steps_that_led_to_it(
    store: SqliteStore, db: Path
) -> None:
    jobs = 200
    await add_tasks(store, jobs)
    transactions = Transactions(store)
    await run_worker(store)

    [(completed,)] = sql(db, "SELECT count(*) FROM jobs WHERE status = 'completed'")
    assert completed == jobs
    rows = sql(db, "SELECT from_state, to_state, job_id FROM state_history ORDER BY id")
    assert len(rows) == 2 * jobs + 2  # the start, two steps per job, the end
    assert rows[1:3] == [("waiting", "processing", "j000"), ("processing", "waiting", "j000")]
    # Each completion commits with the step into `processing` that ran it, or after it:
    # never before (the completions of a process wait after the steps waiting then).
    stepped: set[str] = set()
    completed_ids: list[str] = []
    for statements in transactions.committed:
        for statement in transactions.inserting(statements, "state_history"):
            stepped.update(JOB_ID.findall(statement))
        for statement in transactions.inserting(statements, "jobs", "UPDATE"):
            if "'completed'" in statement:
                ids = JOB_ID.findall(statement)
                assert set(ids) <= stepped, (ids, stepped)
                completed_ids.extend(ids)
    assert sorted(completed_ids) == [f"j{number:03}" for number in range(jobs)]
    # Completions are carried too: a transaction every several jobs (claims come in
    # batches, and the completions and steps between two claims commit with the next).
    assert len(transactions.committed) < 0.5 * jobs, len(transactions.committed)


JOB_ID = re.compile(r"\bj\d{3}\b")


class CarriedJob:
    """A write carried by the store's next transaction: it adds job ``carried``."""

    def __init__(self, bad_first: bool = False, job_id: str = "carried") -> None:
        self.job_id = job_id
        self.bad = bad_first
        self.taken = 0
        self.outcomes: list[str] = []
        self.done = asyncio.Event()

    def take(self) -> tuple[str, Mapping[str, Any]]:
        self.taken += 1
        bad, self.bad = self.bad, False
        return "insert_job", {
            "job_id": None if bad else self.job_id,  # NOT NULL: the whole transaction fails
            "job_type": "task",
            "machine_type": None,
            "priority": 0,
            "data": "{}",
            "max_attempts": 3,
            "run_after": time.time(),
            "source_job_id": None,
            "traceparent": None,
            "now": time.time(),
        }

    def committed(self, result: object = None) -> None:
        self.outcomes.append("committed")
        self.done.set()

    def failed(self) -> None:
        self.outcomes.append("failed")


async def test_a_carried_write_commits_with_the_next_write_only_once(store: SqliteStore) -> None:
    write = CarriedJob()
    store.connector.carry("key", write)  # type: ignore[attr-defined]
    transactions = Transactions(store)
    await store.add_job("task", job_id="next")
    assert await store.get_job("carried") is not None
    [statements] = transactions.committed  # one transaction for both, the carried first
    inserted = transactions.inserting(statements, "jobs")
    assert len(inserted) == 2
    assert "'carried'" in inserted[0]
    assert "'next'" in inserted[1]
    await store.add_job("task", job_id="after")
    assert (write.taken, write.outcomes) == (1, ["committed"])


async def test_more_carried_writes_than_one_transaction_holds_all_commit_soon(
    store: SqliteStore,
) -> None:
    writes = [CarriedJob(job_id=f"c{number}") for number in range(3 * CARRY_MOST + 5)]
    for write in writes:
        store.connector.carry(write, write)  # type: ignore[attr-defined]
    transactions = Transactions(store)
    store.connector.flush_soon()  # type: ignore[attr-defined]
    await asyncio.wait_for(asyncio.gather(*(write.done.wait() for write in writes)), 10)
    assert len(transactions.committed) == 4
    assert [len(transactions.inserting(t, "jobs")) for t in transactions.committed] == [
        CARRY_MOST
    ] * 3 + [5]


async def test_an_action_s_failure_is_logged_after_the_step_into_its_state(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="statemachine_engine")
    async with Machines(store=store, machine_name="worker") as machines:
        engine, _ = machines.build(
            WORKER.replace("wait: 0}", "wait: 0, prefetch: lots}").replace(
                "{from: waiting, to: stopped, event: no_jobs}",
                "{from: waiting, to: stopped, event: no_jobs}\n      "
                "- {from: waiting, to: stopped, event: error}",
            )
        )
        assert await run_to_end(engine) == "stopped"
    lines = [
        record.getMessage()
        for record in caplog.records
        if getattr(record, "action", None) in ("transition", "action_failed")
    ]
    assert lines == [
        "[worker] --start--> waiting",
        "[worker] action check_database_queue in 'waiting' failed: "
        "prefetch must be a whole number of 0 or more, not 'lots'",
        "[worker] waiting --error--> stopped",
    ]
