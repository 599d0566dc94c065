"""Fan-out of server messages to WebSocket clients, each behind its own bounded queue.

Publishing never waits: a message is appended to every client's queue. A client that
reads too slowly loses its oldest messages, not the others' time: its queue drops
from the front and it is told how many it lost with a ``dropped`` message.

Clients that take batches share their frames: the messages published during one
:data:`BATCH_WINDOW_SECONDS` are joined into one ``batch`` frame, once, on one flush for
every such client (not a join, a timer and a wake-up per client). Their senders all
wake on that flush, so the frames leave back to back: the kernel and the clients'
processes see one burst per window instead of a send at a time spread over it.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Sequence

#: How long a batching client's messages gather before they are sent together.
BATCH_WINDOW_SECONDS = 0.01


def batch_frame(messages: Sequence[str]) -> str:
    """One frame carrying ``messages`` (each already JSON text), in order: the message
    itself when there is one, else ``{"kind": "batch", "messages": [...]}``."""
    if len(messages) == 1:
        return messages[0]
    return '{"kind":"batch","messages":[' + ",".join(messages) + "]}"


def dropped_notice(count: int) -> str:
    """The message telling a client it lost ``count`` messages."""
    return json.dumps({"kind": "dropped", "count": count})


class ClientQueue:
    """Frames (JSON text, shared with other clients) waiting for one client.

    Args:
        size: how many messages may wait; one more drops the oldest frame. A frame is
            never cut: a batch of more than ``size`` messages waits alone, whole.
    """

    def __init__(self, size: int) -> None:
        self._frames: deque[tuple[str, int]] = deque()
        self._waiting = 0
        self._size = size
        #: The sender waiting in :meth:`take` (a bare future: an ``asyncio.Event`` per
        #: client costs more, a hundred times a window).
        self._waiter: asyncio.Future[None] | None = None
        self.dropped = 0
        #: Messages of the batch being gathered that this client must not get (they
        #: were published before it subscribed, so its snapshot holds them).
        self.skip = 0

    def __len__(self) -> int:
        """How many messages wait."""
        return self._waiting

    def put(self, frame: str, count: int = 1) -> None:
        """Queue ``frame``, which carries ``count`` messages."""
        self._frames.append((frame, count))
        self._waiting += count
        while self._waiting > self._size and len(self._frames) > 1:
            _, lost = self._frames.popleft()
            self._waiting -= lost
            self.dropped += lost
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def take(self) -> tuple[int, list[str]]:
        """Wait for frames; return how many messages were dropped since the last take,
        and all frames that wait now (oldest first)."""
        while not self._frames:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        frames = [frame for frame, _ in self._frames]
        self._frames.clear()
        self._waiting = 0
        dropped, self.dropped = self.dropped, 0
        return dropped, frames


class Hub:
    """Every connected client's queue.

    Args:
        queue_size: the size of each client's queue, in messages.
        window: how long a batch gathers before it goes to the batching clients.
    """

    def __init__(self, queue_size: int, *, window: float = BATCH_WINDOW_SECONDS) -> None:
        self._queue_size = queue_size
        self._window = window
        self._single: set[ClientQueue] = set()
        self._batched: set[ClientQueue] = set()
        self._gathering: list[str] = []
        self._flush: asyncio.Handle | None = None
        self._last_flush = -window

    def __len__(self) -> int:
        return len(self._single) + len(self._batched)

    def subscribe(self, *, batched: bool = False) -> ClientQueue:
        """A new client's queue: one frame per message, or (``batched``) one frame per
        window. The client receives what is published from now on."""
        queue = ClientQueue(self._queue_size)
        if batched:
            queue.skip = len(self._gathering)
            self._batched.add(queue)
        else:
            self._single.add(queue)
        return queue

    def unsubscribe(self, queue: ClientQueue) -> None:
        self._single.discard(queue)
        self._batched.discard(queue)

    def publish(self, message: str) -> None:
        """Queue ``message`` for every client (never waits): at once for those that take
        one message per frame, in the next batch for the others."""
        for queue in self._single:
            queue.put(message)
        if not self._batched:
            return
        self._gathering.append(message)
        if self._flush is None:
            # At most one batch a window, sent as soon as that allows: a lone event goes
            # out at once (still after the loop's other ready work, which may add more).
            loop = asyncio.get_running_loop()
            due = self._last_flush + self._window
            if due <= loop.time():
                self._flush = loop.call_soon(self.flush)
            else:
                self._flush = loop.call_at(due, self.flush)

    def flush(self) -> None:
        """Send the gathered batch to every batching client now."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        self._last_flush = asyncio.get_running_loop().time()
        messages, self._gathering = self._gathering, []
        if not messages:
            return
        shared = batch_frame(messages)
        for queue in self._batched:
            if queue.skip:
                own, queue.skip = messages[queue.skip :], 0
                if own:
                    queue.put(batch_frame(own), len(own))
            else:
                queue.put(shared, len(messages))
