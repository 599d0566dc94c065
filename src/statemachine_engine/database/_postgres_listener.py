"""Wake-ups from PostgreSQL: one ``LISTEN`` connection per store handle.

The store's triggers ``NOTIFY`` the channel ``statemachine`` with the payload
``<schema><TAB><topic>`` in the same transaction as each change (see
``schema/postgres/0001_initial.sql``). This listener hears the topics of its own schema
and wakes the tasks waiting for them, whichever host made the change.

The topics ``jobs`` and ``realtime`` are announced only while some process waits for
them (``schema/postgres/0002_watchers.sql`` says why): the first wait for one of them
registers this listener's session and returns at once, so that the waiter looks at the
store again now that no change can go unannounced. The registration is removed
:data:`WATCH_LINGER_SECONDS` after the topic's last wait ends.

The connection's socket is watched by the event loop, and what arrives is read with
libpq's own calls (``psycopg.pq``): psycopg's ``notifies()`` wakes ten times a second to
look for interrupts while it waits, which cost an idle machine 0.35 % of a core.

If the connection is lost, notifications sent meanwhile are lost with it: the listener
reconnects with backoff and then wakes every waiter, so each looks at the store again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import psycopg

from .._tasks import cancel_and_wait
from ..errors import StoreError
from ._postgres_connection import AsyncConnection, connect, reopen
from ._wakeup import JOBS, REALTIME, TopicWaiters

logger = logging.getLogger("statemachine_engine.postgres")

CHANNEL = "statemachine"
#: Topics the database announces only while a process has registered to wait for them.
WATCHED_TOPICS = frozenset({JOBS, REALTIME})
#: A registration outlives its topic's last wait by this long, so that a worker waiting
#: between jobs does not register and unregister around each one.
WATCH_LINGER_SECONDS = 2.0

#: Runs one named statement on the store's connection (``PostgresStore.run_named``).
RunStatement = Callable[[str, Mapping[str, Any]], Awaitable[object]]


class PostgresListener(TopicWaiters):
    """Topics ``jobs``, ``machine:<name>`` and ``realtime`` of one database schema.

    Args:
        url: the database URL (the store's).
        location: the URL without its password, for logs.
        run: runs the ``watch``/``unwatch`` statements (on the store's connection: this
            one is busy waiting for notifications).
        sync: the connection's ``synchronous_commit`` (the store's).
    """

    def __init__(self, url: str, location: str, run: RunStatement, *, sync: str) -> None:
        super().__init__()
        self._url = url
        self._sync = sync
        self._location = location
        self._run = run
        self._prefix = ""
        self._pid = 0
        self._conn: AsyncConnection | None = None
        #: The socket the event loop watches for notifications (None: not watched).
        self._socket: int | None = None
        #: Reopens a lost connection (None: none is lost).
        self._reopening: asyncio.Task[None] | None = None
        #: Watched topics registered for this session (``_pid``).
        self._registered: set[str] = set()
        self._waiting: dict[str, int] = {}
        self._unwatch_timers: dict[str, asyncio.TimerHandle] = {}
        self._watch_lock = asyncio.Lock()
        self._unwatching: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Connect and ``LISTEN``; notifications committed from now on are heard."""
        self._conn = await self._listen()
        self._follow(self._conn)

    async def _listen(self) -> AsyncConnection:
        conn = await connect(self._url, self._location, sync=self._sync)
        try:
            row = await (
                await conn.execute("SELECT current_schema() AS name, pg_backend_pid() AS pid")
            ).fetchone()
            assert row is not None
            self._prefix = f"{row['name'] or 'public'}\t"
            self._pid = int(row["pid"])
            await conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            await conn.close()
            raise StoreError(f"cannot listen: {exc}", location=self._location) from exc
        return conn

    def _follow(self, conn: AsyncConnection) -> None:
        """Hear ``conn``'s notifications as they arrive."""
        self._socket = conn.pgconn.socket
        asyncio.get_running_loop().add_reader(self._socket, self._readable, conn)

    def _unfollow(self) -> None:
        if self._socket is not None:
            asyncio.get_running_loop().remove_reader(self._socket)
            self._socket = None

    def _readable(self, conn: AsyncConnection) -> None:
        pgconn = conn.pgconn
        try:
            pgconn.consume_input()
        except psycopg.OperationalError as exc:  # the connection is lost
            self._unfollow()
            self._reopening = asyncio.get_running_loop().create_task(
                self._reconnect(exc), name="postgres-listener-reconnect"
            )
            return
        topics = []
        encoding = conn.info.encoding
        while (notify := pgconn.notifies()) is not None:
            payload = notify.extra.decode(encoding, "replace")
            if payload.startswith(self._prefix):
                topics.append(payload[len(self._prefix) :])
        if topics:
            self.wake(topics)

    async def _reconnect(self, cause: BaseException) -> None:
        if self._conn is not None:
            self._conn.pgconn.finish()
        self._conn = await reopen(
            self._listen, which="listener", cause=cause, location=self._location, timeout=None
        )
        self._follow(self._conn)
        self._reopening = None
        # A new session: its registrations are made again by the next waits. What was
        # notified while we were away is unknown, so every waiter looks again.
        self._registered.clear()
        self.wake_all()

    # -- waiting for watched topics ------------------------------------------------------

    async def wait(self, topic: str, since: int, timeout: float) -> bool:
        if topic not in WATCHED_TOPICS or self.mark(topic) != since or timeout <= 0:
            return await super().wait(topic, since, timeout)
        timer = self._unwatch_timers.pop(topic, None)
        if timer is not None:
            timer.cancel()
        self._waiting[topic] = self._waiting.get(topic, 0) + 1
        try:
            if topic not in self._registered:
                try:
                    await self._watch(topic)
                except StoreError as exc:  # unannounced: the wait runs out its timeout
                    logger.warning("could not register for %s wake-ups: %s", topic, exc)
                    return await super().wait(topic, since, timeout)
                return True  # changes made before the registration were not announced
            return await super().wait(topic, since, timeout)
        finally:
            self._waiting[topic] -= 1
            if not self._waiting[topic] and topic in self._registered:
                loop = asyncio.get_running_loop()
                self._unwatch_timers[topic] = loop.call_later(
                    WATCH_LINGER_SECONDS, self._start_unwatch, topic
                )

    async def _watch(self, topic: str) -> None:
        async with self._watch_lock:
            if topic in self._registered:
                return
            pid = self._pid
            await self._run("watch", {"topic": topic, "pid": pid, "now": time.time()})
            if pid == self._pid:  # else the session was replaced meanwhile: register anew
                self._registered.add(topic)

    def _start_unwatch(self, topic: str) -> None:
        self._unwatch_timers.pop(topic, None)
        task = asyncio.get_running_loop().create_task(self._unwatch(topic))
        self._unwatching.add(task)
        task.add_done_callback(self._unwatching.discard)

    async def _unwatch(self, topic: str) -> None:
        async with self._watch_lock:
            if self._waiting.get(topic) or topic not in self._registered:
                return
            self._registered.discard(topic)
            try:
                await self._run("unwatch", {"topic": topic, "pid": self._pid})
            except StoreError as exc:  # only costs wake-ups nobody needs
                logger.debug("could not unregister from %s wake-ups: %s", topic, exc)

    def abandon(self) -> None:
        """Close the connection without the event loop it belonged to (that loop is gone)."""
        self._socket = None
        self._reopening = None
        self._unwatch_timers.clear()
        self._unwatching.clear()
        if self._conn is not None:
            self._conn.pgconn.finish()
            self._conn = None

    async def close(self) -> None:
        for timer in self._unwatch_timers.values():
            timer.cancel()
        self._unwatch_timers.clear()
        for task in list(self._unwatching):
            task.cancel()
        if self._unwatching:
            await asyncio.wait(list(self._unwatching))
        if self._registered:
            with contextlib.suppress(StoreError):  # else removed as stale later
                await self._run("unwatch_session", {"pid": self._pid})
            self._registered.clear()
        self._unfollow()
        if self._reopening is not None:
            await cancel_and_wait(self._reopening)
            self._reopening = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
