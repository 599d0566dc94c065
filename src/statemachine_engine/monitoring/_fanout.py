"""Fan-out of server messages to WebSocket clients, each behind its own bounded queue.

Publishing never waits: a message is appended to every client's queue. A client that
reads too slowly loses its oldest messages, not the others' time: its queue drops
from the front and it is told how many it lost with a ``dropped`` message.
"""

from __future__ import annotations

import asyncio
from collections import deque


class ClientQueue:
    """Messages (already JSON text) waiting for one client.

    Args:
        size: how many may wait; one more drops the oldest.
    """

    def __init__(self, size: int) -> None:
        self._messages: deque[str] = deque()
        self._size = size
        self._ready = asyncio.Event()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._messages)

    def put(self, message: str) -> None:
        if len(self._messages) >= self._size:
            self._messages.popleft()
            self.dropped += 1
        self._messages.append(message)
        self._ready.set()

    async def take(self) -> tuple[int, list[str]]:
        """Wait for messages; return how many were dropped since the last take, and all
        that wait now (oldest first)."""
        await self._ready.wait()
        self._ready.clear()
        messages = list(self._messages)
        self._messages.clear()
        dropped, self.dropped = self.dropped, 0
        return dropped, messages


class Hub:
    """Every connected client's queue.

    Args:
        queue_size: the size of each client's queue.
    """

    def __init__(self, queue_size: int) -> None:
        self._queue_size = queue_size
        self._clients: set[ClientQueue] = set()

    def __len__(self) -> int:
        return len(self._clients)

    def subscribe(self) -> ClientQueue:
        queue = ClientQueue(self._queue_size)
        self._clients.add(queue)
        return queue

    def unsubscribe(self, queue: ClientQueue) -> None:
        self._clients.discard(queue)

    def publish(self, message: str) -> None:
        """Queue ``message`` for every client (never waits)."""
        for queue in self._clients:
            queue.put(message)
