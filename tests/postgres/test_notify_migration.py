"""Store version 15 on PostgreSQL: a schema at version 14 gets wake-up triggers that
change no setting at each call, and they still wake waiters (a job finishing, realtime
events recorded) whoever writes."""

from __future__ import annotations

import time

import psycopg

from statemachine_engine.database._postgres import PostgresStore
from statemachine_engine.database._queries import migrations
from statemachine_engine.database._wakeup import JOBS, REALTIME
from tests.postgres.test_wakeups import registered_wait


def make_version_14(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE statemachine_schema (version integer NOT NULL, "
            "applied_at double precision NOT NULL)"
        )
        for number, script in migrations("postgres"):
            if number <= 14:
                conn.execute(script.encode())
                conn.execute(
                    "INSERT INTO statemachine_schema VALUES (%s, %s)", (number, time.time())
                )


async def test_a_version_14_schema_gets_triggers_without_settings_that_still_wake(
    url: str,
) -> None:
    make_version_14(url)
    with psycopg.connect(url) as conn:
        configs = conn.execute(
            "SELECT proconfig FROM pg_proc WHERE proname = 'statemachine_notify_jobs'"
            " AND pronamespace = current_schema()::regnamespace"
        ).fetchall()
    assert configs != [(None,)]  # version 14 set the search_path at each call
    store, other = PostgresStore(url), PostgresStore(url)
    try:
        await other.add_job("task", job_id="j1")  # migrates to the latest version
        assert await other.claim_job("task", "w1") is not None
        finished = await registered_wait(store, JOBS)
        assert await other.complete_job("j1", worker="w1")
        assert await finished
        recorded = await registered_wait(store, REALTIME)
        await other.record_realtime("m1", "state_change", {"to_state": "b"})
        assert await recorded
        rows = (
            await store.connector.run_sql(
                "SELECT proname, proconfig FROM pg_proc"
                " WHERE pronamespace = current_schema()::regnamespace"
                " AND proname IN ('statemachine_notify_jobs', 'statemachine_notify_realtime')"
            )
        ).rows
        assert sorted((row["proname"], row["proconfig"]) for row in rows) == [
            ("statemachine_notify_jobs", None),
            ("statemachine_notify_realtime", None),
        ]
    finally:
        await other.close()
        await store.close()
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT max(version) FROM statemachine_schema").fetchone()
    assert row == (migrations("postgres")[-1][0],)
