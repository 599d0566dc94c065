"""A machine's events waiting in memory: first in, first out, for one consumer.

``asyncio.Queue`` keeps four deques per queue, about 3 KB while idle: ten thousand idle
machines in one process would spend 30 MB on them. This queue keeps one list, read from
a moving head, and one future while its consumer waits.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")

#: Items read from the front are released once this many (and at least half) are read.
COMPACT_AFTER = 1024


class EventQueue(Generic[T]):
    """An unbounded FIFO queue with a single consumer awaiting :meth:`get`."""

    __slots__ = ("_head", "_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[T] = []
        self._head = 0
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: T) -> None:
        """Queue ``item`` and wake the consumer if it waits."""
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def empty(self) -> bool:
        return self._head >= len(self._items)

    def __len__(self) -> int:
        return len(self._items) - self._head

    async def get(self) -> T:
        """The oldest item, waiting for one if none is queued."""
        while self._head >= len(self._items):
            if self._waiter is not None:
                raise RuntimeError("an EventQueue has one consumer: get() is awaited already")
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        items = self._items
        item = items[self._head]
        self._head += 1
        if self._head == len(items):
            items.clear()
            self._head = 0
        elif self._head >= COMPACT_AFTER and self._head * 2 >= len(items):
            del items[: self._head]
            self._head = 0
        return item
