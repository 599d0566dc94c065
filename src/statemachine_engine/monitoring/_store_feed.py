"""The live stream taken from the store: every recorded event, from every host.

With a PostgreSQL store every machine, on any host, records its realtime events in the
one database; following that log (woken by ``NOTIFY``) shows them all. A SQLite store
is followed the same way when the event socket is not the server's to take.

Events are handed on in id order, each once: the feed starts after the last event the
server read back and remembers the last id it handed on, also across a restart of the
follow after a store failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._tasks import cancel_and_wait
from . import _stream as stream

if TYPE_CHECKING:
    from ..database.store import OperatorStore
    from ._stream import Event

logger = logging.getLogger("statemachine_engine.monitoring")

#: After the store failed (it retries connections itself first), try again this late.
RETRY_SECONDS = 2.0


class StoreFeed:
    """Follows the store's ``realtime_events`` and calls ``on_event`` for each new one.

    Args:
        store: the open store.
        on_event: called from the event loop for each event, in id order.
    """

    def __init__(self, store: OperatorStore, on_event: Callable[[Event], None]) -> None:
        self._store = store
        self._on_event = on_event
        self._task: asyncio.Task[None] | None = None
        self.last_id = 0

    def start(self, after_id: int) -> None:
        """Follow events recorded after ``after_id``."""
        self.last_id = after_id
        self._task = asyncio.create_task(self._follow(), name="monitor:store-feed")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)

    async def _follow(self) -> None:
        from ..database.realtime_feed import follow_realtime

        while True:
            try:
                async for record in follow_realtime(self._store, after_id=self.last_id):
                    if record.id <= self.last_id:
                        continue
                    self.last_id = record.id
                    self._on_event(stream.from_record(record))
            except Exception as exc:  # the store gave up reconnecting: wait, then go on
                logger.warning(
                    "could not follow the store's events (%s); retrying in %.0f s",
                    exc,
                    RETRY_SECONDS,
                    extra={"action": "feed_failed", "after_id": self.last_id},
                )
                await asyncio.sleep(RETRY_SECONDS)
