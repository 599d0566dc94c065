"""The last realtime events, in arrival order: the snapshot's history and ``/api/events``.

At start-up the newest recorded events are read back from the store; with the event
socket as the live source, events that then also arrive live (sent while the store was
being read) are recognised and kept once. When the buffer holds fewer events than a
request wants and older ones may be in the store, :func:`newest` reads them there.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import _stream as stream

if TYPE_CHECKING:
    from ..database.models.realtime_event import RealtimeEvent
    from ..database.store import OperatorStore
    from ._stream import Event

#: A window read from the store holds at most this many times the events asked for.
WINDOW_SLACK = 2
#: How much a window grows when it held too few of a machine's events.
WINDOW_GROWTH = 4


class RecentEvents:
    """A bounded buffer of the newest events (oldest first).

    Args:
        size: how many events are kept.
    """

    def __init__(self, size: int) -> None:
        self._events: deque[Event] = deque(maxlen=size)
        self._replayed: set[tuple[str, str, float]] = set()
        self._size = size
        #: True while the buffer holds every event the store held when the server started
        #: and every event since (nothing read back was cut off, nothing dropped since).
        self.complete = True

    def __len__(self) -> int:
        return len(self._events)

    def add(self, event: Event) -> bool:
        """Keep a live event; False when it is one already replayed from the store."""
        if self._replayed and stream.identity(event) in self._replayed:
            self._replayed.discard(stream.identity(event))
            return False
        if len(self._events) >= self._size:
            self.complete = False
        self._events.append(event)
        return True

    def replayed(self, events: list[Event], *, complete: bool, may_arrive_again: bool) -> None:
        """Put events read back from the store before everything received live.

        Args:
            events: the newest recorded events, oldest first.
            complete: they are every event the store held.
            may_arrive_again: the live source may deliver some of them once more (the
                event socket); they are then recognised and dropped.
        """
        self._events.extendleft(reversed(events))
        self.complete = complete and len(events) < self._size
        if may_arrive_again:
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


def merged(stored: Sequence[Event], remembered: Sequence[Event], limit: int) -> list[Event]:
    """The newest ``limit`` of ``stored`` (from the store) followed by the ``remembered``
    events (received live) that the store did not hold yet; oldest first."""
    known = {stream.identity(event) for event in stored}
    fresh = [event for event in remembered if stream.identity(event) not in known]
    return [*stored, *fresh][-limit:] if limit > 0 else []


async def read_back(
    store: OperatorStore, limit: int, *, upto: int | None = None
) -> tuple[list[Event], bool]:
    """The newest ``limit`` recorded events (ids up to ``upto``), oldest first, and
    whether they are all the store holds up to there."""
    records, complete = await newest(store, limit, upto=upto)
    return [stream.from_record(record) for record in records], complete


async def newest(
    store: OperatorStore, limit: int, *, machine: str | None = None, upto: int | None = None
) -> tuple[list[RealtimeEvent], bool]:
    """The newest ``limit`` recorded events (of ``machine``; ids up to ``upto``, default
    the newest), oldest first, and whether they are all the store holds up to there.

    ``list_realtime`` reads oldest first from an id on. A window of ids ending at
    ``upto`` is read with a bounded query; it grows while it holds too few events (a
    machine's events are sparse among everyone's) and shrinks by bisection when it
    holds too many to read at once, so each query reads at most a few times ``limit``
    rows however large the table is.
    """
    if limit <= 0:
        return [], False
    end = await store.last_realtime_id() if upto is None else upto
    cap = limit * WINDOW_SLACK

    async def window(after: int) -> tuple[list[RealtimeEvent], bool]:
        """Events in ``(after, end]`` (at most ``cap``) and whether that was all of them."""
        rows = await store.list_realtime(after_id=after, machine=machine, limit=cap)
        inside = [row for row in rows if row.id <= end]
        return inside, len(rows) < cap or rows[-1].id >= end

    too_few, too_many = end, None  # window starts known to hold < limit / > cap events
    span = limit
    while True:
        # Growing from the end until too many, then bisecting between the two bounds.
        start = max(0, end - span) if too_many is None else (too_many + too_few) // 2
        rows, whole = await window(start)
        if whole and (len(rows) >= limit or start == 0):
            return rows[-limit:], start == 0 and len(rows) <= limit
        if not whole:
            too_many = start
        else:
            too_few = start
            span *= WINDOW_GROWTH
