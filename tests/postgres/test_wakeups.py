"""Job and realtime wake-ups are sent only while some process waits for them.

(A NOTIFY costs every listening session of the database a transaction, so schema
version 2 announces these topics only to registered waiters; see
``schema/postgres/0002_watchers.sql``.) A waiter's first wait registers its session
and returns at once, telling it to look at the store again; from then on every change
wakes it. Each wait below has a long timeout: a missing wake-up makes it return False.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest

from statemachine_engine.database._postgres import PostgresStore
from statemachine_engine.database._postgres_listener import CHANNEL
from statemachine_engine.database._wakeup import JOBS, REALTIME
from statemachine_engine.database.models.job import JobCompletion, NewJob

WAIT_SECONDS = 30.0


@pytest.fixture
async def other(url: str) -> AsyncIterator[PostgresStore]:
    """A second handle on the schema: another process, as far as the server knows."""
    handle = PostgresStore(url)
    try:
        yield handle
    finally:
        await handle.close()


async def watchers(store: PostgresStore) -> list[str]:
    rows = (
        await store.connector.run_sql("SELECT topic FROM statemachine_watchers ORDER BY topic")
    ).rows
    return [row["topic"] for row in rows]


async def registered_wait(store: PostgresStore, topic: str) -> asyncio.Future[bool]:
    """Register for ``topic``, then start a wait for its next wake-up."""
    listener = await store.listener()
    assert await listener.wait(topic, listener.mark(topic), WAIT_SECONDS), "registration"
    return asyncio.ensure_future(listener.wait(topic, listener.mark(topic), WAIT_SECONDS))


async def test_a_worker_waiting_for_jobs_hears_one_added(
    store: PostgresStore, other: PostgresStore
) -> None:
    waiting = await registered_wait(store, JOBS)
    assert await watchers(other) == [JOBS]
    await other.add_job("task")
    assert await waiting


async def test_a_waiter_hears_a_job_finish(store: PostgresStore, other: PostgresStore) -> None:
    await other.add_job("task", job_id="j1")
    assert await other.claim_job("task", "w1") is not None
    waiting = await registered_wait(store, JOBS)
    assert await other.complete_job("j1", worker="w1")
    assert await waiting


async def test_a_follower_hears_realtime_events(store: PostgresStore, other: PostgresStore) -> None:
    waiting = await registered_wait(store, REALTIME)
    await other.record_realtime("m1", "state_change", {"to_state": "b"})
    assert await waiting


async def test_nobody_waiting_means_no_job_or_realtime_notifications(
    url: str, store: PostgresStore
) -> None:
    """Only the inbox event, sent last, is announced (notifications arrive in order)."""
    schema = (await store.connector.run_sql("SELECT current_schema() AS name")).rows[0]["name"]
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as raw:
        await raw.execute(f"LISTEN {CHANNEL}")
        await store.add_job("task", job_id="j1")
        assert await store.claim_job("task", "w1") is not None
        assert await store.complete_job("j1", worker="w1")
        await store.record_realtime("m1", "state_change", {})
        await store.send_event("m1", "go")
        heard = []
        async for notify in raw.notifies(timeout=WAIT_SECONDS):
            if notify.payload.startswith(f"{schema}\t"):
                heard.append(notify.payload.split("\t", 1)[1])
                if heard[-1].startswith("machine:"):
                    break
    assert heard == ["machine:m1"]


async def test_a_closed_handle_leaves_no_registration(url: str, other: PostgresStore) -> None:
    store = PostgresStore(url)
    (await registered_wait(store, JOBS)).cancel()
    (await registered_wait(store, REALTIME)).cancel()
    assert await watchers(other) == [JOBS, REALTIME]
    await store.close()
    assert await watchers(other) == []


async def test_registrations_of_sessions_that_are_gone_are_removed(
    store: PostgresStore, other: PostgresStore
) -> None:
    """A killed process cannot unregister: the next registration clears its row."""
    await other.connector.run_sql(
        "INSERT INTO statemachine_watchers (topic, pid, since) VALUES ('jobs', 0, 0)"
    )
    (await registered_wait(store, REALTIME)).cancel()
    assert await watchers(other) == [REALTIME]


async def test_a_job_added_with_psql_from_another_search_path_wakes_a_waiter(
    store: PostgresStore,
) -> None:
    """The triggers read the registrations of their own schema, whoever writes."""
    from tests.support.postgres import server_url

    schema = (await store.connector.run_sql("SELECT current_schema() AS name")).rows[0]["name"]
    waiting = await registered_wait(store, JOBS)
    async with await psycopg.AsyncConnection.connect(server_url(), autocommit=True) as psql:
        await psql.execute(
            f'INSERT INTO "{schema}".jobs (job_id, job_type, run_after, created_at, updated_at)'
            " VALUES ('by-hand', 'task', 0, 0, 0)"
        )
    assert await waiting


async def test_the_wake_up_triggers_change_no_setting_at_each_call(store: PostgresStore) -> None:
    """Schema version 15: a function with a SET clause saves, sets and restores the
    setting at every call, a job's completion included; the triggers name their
    schema's table in their text instead (the search_path test above: still the
    right table whoever writes)."""
    rows = (
        await store.connector.run_sql(
            "SELECT proname, proconfig FROM pg_proc"
            " WHERE pronamespace = current_schema()::regnamespace"
            " AND proname LIKE 'statemachine_notify_%%' ORDER BY proname"
        )
    ).rows
    assert [(row["proname"], row["proconfig"]) for row in rows] == [
        ("statemachine_notify_inbox", None),
        ("statemachine_notify_jobs", None),
        ("statemachine_notify_realtime", None),
    ]


async def test_claims_and_renewals_wake_nobody_and_finished_jobs_wake_the_waiters(
    url: str, store: PostgresStore, other: PostgresStore
) -> None:
    """The jobs' trigger notifies only when a job leaves or never reaches ``processing``
    (a worker's claims and renewals would wake every waiter for nothing). The server
    delivers notifications in commit order, so a realtime event recorded after the claim
    and the renewal, heard first, says that they sent none."""
    await other.add_jobs([NewJob("task", {}, f"j{n}") for n in range(3)])
    jobs_waiting = await registered_wait(store, JOBS)
    realtime_waiting = await registered_wait(store, REALTIME)
    with psycopg.connect(url, autocommit=True) as listening:
        listening.execute(f"LISTEN {CHANNEL}")
        claimed = await other.claim_jobs("task", "w1", limit=3)
        assert len(claimed) == 3
        assert await other.renew_leases("w1", 60.0) == 3
        await other.record_realtime("m1", "state_change", {"to_state": "b"})
        done = await other.complete_jobs(
            [JobCompletion(j.job_id, "w1", j.attempts) for j in claimed]
        )
        assert done == [True, True, True]
        heard = [
            note.payload.rsplit("\t", 1)[1]
            for note in listening.notifies(timeout=WAIT_SECONDS, stop_after=2)
        ]
    assert heard == [REALTIME, JOBS]
    assert await jobs_waiting
    assert await realtime_waiting
