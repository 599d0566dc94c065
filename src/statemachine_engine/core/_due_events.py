"""A machine's delayed events: one timer for the earliest due time, and each due event
handed to the inbox once.

A delayed event waits in the store with its due time (``machine_events.due_at``). The
inbox reads it like any other but does not queue it before its time: it tells
:class:`DueEvents` the due time instead. One timer, armed for the earliest due time the
machine knows of, then reads the inbox's due events (a read of the index of delayed
events only) and arms itself for the next. A machine that starts reads its whole inbox,
so what fell due while it was down is delivered at once and the rest is armed: the
store is the timer's durable half, as the machine's state is for its ``timeout(N)``s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ._timers import call_at_time

if TYPE_CHECKING:
    from ..database._records import MachineEvent
    from ..database.store import Store

logger = logging.getLogger("statemachine_engine.inbox")

#: Due events read from the store per query.
DUE_PAGE = 1000
#: How long a machine waits before reading its due events again after a failed read.
RETRY_SECONDS = 1.0
#: Due events handed to the inbox that a read forgets once consumed: past this many (or
#: twice as many as the last read left), a read runs without waiting for a timer.
PRUNE_HANDED = 1000


class DueEvents:
    """The delayed events of ``machine_name``'s inbox.

    Args:
        queue: queues a due event in the inbox (as the inbox queues what it reads).
        delivered: counts a delivery (actions waiting for their events look again).
    """

    def __init__(
        self,
        machine_name: str,
        queue: Callable[[Store, MachineEvent], Awaitable[None]],
        delivered: Callable[[], None],
    ) -> None:
        self._machine_name = machine_name
        self._queue = queue
        self._delivered = delivered
        self._store: Store | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._next: float | None = None
        self._read_task: asyncio.Task[None] | None = None
        self._read_again = False
        #: Due events handed to the inbox that may not be consumed yet (a read before
        #: their step commits finds them pending still): never handed twice.
        self._handed: set[int] = set()
        self._prune_at = PRUNE_HANDED

    def arrived(self, store: Store, event: MachineEvent, now: float) -> bool:
        """Whether the inbox, reading delayed ``event`` at ``now``, queues it: False for
        one not due yet (the timer is armed for it) or handed over already."""
        assert event.due_at is not None
        if event.due_at > now:
            self.expect(store, event.due_at)
            return False
        if event.id in self._handed:
            return False
        self._handed.add(event.id)
        if len(self._handed) > self._prune_at and self._read_task is None:
            self._store = store
            self._start_read()  # forgets those consumed since (no timer may come to)
        return True

    def expect(self, store: Store, due_at: float) -> None:
        """Arm the timer for ``due_at`` unless it fires sooner already."""
        self._store = store
        if self._next is not None and self._next <= due_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._next = due_at
        self._timer = call_at_time(due_at, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._next = None
        if self._read_task is not None:  # it may have read too early for this one
            self._read_again = True
            return
        self._start_read()

    def _start_read(self) -> None:
        self._read_task = asyncio.get_running_loop().create_task(
            self._read(), name=f"{self._machine_name}:due-events"
        )

    async def _read(self) -> None:
        store = self._store
        assert store is not None
        self._read_again = False
        try:
            now = time.time()
            handed_before = set(self._handed)
            found: set[int] = set()
            after_id = 0
            while True:
                page = await store.due_events(
                    self._machine_name, now=now, after_id=after_id, limit=DUE_PAGE
                )
                for event in page:
                    after_id = event.id
                    found.add(event.id)
                    if event.id not in self._handed:
                        self._handed.add(event.id)
                        await self._queue(store, event)
                if len(page) < DUE_PAGE:
                    break
            # Handed before this read and no longer pending: consumed, never read again.
            self._handed -= handed_before - found
            # Those still pending wait for their steps: read again when they have doubled.
            self._prune_at = max(PRUNE_HANDED, 2 * len(self._handed))
            self._delivered()
            following = await store.next_due_at(self._machine_name, now=now)
        except Exception:  # the machine goes on; its delayed events wait for the next try
            logger.warning(
                "[%s] cannot read its delayed events; trying again in %g s",
                self._machine_name,
                RETRY_SECONDS,
                exc_info=True,
                extra={"action": "due_events_failed", "machine": self._machine_name},
            )
            following = time.time() + RETRY_SECONDS
        finally:
            self._read_task = None
        if self._read_again:
            following = time.time()
        if following is not None:
            self.expect(store, following)

    async def close(self) -> None:
        """Disarm the timer and end a read in progress (the machine has ended)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._next = None
        task, self._read_task = self._read_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
