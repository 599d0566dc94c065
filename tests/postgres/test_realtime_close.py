"""A realtime stream closed while a batch is on its way to PostgreSQL records it: the
batch lands, then what was queued after it (a machine's last events are sent just
before its process closes the stream). The batch waits for the store's connection,
which a machine's own write holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from statemachine_engine.database._postgres import PostgresStore
from statemachine_engine.messaging._realtime import RealtimeStream
from tests.support.postgres import admin

#: The lock an event's insert takes, for machine "busy": the store's connection waits
#: for it in a send, and the stream's batch waits for the connection.
INBOX_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':inbox:busy', 0))"


WAITING = (
    "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
)


async def until(holds: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Return once ``holds()`` (there is no event to await: asked every few ms)."""
    deadline = time.monotonic() + timeout
    while not holds():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.005)


def a_statement_waits_for_a_lock() -> bool:
    return bool(admin(WAITING))


async def test_closing_while_a_batch_waits_for_the_connection_loses_none_of_it(
    tmp_path: Path, url: str, store: PostgresStore
) -> None:
    await store.add_job("task", job_id="before")  # the schema is made before the lock
    stream = RealtimeStream(tmp_path / "events.sock", store)
    with psycopg.connect(url) as holder:  # a transaction holding machine busy's inbox lock
        holder.execute(INBOX_LOCK)
        sending = asyncio.ensure_future(store.send_event("busy", "go", source="test"))
        await until(a_statement_waits_for_a_lock, "the send never waited for the lock")
        stream.send("m", 1, "first", {})
        await until(lambda: not stream._pending, "the stream never took its batch")
        stream.send("m", 2, "last", {})  # queued behind the batch on its way
        closing = asyncio.ensure_future(stream.close())
        await asyncio.sleep(0)  # close() has begun
        holder.commit()
    await asyncio.wait_for(sending, 30)
    await asyncio.wait_for(closing, 30)
    recorded = await store.list_realtime(limit=100)
    assert [event.event_type for event in recorded] == ["first", "last"]
