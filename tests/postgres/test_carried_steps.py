"""Steps carried by the next write on PostgreSQL, as on SQLite: a machine's waiting steps
commit in the transaction of the handle's next write, sent with it in one pipeline
(docs/durability.md). A row's ``xmin`` names the transaction that wrote it, so rows
written together share it.
"""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from statemachine_engine.database._postgres import PostgresStore
from statemachine_engine.errors import StoreError
from tests.integration.test_carried_steps import WORKER, CarriedJob
from tests.support.engines import Machines, run_to_end


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query).fetchall()


async def test_a_worker_commits_each_job_with_the_steps_that_led_to_it(
    store: PostgresStore, url: str
) -> None:
    jobs = 100
    for number in range(jobs):
        await store.add_job("task", {"n": number}, job_id=f"j{number:03}")
    async with Machines(store=store, machine_name="worker") as machines:
        engine, _ = machines.build(WORKER)
        assert await run_to_end(engine) == "stopped"

    steps = rows(url, "SELECT from_state, to_state, job_id FROM state_history ORDER BY id")
    assert len(steps) == 2 * jobs + 2  # the start, two steps per job, the end
    assert steps[1:3] == [("waiting", "processing", "j000"), ("processing", "waiting", "j000")]
    # Each completion (the job's last write) commits with the step into `processing`.
    together = rows(
        url,
        "SELECT count(*) FROM jobs JOIN state_history AS step USING (job_id) "
        "WHERE jobs.status = 'completed' AND step.to_state = 'processing' "
        "AND jobs.xmin = step.xmin",
    )
    assert together == [(jobs,)]
    # About one commit per job (claims come in batches): a commit per step and per
    # store write would be over three.
    [(commits,)] = rows(
        url,
        "SELECT count(DISTINCT xmin::text) FROM (SELECT xmin FROM state_history "
        "UNION ALL SELECT xmin FROM job_history WHERE status <> 'pending') AS written",
    )
    assert commits < 1.5 * jobs, commits


async def test_a_carried_write_commits_with_the_next_write_only_once(
    store: PostgresStore, url: str
) -> None:
    write = CarriedJob()
    store.connector.carry("key", write)
    await store.add_job("task", job_id="next")
    [(carried, following)] = rows(
        url,
        "SELECT (SELECT xmin::text FROM jobs WHERE job_id = 'carried'), "
        "(SELECT xmin::text FROM jobs WHERE job_id = 'next')",
    )
    assert carried is not None
    assert carried == following  # one transaction for both
    await store.add_job("task", job_id="after")
    assert (write.taken, write.outcomes) == (1, ["committed"])


async def test_a_carried_write_that_fails_fails_the_write_and_waits_for_the_next(
    store: PostgresStore,
) -> None:
    write = CarriedJob(bad_first=True)
    store.connector.carry("key", write)
    with pytest.raises(StoreError):
        await store.add_job("task", job_id="first")
    assert await store.get_job("first") is None  # one transaction: nothing of it kept
    await store.add_job("task", job_id="second")
    assert await store.get_job("carried") is not None
    assert await store.get_job("second") is not None
    assert write.outcomes == ["failed", "committed"]


async def test_carried_writes_commit_on_their_own_soon_when_nothing_else_writes(
    store: PostgresStore,
) -> None:
    write = CarriedJob()
    store.connector.carry("key", write)
    store.connector.flush_soon()
    await asyncio.wait_for(write.done.wait(), 5)
    assert await store.get_job("carried") is not None


async def test_a_read_does_not_carry_what_waits(store: PostgresStore) -> None:
    write = CarriedJob()
    store.connector.carry("key", write)
    assert await store.get_job("carried") is None
    assert write.taken == 0
    await store.connector.flush()
    assert write.outcomes == ["committed"]
