"""The server's state and its background work, independent of HTTP.

A :class:`Monitor` owns the store, the machine registry, the recent events and the
client hub. Live events come from one of two sources: datagrams on the event socket
(machines on this host, the fastest way), or the events recorded in the store (every
host, see :mod:`._store_feed`). Either way each event is applied and fanned out at once
(the source never waits on a client); a refresh task recomputes liveness from the store
every few seconds and sends the machine list when it changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._tasks import cancel_and_wait
from ..database.models.machine_state import liveness
from ..messaging import _event_socket as event_socket
from . import _stream as stream
from ._configs import ConfigCatalog
from ._fanout import Hub
from ._machines import MachineRegistry, with_expected
from ._metrics import StoreMetrics
from ._recent import RecentEvents, merged, newest, read_back
from ._series_recorder import SeriesRecorder
from ._settings import MACHINES_REFRESH_SECONDS, SNAPSHOT_EVENTS, ServerSettings
from ._store_feed import StoreFeed

if TYPE_CHECKING:
    from ..database.store import OperatorStore
    from ..messaging._event_socket import Listener
    from ._stream import Event

logger = logging.getLogger("statemachine_engine.monitoring")

#: A machine that just registered is in the store a moment later: look it up then.
NEW_MACHINE_LOOKUP_DELAY_SECONDS = 0.3


class Monitor:
    """Everything the routes read, and the tasks that keep it current.

    Args:
        settings: the server's settings.
        store: the open store (closed by :meth:`stop`).
        event_socket: the bound event socket (None: follow the events recorded in the
            store instead).
        event_socket_path: its path, removed by :meth:`stop`.
    """

    def __init__(
        self,
        settings: ServerSettings,
        store: OperatorStore,
        event_socket: socket.socket | None = None,
        event_socket_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.catalog = ConfigCatalog()
        self.registry = MachineRegistry(self.catalog.group_of, self.catalog.max_time_of)
        self.recent = RecentEvents(settings.recent_events)
        self.hub = Hub(settings.client_queue_size)
        self.metrics = StoreMetrics(store, self.catalog.get)
        self.series = (
            None
            if settings.stream_only
            else SeriesRecorder(
                self.metrics,
                store,
                interval=settings.series_interval,
                window=settings.series_window,
            )
        )
        self._socket = event_socket
        self._socket_path = event_socket_path
        self._listener: Listener | None = None
        self._feed = StoreFeed(store, self.on_event) if event_socket is None else None
        self._refresher: asyncio.Task[None] | None = None
        self._lookup_wanted: asyncio.Event | None = None
        self._last_machines = ""

    @property
    def source(self) -> str:
        """Where live events come from: ``socket`` (this host) or ``store`` (every host)."""
        return "store" if self._feed is not None else "socket"

    async def start(self) -> None:
        """Read back recent events and machines, then start listening."""
        self._lookup_wanted = asyncio.Event()
        last_id = await self.store.last_realtime_id()
        replayed, complete = await read_back(self.store, self.settings.recent_events, upto=last_id)
        for event in replayed:
            self.registry.apply_event(event)
        # Datagrams sent while the store was read wait in the socket and come again;
        # the feed starts right after the last event read back, so none comes twice.
        self.recent.replayed(replayed, complete=complete, may_arrive_again=self._feed is None)
        await self.refresh_machines()
        self._last_machines = self._machines_message()
        if self._socket is not None:
            self._listener = await event_socket.listen(self._socket, self.on_datagram)
        if self._feed is not None:
            self._feed.start(after_id=last_id)
        self._refresher = asyncio.create_task(self._refresh_loop(), name="monitor:refresh")
        if self.series is not None:
            self.series.start()

    async def stop(self) -> None:
        if self.series is not None:
            await self.series.stop()
        if self._refresher is not None:
            await cancel_and_wait(self._refresher)
        if self._feed is not None:
            await self._feed.stop()
        if self._listener is not None:
            self._listener.close()
        if self._socket is not None and self._socket_path is not None:
            event_socket.release(self._socket, self._socket_path)
        await self.store.close()

    # -- live events ------------------------------------------------------------------

    def on_datagram(self, data: bytes) -> None:
        event = stream.from_datagram(data)
        if event is not None:
            self.on_event(event)

    def on_event(self, event: Event) -> None:
        """Apply one live event and queue it for every client."""
        if not self.recent.add(event):
            return
        self.registry.apply_event(event)
        self.hub.publish(json.dumps({"kind": "event", "event": event}, ensure_ascii=False))
        if self._lookup_wanted is not None and self.registry.needs_record(event["machine_name"]):
            self._lookup_wanted.set()

    def snapshot(self) -> str:
        """The first message a WebSocket client receives."""
        return json.dumps(
            {
                "kind": "snapshot",
                "machines": self.machines(),
                "events": self.recent.last(SNAPSHOT_EVENTS),
                "control": self.settings.allow_control,
            },
            ensure_ascii=False,
        )

    async def events(self, limit: int, *, machine: str | None = None) -> list[Event]:
        """The newest ``limit`` events (of ``machine``), oldest first: from memory, or
        from the store when memory holds fewer than that and older ones may exist."""
        found = self.recent.last(limit, machine=machine)
        if len(found) >= limit or self.recent.complete:
            return found
        records, _ = await newest(self.store, limit, machine=machine)
        return merged([stream.from_record(record) for record in records], found, limit)

    # -- machines from the store ------------------------------------------------------

    def machines(self) -> list[dict[str, Any]]:
        """Every machine the server knows of, with those its system expects, by name."""
        machines = self.registry.machines(now=time.time())
        if self.settings.system is None:
            return machines
        try:
            expected = self.settings.system.machines()
        except Exception:  # a manifest or state file that cannot be read: no expectations
            logger.warning("could not read the system's machines", exc_info=True)
            return machines
        return with_expected(machines, expected)

    def machine(self, name: str) -> dict[str, Any] | None:
        """One machine of :meth:`machines`, if there is one of that name."""
        if self.settings.system is None:
            return self.registry.get(name, now=time.time())
        return next((m for m in self.machines() if m["name"] == name), None)

    async def refresh_machines(self) -> None:
        now = time.time()
        records = await self.store.list_machines()
        self.registry.apply_records(
            [(record, liveness(record, now=now)) for record in records], now=now
        )

    async def _refresh_loop(self) -> None:
        assert self._lookup_wanted is not None
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._lookup_wanted.wait(), MACHINES_REFRESH_SECONDS)
                await asyncio.sleep(NEW_MACHINE_LOOKUP_DELAY_SECONDS)
            self._lookup_wanted.clear()
            try:
                await self.refresh_machines()
            except Exception:  # a store hiccup must not end the refreshes
                logger.warning("could not read machines from the store", exc_info=True)
                continue
            message = self._machines_message()
            if message != self._last_machines:
                self._last_machines = message
                self.hub.publish(message)

    def _machines_message(self) -> str:
        return json.dumps({"kind": "machines", "machines": self.machines()}, ensure_ascii=False)

    def describe(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "machines": len(self.registry),
            "clients": len(self.hub),
            "source": self.source,
        }
