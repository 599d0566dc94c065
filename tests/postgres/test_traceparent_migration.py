"""Store version 12 on PostgreSQL: a schema at version 9, with its jobs and events, gets
the traceparent columns and keeps its rows."""

from __future__ import annotations

import time

from statemachine_engine.database._postgres import PostgresStore
from statemachine_engine.database._queries import migrations
from tests.contract.test_traceparent import VERSION_9_ROWS, check_version_9_rows


async def test_a_version_9_schema_is_migrated_and_keeps_its_rows(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE statemachine_schema (version integer NOT NULL, "
            "applied_at double precision NOT NULL)"
        )
        for number, script in migrations("postgres"):
            if number <= 9:
                conn.execute(script.encode())
                conn.execute(
                    "INSERT INTO statemachine_schema VALUES (%s, %s)", (number, time.time())
                )
        for statement in VERSION_9_ROWS:
            conn.execute(statement.encode())
    store = PostgresStore(url)
    try:
        await check_version_9_rows(store)
    finally:
        await store.close()
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT max(version) FROM statemachine_schema").fetchone()
        assert row is not None
        assert row[0] == migrations("postgres")[-1][0]
