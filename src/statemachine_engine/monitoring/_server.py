"""Running the monitoring server: bind its sockets, start the monitor, serve with uvicorn.

Everything that can fail because of the user's input (the store, a busy event socket,
a busy port) fails here, before uvicorn starts, as a one-line error.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn

from ..errors import EventSocketBusy, StateMachineError
from ..messaging._event_socket import bind_event_socket, release
from ._settings import ServerSettings

BACKLOG = 2048
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
#: WebSocket messages clients send are never large (they need send nothing).
MAX_CLIENT_MESSAGE_BYTES = 64 * 1024
LOUD_WARNING = """\
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!! {prog} listens on {host} WITHOUT A TOKEN: anyone who can reach this
!! address sees every machine, job and event{control}.
!! Give --token (or ${env}) to require one.
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"""


def serve(settings: ServerSettings, *, prog: str) -> int:
    """Run the server until SIGINT or SIGTERM; returns the exit status."""
    return asyncio.run(_serve(settings, prog))


async def _serve(settings: ServerSettings, prog: str) -> int:
    from ..database import open_store
    from ..messaging._realtime import default_event_socket_path
    from ..settings import UI_TOKEN_ENV
    from ._app import create_app
    from ._monitor import Monitor

    if not settings.loopback and settings.token is None:
        control = " and can send events and change jobs" if settings.allow_control else ""
        print(
            LOUD_WARNING.format(prog=prog, host=settings.host, control=control, env=UI_TOKEN_ENV),
            file=sys.stderr,
            flush=True,
        )
    process = settings.process_settings()
    with contextlib.ExitStack() as cleanup:
        event_socket = None
        path: Path | None = None
        if _takes_the_event_socket(settings):
            path = settings.event_socket_path or default_event_socket_path(process)
            try:
                event_socket = bind_event_socket(path)
            except EventSocketBusy:
                print(
                    f"{prog}: {path} is held by another listener; following the events "
                    "machines record in the store instead",
                    file=sys.stderr,
                    flush=True,
                )
                path = None
            else:
                cleanup.callback(release, event_socket, path)
        tcp = bind_tcp(settings.host, settings.port)
        cleanup.callback(tcp.close)
        store = open_store(create=False, settings=process)  # it shows a store, never makes one
        monitor = Monitor(settings, store, event_socket, path)
        await monitor.start()
        cleanup.pop_all()  # the monitor owns the event socket and the store now
        try:
            server = _Server(_uvicorn_config(create_app(monitor)))
            # Everything loaded so far lives as long as the server: out of the collector's
            # sight, a full collection walks only what the stream keeps (35 ms -> a few).
            gc.freeze()
            host, port = tcp.getsockname()[:2]
            where = f"events from {path}" if path else f"events recorded in {store.location}"
            if not settings.websocket:
                where += "; no /ws/events (--no-websocket): the page polls"
            shown = f"[{host}]" if ":" in host else host
            # Catch SIGTERM/SIGINT before saying "serving": whoever stops the server once it
            # is up must get a clean stop (store closed, socket file removed), not a kill.
            with server.capture_signals():
                print(
                    f"{prog}: serving http://{shown}:{port}/ ({where})", file=sys.stderr, flush=True
                )
                await server.serve(sockets=[tcp])
        finally:
            tcp.close()
            await monitor.stop()
    return 0


def _takes_the_event_socket(settings: ServerSettings) -> bool:
    """Whether live events come from the event socket rather than from the store.

    A PostgreSQL store holds the events of every host, so the server follows it; with
    SQLite the socket is faster and needs no store write, unless no WebSocket client
    would benefit (``--no-websocket``: the page polls what the store recorded).
    """
    location = settings.process_settings().db
    return settings.websocket and not location.lower().startswith(POSTGRES_SCHEMES)


def bind_tcp(host: str, port: int) -> socket.socket:
    """A listening TCP socket (connections wait in its backlog until uvicorn accepts
    them, so the server is reachable once this returns); a busy port is a one-line error."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise StateMachineError(f"cannot listen on {host}: {exc.strerror}") from exc
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise StateMachineError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.set_inheritable(True)
    return sock


def _uvicorn_config(app: Callable[..., object]) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        server_header=False,
        lifespan="off",
        ws="websockets-sansio",
        # Compressing each message once per client would cost more than it saves here.
        ws_per_message_deflate=False,
        ws_max_size=MAX_CLIENT_MESSAGE_BYTES,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, stopping on SIGINT/SIGTERM without re-raising them afterwards
    (so the monitor closes the store and removes its socket file)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


_SIGNALS = (signal.SIGINT, signal.SIGTERM)
