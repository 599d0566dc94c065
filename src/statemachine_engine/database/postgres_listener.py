"""Wake-ups from PostgreSQL: one ``LISTEN`` connection per store handle.

The store's triggers ``NOTIFY`` the channel ``statemachine`` with the payload
``<schema><TAB><topic>`` in the same transaction as each change (see
``schema/postgres/0001_initial.sql``). This listener hears the topics of its own schema
and wakes the tasks waiting for them, whichever host made the change.

If the connection is lost, notifications sent meanwhile are lost with it: the listener
reconnects with backoff and then wakes every waiter, so each looks at the store again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import psycopg

from ..messaging.wakeup import TopicWaiters
from .postgres import (
    RECONNECT_FIRST_DELAY_SECONDS,
    RECONNECT_MAX_DELAY_SECONDS,
    AsyncConnection,
    connect,
)
from .store import StoreError

logger = logging.getLogger("statemachine_engine.postgres")

CHANNEL = "statemachine"


class PostgresListener(TopicWaiters):
    """Topics ``jobs``, ``machine:<name>`` and ``realtime`` of one database schema.

    Args:
        url: the database URL (the store's).
        location: the URL without its password, for logs.
    """

    def __init__(self, url: str, location: str) -> None:
        super().__init__()
        self._url = url
        self._location = location
        self._prefix = ""
        self._conn: AsyncConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect and ``LISTEN``; notifications committed from now on are heard."""
        self._conn = await self._listen()
        self._reader = asyncio.create_task(self._read(), name="postgres-listener")

    async def _listen(self) -> AsyncConnection:
        conn = await connect(self._url, self._location)
        try:
            row = await (await conn.execute("SELECT current_schema() AS name")).fetchone()
            self._prefix = f"{row['name'] if row else 'public'}\t"
            await conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            await conn.close()
            raise StoreError(f"cannot listen: {exc}", location=self._location) from exc
        return conn

    async def _read(self) -> None:
        while True:
            conn = self._conn
            assert conn is not None
            try:
                async for notify in conn.notifies():
                    if notify.payload.startswith(self._prefix):
                        self.wake([notify.payload[len(self._prefix) :]])
            except psycopg.Error as exc:
                if not conn.closed:
                    raise
                await self._reconnect(exc)

    async def _reconnect(self, cause: BaseException) -> None:
        logger.warning(
            "lost the LISTEN connection to PostgreSQL at %s (%s); reconnecting",
            self._location,
            str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__,
            extra={"action": "listener_connection_lost", "location": self._location},
        )
        started = time.monotonic()
        delay = RECONNECT_FIRST_DELAY_SECONDS
        while True:
            try:
                self._conn = await self._listen()
            except StoreError:
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY_SECONDS)
                continue
            logger.info(
                "listening to PostgreSQL at %s again after %.2fs",
                self._location,
                time.monotonic() - started,
                extra={"action": "listener_reconnected", "location": self._location},
            )
            self.wake_all()  # what was notified while we were away is unknown
            return

    def abandon(self) -> None:
        """Close the connection without the event loop it belonged to (that loop is gone)."""
        self._reader = None
        if self._conn is not None:
            self._conn.pgconn.finish()
            self._conn = None

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
