"""The realtime feed from the store: every machine's events, on every host, in order.

Machines record their realtime events in the store (in small batches, see
:mod:`..messaging._realtime`); :func:`follow_realtime` replays them and then yields new
ones as they are committed, woken by the store (PostgreSQL ``NOTIFY``; SQLite's wake
sockets on this host). Ids grow in commit order, so following by the last id seen
misses nothing, and a follower that falls behind only reads bigger batches.

    async for event in follow_realtime(store, machine="worker1"):
        print(event.machine_name, event.event_type, event.payload)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from ._wakeup import REALTIME

if TYPE_CHECKING:
    from ._records import RealtimeEvent
    from .store import OperatorStore

__all__ = [
    "follow_realtime",
]

#: Events read per query.
FEED_BATCH = 500
#: A follower looks at the store at least this often, even without a wake-up.
FEED_SAFETY_SECONDS = 30.0


async def follow_realtime(
    store: OperatorStore,
    *,
    after_id: int | None = None,
    machine: str | None = None,
    batch: int = FEED_BATCH,
) -> AsyncIterator[RealtimeEvent]:
    """Yield recorded realtime events forever, oldest first.

    Args:
        store: any store (a monitor on another host uses the PostgreSQL one).
        after_id: start after this event id; None starts with the next event recorded
            (0 replays the whole log first).
        machine: only this machine's events.
        batch: events read per query.

    The iterator never ends by itself: stop consuming it (or cancel the task) to stop.
    """
    listener = await store.listener()
    last = await store.last_realtime_id() if after_id is None else after_id
    while True:
        mark = listener.mark(REALTIME)  # before reading: a commit meanwhile is not missed
        events = await store.list_realtime(after_id=last, machine=machine, limit=batch)
        for event in events:
            last = event.id
            yield event
        if len(events) < batch:
            await listener.wait(REALTIME, mark, FEED_SAFETY_SECONDS)
