"""The last realtime events, in arrival order: the snapshot's history and ``/api/events``.

At start-up the newest recorded events are read back from the store; events that then
also arrive live (sent while the store was being read) are recognised and kept once.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from . import stream

if TYPE_CHECKING:
    from ..database.store import Store
    from .stream import Event


class RecentEvents:
    """A bounded buffer of the newest events (oldest first).

    Args:
        size: how many events are kept.
    """

    def __init__(self, size: int) -> None:
        self._events: deque[Event] = deque(maxlen=size)
        self._replayed: set[tuple[str, str, float]] = set()

    def __len__(self) -> int:
        return len(self._events)

    def add(self, event: Event) -> bool:
        """Keep a live event; False when it is one already replayed from the store."""
        if self._replayed and stream.identity(event) in self._replayed:
            self._replayed.discard(stream.identity(event))
            return False
        self._events.append(event)
        return True

    def replayed(self, events: list[Event]) -> None:
        """Put events read back from the store before everything received live."""
        self._events.extendleft(reversed(events))
        self._replayed.update(stream.identity(event) for event in events)

    def last(self, limit: int, *, machine: str | None = None) -> list[Event]:
        """The newest ``limit`` events (of ``machine`` when given), oldest first."""
        if limit <= 0:
            return []
        found: list[Event] = []
        for event in reversed(self._events):
            if machine is None or event["machine_name"] == machine:
                found.append(event)
                if len(found) == limit:
                    break
        found.reverse()
        return found


async def read_back(store: Store, limit: int) -> list[Event]:
    """The newest ``limit`` recorded events, oldest first."""
    if limit <= 0:
        return []
    last_id = await _last_id(store)
    records = await store.list_realtime(after_id=max(0, last_id - limit), limit=limit)
    return [stream.from_record(record) for record in records]


async def _last_id(store: Store) -> int:
    """The largest realtime event id, found with O(log n) indexed lookups.

    ``list_realtime`` reads oldest first from an id on: probing ``after_id`` tells
    whether any event lies beyond it, so a doubling then a bisection finds the end
    without reading the table.
    """

    async def beyond(after: int) -> bool:
        return bool(await store.list_realtime(after_id=after, limit=1))

    # beyond(x) holds exactly for x < the last id: find the first x where it fails.
    low = 0
    if not await beyond(low):
        return 0
    high = 1
    while await beyond(high):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if await beyond(middle):
            low = middle
        else:
            high = middle
    return high
