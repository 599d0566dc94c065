"""Steps carried by the next write on PostgreSQL, as on SQLite: a machine's waiting steps
commit in the transaction of the handle's next write, sent with it in one pipeline
(docs/durability.md). A row's ``xmin`` names the transaction that wrote it, so rows
written together share it.
"""

from __future__ import annotations

import psycopg

from statemachine_engine.database._postgres import PostgresStore
from tests.integration.test_carried_steps import CarriedJob, add_tasks, run_worker


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    """Run ``query`` on the schema of ``url``, in a session of its own; its rows (none
    for a statement that returns none)."""
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(query)
        return cursor.fetchall() if cursor.description else []


async def test_a_worker_commits_each_job_with_the_steps_that_led_to_it(
    store: PostgresStore, url: str
) -> None:
    jobs = 100
    await add_tasks(store, jobs)
    await run_worker(store)

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


async def test_a_read_does_not_carry_what_waits(store: PostgresStore) -> None:
    write = CarriedJob()
    store.connector.carry("key", write)
    assert await store.get_job("carried") is None
    assert write.taken == 0
    await store.connector.flush()
    assert write.outcomes == ["committed"]
