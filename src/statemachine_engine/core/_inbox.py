"""A machine's inbox: the events it has yet to look at, awaited without polling.

Callers, timers and sockets put events in; the engine awaits the next one. A durable
machine's inbox is fed from the store (:meth:`Inbox.pull`), where events wait until a
transition consumes them; types that the config's actions take themselves (their class's
``consumed_events``, as ``check_events``) are left there for them. A delayed event is
not queued before its due time (:mod:`._due_events` arms the timer that delivers it).
Every delivery bumps a counter that actions can wait on (:meth:`Inbox.wait_for_delivery`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ._due_events import DueEvents
from ._event import Event
from ._event_queue import EventQueue

if TYPE_CHECKING:
    from ..database._records import MachineEvent
    from ..database.store import Store


logger = logging.getLogger("statemachine_engine.inbox")

#: Events read from the store per query; a pull reads page after page until it is done.
PULL_PAGE = 1000


class Inbox:
    """Events for one machine (``machine_name``), in arrival order."""

    def __init__(self, machine_name: str, fetched_types: Iterable[str] = ()) -> None:
        self.machine_name = machine_name
        self.fetched_types = frozenset(fetched_types)
        self._queue: EventQueue[Event] = EventQueue()
        self._last_id = 0
        self._deliveries = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._pull_scheduled = False
        self._pulls: set[asyncio.Task[None]] | None = None  # made by the first pull
        #: Told (with a one-line message) of each stored event dropped as undecodable.
        self.on_drop: Callable[[str], None] | None = None
        self.delayed = DueEvents(machine_name, self._queue_stored, self._delivered)

    def put(self, event: Event) -> None:
        self._queue.put(event)

    async def get(self) -> Event:
        return await self._queue.get()

    def waiting(self) -> bool:
        """Whether events are queued now."""
        return not self._queue.empty()

    async def pull(self, store: Store | None) -> None:
        """Count a delivery and queue the store's events not seen yet (if ``store``)."""
        self._delivered()
        if store is None:
            return
        now = time.time()
        while True:
            page = await store.pending_events(
                self.machine_name, after_id=self._last_id, limit=PULL_PAGE
            )
            for stored in page:
                if stored.id <= self._last_id:
                    continue  # queued by a pull that ran while this one awaited the store
                self._last_id = stored.id
                if stored.due_at is not None and not self.delayed.arrived(store, stored, now):
                    continue
                await self._queue_stored(store, stored)
            if len(page) < PULL_PAGE:
                return

    def _delivered(self) -> None:
        self._deliveries += 1
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _queue_stored(self, store: Store, stored: MachineEvent) -> None:
        """Queue an event read from the store (or drop it if it cannot be handled)."""
        if not stored.decodable:
            await self._drop(store, stored.id, stored.event_type, stored.reason)
        else:
            self._queue_event(stored)

    def _queue_event(self, stored: MachineEvent) -> None:
        if stored.event_type in self.fetched_types:
            return
        self.put(
            Event(
                stored.event_type,
                stored.payload if stored.payload is not None else {},
                source=stored.source_machine,
                job_id=stored.job_id,
                event_id=stored.id,
                traceparent=stored.traceparent,
            )
        )

    async def _drop(self, store: Store, event_id: int, event_type: str, reason: str | None) -> None:
        """Mark an event that cannot be handled ``dropped`` with its reason, and say so."""
        reason = reason or "cannot be handled"
        await store.mark_events([event_id], "dropped", reason=reason)
        message = f"event {event_type!r} (id {event_id}) dropped: {reason}"
        logger.warning(
            "[%s] %s",
            self.machine_name,
            message,
            extra={
                "action": "event_dropped",
                "machine": self.machine_name,
                "event": event_type,
                "event_id": event_id,
                "reason": reason,
            },
        )
        if self.on_drop is not None:
            self.on_drop(message)

    def request_pull(self, store: Store | None) -> None:
        """Pull soon, in a task of its own; wake-ups that arrive before it starts share it.

        A burst of wake-up datagrams (one per event sent) then costs one query, not one
        per datagram: the pull that runs reads every event committed before it.
        """
        if self._pull_scheduled:
            return
        self._pull_scheduled = True
        task = asyncio.get_running_loop().create_task(self._scheduled_pull(store))
        if self._pulls is None:
            self._pulls = set()
        self._pulls.add(task)
        task.add_done_callback(self._pulls.discard)

    async def close(self) -> None:
        """Cancel pulls still scheduled and the delayed events' timer (the machine has
        ended)."""
        pulls = list(self._pulls or ())
        for task in pulls:
            task.cancel()
        if pulls:
            await asyncio.wait(pulls)
        await self.delayed.close()

    async def _scheduled_pull(self, store: Store | None) -> None:
        self._pull_scheduled = False
        await self.pull(store)

    @property
    def last_id(self) -> int:
        """The newest stored event this inbox has read."""
        return self._last_id

    @property
    def delivery_mark(self) -> int:
        """How many deliveries there have been so far."""
        return self._deliveries

    async def wait_for_delivery(self, since: int, timeout: float) -> bool:
        """Wait until a delivery after mark ``since``; False on timeout."""
        if self._deliveries != since:
            return True
        if timeout <= 0:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait([waiter], timeout=timeout)
        finally:
            waiter.cancel()
            self._waiters.remove(waiter)
        return self._deliveries != since
