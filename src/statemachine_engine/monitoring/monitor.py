"""The server's state and its background work, independent of HTTP.

A :class:`Monitor` owns the store, the machine registry, the recent events and the
client hub. Datagrams from the event socket are applied and fanned out at once (the
reader never waits on a client); a refresh task recomputes liveness from the store
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

from ..database.models.machine_state import liveness
from . import listener, stream
from .configs import ConfigCatalog
from .fanout import Hub
from .machines import MachineRegistry
from .recent import RecentEvents, read_back
from .settings import MACHINES_REFRESH_SECONDS, SNAPSHOT_EVENTS, ServerSettings

if TYPE_CHECKING:
    from ..database.store import Store

logger = logging.getLogger("statemachine_engine.monitoring")

#: A machine that just registered is in the store a moment later: look it up then.
NEW_MACHINE_LOOKUP_DELAY_SECONDS = 0.3


class Monitor:
    """Everything the routes read, and the tasks that keep it current.

    Args:
        settings: the server's settings.
        store: the open store (closed by :meth:`stop`).
        event_socket: the bound event socket (None: no live stream).
        event_socket_path: its path, removed by :meth:`stop`.
    """

    def __init__(
        self,
        settings: ServerSettings,
        store: Store,
        event_socket: socket.socket | None = None,
        event_socket_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.catalog = ConfigCatalog()
        self.registry = MachineRegistry(self.catalog.group_of)
        self.recent = RecentEvents(settings.recent_events)
        self.hub = Hub(settings.client_queue_size)
        self._socket = event_socket
        self._socket_path = event_socket_path
        self._transport: asyncio.DatagramTransport | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._lookup_wanted: asyncio.Event | None = None
        self._last_machines = ""

    @property
    def streaming(self) -> bool:
        return self._socket is not None

    async def start(self) -> None:
        """Read back recent events and machines, then start listening."""
        self._lookup_wanted = asyncio.Event()
        replayed = await read_back(self.store, self.settings.recent_events)
        for event in replayed:
            self.registry.apply_event(event)
        self.recent.replayed(replayed)
        await self.refresh_machines()
        self._last_machines = self._machines_message()
        if self._socket is not None:
            self._transport = await listener.listen(self._socket, self.on_datagram)
        self._refresher = asyncio.create_task(self._refresh_loop(), name="monitor:refresh")

    async def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        if self._transport is not None:
            self._transport.close()
        if self._socket is not None and self._socket_path is not None:
            listener.release(self._socket, self._socket_path)
        await self.store.close()

    # -- live events ------------------------------------------------------------------

    def on_datagram(self, data: bytes) -> None:
        event = stream.from_datagram(data)
        if event is None or not self.recent.add(event):
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
                "machines": self.registry.machines(),
                "events": self.recent.last(SNAPSHOT_EVENTS),
                "control": self.settings.allow_control,
            },
            ensure_ascii=False,
        )

    # -- machines from the store ------------------------------------------------------

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
        return json.dumps(
            {"kind": "machines", "machines": self.registry.machines()}, ensure_ascii=False
        )

    def describe(self) -> dict[str, Any]:
        return {"status": "ok", "machines": len(self.registry), "clients": len(self.hub)}
