"""How one monitoring server runs: a small frozen settings object and its defaults."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..settings import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_UI_PORT = 3001
DEFAULT_STREAM_PORT = 3002
#: Messages waiting for one WebSocket client before the oldest are dropped.
CLIENT_QUEUE_SIZE = 2000
#: Realtime events kept in memory (snapshot, /api/events), replayed from the store at start.
RECENT_EVENTS = 2000
#: Events sent in a snapshot to a client that just connected.
SNAPSHOT_EVENTS = 500
#: How often liveness is recomputed from the store and sent as a ``machines`` message.
MACHINES_REFRESH_SECONDS = 3.0
#: The charts' series (``/api/series``): seconds between samples, and seconds kept.
SERIES_INTERVAL_SECONDS = 10.0
SERIES_WINDOW_SECONDS = 3600.0


class SystemSource(Protocol):
    """The system a server runs for (``statemachine-ui --manifest``), as the layer
    above knows it: this one knows neither manifests nor supervisors."""

    def machines(self) -> list[dict[str, Any]]:
        """Each machine the system starts: ``{name, process, config, restarts,
        process_state, last_exit}``."""

    def log(self, name: str, *, lines: int, cursor: str | None) -> dict[str, Any] | None:
        """``{file, lines, cursor}`` of machine ``name``'s log (None: no such log)."""


@dataclass(frozen=True)
class ServerSettings:
    """Everything a monitoring server needs to start.

    Attributes:
        host: interface to bind (loopback by default).
        port: TCP port (0: any free port, printed at start).
        db: the store (path or URL; None: ``$STATEMACHINE_DB`` / the default).
        event_socket_path: where machines send realtime events (None: the default).
        project_root: where ``docs/fsm-diagrams`` and config files are looked up.
        token: required on every API and WebSocket request when set.
        allow_control: enables the POST endpoints (send events, retry and cancel jobs).
        websocket: serve ``/ws/events`` (without it the page polls the API, and live
            events are taken from the store rather than the event socket).
        stream_only: serve only ``/ws/events`` and ``/health`` (the compat stream server).
        metrics: serve ``/metrics`` for Prometheus (docs/observability.md).
        allowed_origins: extra browser origins allowed to open the WebSocket.
        process: the process's settings (None: from the environment, with ``db``).
        system: the machines the system the server runs for starts, with their
            supervisor's view (``statemachine-ui --manifest``); None: no system.
        series_interval: seconds between two samples of the charts' series.
        series_window: seconds of samples the charts' series keep.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_UI_PORT
    db: str | None = None
    event_socket_path: Path | None = None
    project_root: Path = Path()
    token: str | None = None
    allow_control: bool = False
    websocket: bool = True
    stream_only: bool = False
    metrics: bool = True
    allowed_origins: tuple[str, ...] = ()
    client_queue_size: int = CLIENT_QUEUE_SIZE
    recent_events: int = RECENT_EVENTS
    process: Settings | None = None
    system: SystemSource | None = None
    series_interval: float = SERIES_INTERVAL_SECONDS
    series_window: float = SERIES_WINDOW_SECONDS

    def process_settings(self) -> Settings:
        """The process's settings, for the store :attr:`db`."""
        return (self.process or Settings.load()).with_flags(db=self.db)

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
