"""The event socket: machines' realtime datagrams in, one callback per datagram out.

This is the only module that binds the event socket. One process may listen on it at a
time; a socket file left by a listener that died is reclaimed.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from pathlib import Path

from .._files import bind_private_datagram, check_event_socket_directory, clear_socket_path
from ..errors import EventSocketBusy as EventSocketBusy  # re-exported: the older path
from ..errors import StateMachineError

#: Kernel buffer for datagrams that arrive while the server is busy.
RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024


def bind_event_socket(path: Path) -> socket.socket:
    """Bind the event socket (owner-only); refuse when another listener is alive.

    Raises:
        EventSocketBusy: a live process listens there.
        StateMachineError: the path cannot be bound.
    """
    check_event_socket_directory(path)
    if os.path.lexists(path):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            probe.connect(str(path))
        except OSError:
            clear_socket_path(path)  # left behind by a listener that died
        else:
            raise EventSocketBusy(
                f"another monitor is listening on {path} (statemachine-ui or "
                "statemachine-events); stop it, or give this one --event-socket-path"
            )
        finally:
            probe.close()
    try:
        sock = bind_private_datagram(path)
    except OSError as exc:
        raise StateMachineError(f"cannot listen on {path}: {exc.strerror}") from exc
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
    return sock


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes], None]) -> None:
        self._on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: object) -> None:
        self._on_datagram(data)


async def listen(
    sock: socket.socket, on_datagram: Callable[[bytes], None]
) -> asyncio.DatagramTransport:
    """Call ``on_datagram`` for every datagram on ``sock`` (from the event loop)."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(on_datagram), sock=sock)
    return transport


def release(sock: socket.socket, path: Path) -> None:
    """Close the socket and remove its file."""
    sock.close()
    path.unlink(missing_ok=True)
