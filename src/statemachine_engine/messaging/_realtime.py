"""The live event stream: what machines do, as it happens, for monitors.

Each machine sends realtime events as JSON datagrams to the monitor's event socket
(``events.sock`` in the private socket directory, or ``--event-socket-path``), in the
earlier implementation's wire format ``{"machine_name": M, "type": T, "payload": {...}}``
plus a per-machine sequence number ``seq``. Sending never blocks and never fails the
machine: with no monitor listening, or a monitor too slow to keep up, the datagram is
dropped. The events are also recorded in the store's ``realtime_events`` table, in
batches written off the machine's path, so a monitor started later can replay them; the
process that records them also deletes the oldest beyond the settings' retention, as
many as it records, so the table keeps its size whatever the traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._dir_stamp import DirectoryStamp
from .._jsondata import (
    MAX_DEPTH,
    JSONText,
    check,
    encode_compact_str,
    lenient_text,
    sanitize,
)
from ..errors import JSONDataError, StoreError

if TYPE_CHECKING:
    from ..database.store import Store
    from ..settings import Settings

logger = logging.getLogger("statemachine_engine.realtime")

EVENT_SOCKET_NAME = "events.sock"
#: Largest batch of events written to the store in one transaction.
RECORD_BATCH = 500
#: Events are recorded this long after the first of a batch: one commit for many events.
RECORD_DELAY_SECONDS = 0.05
#: The oldest events beyond the retention are deleted after this many were recorded, at
#: a process's first batch, and at least this often: a busy worker records six a job.
PRUNE_EVERY_EVENTS = 5_000
PRUNE_EVERY_SECONDS = 60.0


def default_event_socket_path(settings: Settings, location: str | None = None) -> Path:
    """``events.sock`` in the socket directory of the store at ``location`` (default: the
    one the settings name): each store's machines feed that store's monitor."""
    return settings.socket_dir(location) / EVENT_SOCKET_NAME


class RealtimeStream:
    """A process's way out to the monitor: one socket and one recording queue.

    Every machine of the process publishes through it (through a
    :class:`~statemachine_engine.core._publisher.RealtimePublisher` each), so thousands of
    machines in one process share one socket and their events are recorded in shared
    batches.

    Args:
        socket_path: the monitor's event socket.
        store: where events are recorded for replay (None: not recorded).
        older_than: recorded events older than this many seconds are deleted (None:
            kept for ever).
        keep: the most recorded events kept, the newest (None: no limit).
    """

    def __init__(
        self,
        socket_path: Path,
        store: Store | None = None,
        *,
        older_than: float | None = None,
        keep: int | None = None,
    ) -> None:
        self.socket_path = str(socket_path)
        self._directory = os.path.dirname(self.socket_path) or "."
        #: Set while no monitor's socket is there (:meth:`_deliver`).
        self._absent: DirectoryStamp | None = None
        #: Whether a send in this turn of the event loop found it still absent.
        self._absent_this_turn = False
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._store = store
        self._pending: list[tuple[str, str, Any]] = []
        self._flushing: asyncio.Task[None] | None = None
        self._older_than = older_than
        self._keep = keep
        self._recorded_since_prune = 0
        self._pruned_at: float | None = None  # (monotonic clock) None: the next batch prunes
        #: A batch is on its way to the store (taken from ``_pending``): cancelling the
        #: write could lose it.
        self._writing = False
        self._closing = False

    def send(
        self,
        machine_name: str,
        seq: int,
        event_type: str,
        payload: dict[str, Any],
        *,
        checked: bool = False,
    ) -> None:
        """Send one event now (dropped if nobody listens) and queue it for the store
        (``checked``: the payload is known to be within JSON's bounds)."""
        if not checked:
            try:
                check(payload)
            except JSONDataError:  # NaN or deeper than a reader takes: say what can be said
                payload = sanitize(payload, max_depth=MAX_DEPTH)
        try:
            # Checked above: one plain encoding, for the datagram and the store alike.
            text = JSONText(encode_compact_str(payload))
        except (ValueError, RecursionError):
            text = JSONText(lenient_text(payload))
        if self._may_listen():  # (no datagram made for a monitor known to be absent)
            self._deliver(
                f'{_head(machine_name, event_type)}"payload":{text},"seq":{int(seq)}}}'.encode()
            )
        if self._store is not None:
            self._pending.append((machine_name, event_type, text))
            if self._flushing is None or self._flushing.done():
                with contextlib.suppress(RuntimeError):  # no running loop: flush later
                    self._flushing = asyncio.get_running_loop().create_task(self._flush())

    def _may_listen(self) -> bool:
        """Whether a monitor's socket may be there (else nothing is sent).

        With no monitor, each send would fail after a path lookup (9 µs); while the
        socket directory stays as it was when a send found no socket, none is tried.
        The directory is looked at once per turn of the event loop (a `stat`, ~5 µs
        here; a worker sends six events a job, most of them in one turn): a monitor
        binding its socket is seen from the next turn on.
        """
        absent = self._absent
        if absent is None:
            return True
        if self._absent_this_turn:
            return False
        if absent.unchanged():
            self._still_absent_this_turn()
            return False
        return True  # (the directory changed: _deliver tries)

    def _deliver(self, data: bytes) -> None:
        absent, self._absent = self._absent, None
        try:
            self._sock.sendto(data, self.socket_path)
        except (FileNotFoundError, ConnectionRefusedError):  # no monitor, or a stale socket
            # Stamped before a second try: a monitor binding after it moves the mtime.
            stamp = absent or DirectoryStamp(self._directory)
            if stamp.look():
                try:
                    self._sock.sendto(data, self.socket_path)
                except (FileNotFoundError, ConnectionRefusedError):
                    self._absent = stamp
                except OSError:
                    pass
        except OSError:  # a monitor that cannot keep up: this one is dropped
            pass

    def _still_absent_this_turn(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop, no turns: look at every send
            return
        self._absent_this_turn = True
        loop.call_soon(self._next_turn)

    def _next_turn(self) -> None:
        self._absent_this_turn = False

    async def _flush(self, delay: float = RECORD_DELAY_SECONDS) -> None:
        store = self._store
        assert store is not None
        while self._pending:
            # A write waits the delay first unless a full batch is ready: events published
            # while a write awaits the store (PostgreSQL) join the next batch instead of
            # making a write each.
            if delay and not self._closing and len(self._pending) < RECORD_BATCH:
                await asyncio.sleep(delay)
            batch, self._pending = self._pending[:RECORD_BATCH], self._pending[RECORD_BATCH:]
            self._writing = True
            try:
                # One statement for the whole batch, whichever machines it mixes: the
                # recording keeps up with a host of many busy machines.
                await store.record_realtime_events(batch)
            except StoreError as exc:  # recording is for replay only; never take a machine down
                logger.warning("could not record realtime events: %s", exc)
                return
            except Exception:
                logger.warning("could not record realtime events", exc_info=True)
                return
            finally:
                self._writing = False
            self._recorded_since_prune += len(batch)
            if self._prune_due():
                await self._prune(store)

    def _prune_due(self) -> bool:
        if self._older_than is None and self._keep is None:
            return False
        return (
            self._pruned_at is None
            or self._recorded_since_prune >= PRUNE_EVERY_EVENTS
            or time.monotonic() - self._pruned_at >= PRUNE_EVERY_SECONDS
        )

    async def _prune(self, store: Store) -> None:
        # Twice what was recorded since: the process deletes at least as fast as it
        # records, and many processes recording a little each catch up together.
        limit = max(PRUNE_EVERY_EVENTS, 2 * self._recorded_since_prune)
        self._recorded_since_prune = 0
        self._pruned_at = time.monotonic()
        try:
            await store.prune_realtime_events(
                older_than=self._older_than, keep=self._keep, limit=limit
            )
        except StoreError as exc:  # recording goes on; the next prune deletes what is due
            logger.warning("could not delete old realtime events: %s", exc)

    async def close(self) -> None:
        """Record what is still queued and close the socket."""
        self._closing = True
        flushing = self._flushing
        if flushing is not None and not flushing.done():
            if self._writing:  # a batch on its way lands first (a cancel could lose it)
                await asyncio.wait([flushing])
            else:  # waiting out its delay, or pruning
                flushing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await flushing
        if self._pending:
            await self._flush(delay=0)
        self._sock.close()


def _head(machine_name: str, event_type: str) -> str:
    """The start of a datagram: its machine and event type."""
    return f'{{"machine_name":{_quoted(machine_name)},"type":{_quoted(event_type)},'


def _quoted(text: str) -> str:
    """``text`` as a JSON string: as it is between quotes when nothing in it needs an
    escape (machine names and event types nearly always), else as ``json`` writes it."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text)
