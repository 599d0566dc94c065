"""The event socket: machines' realtime datagrams in, one callback per datagram out.

This is the only module that binds the event socket. One process may listen on it at a
time; a socket file left by a listener that died is reclaimed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path

from .._files import bind_private_datagram, check_event_socket_directory, clear_socket_path
from ..errors import EventSocketBusy as EventSocketBusy  # re-exported: the older path
from ..errors import StateMachineError

logger = logging.getLogger("statemachine_engine.realtime")

#: Kernel buffer for datagrams that arrive while the server is busy.
RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024
#: Longest datagram read whole (Linux's default send buffer bounds a datagram near
#: 208 KiB); a longer one is cut, so it is not JSON and is ignored.
MAX_DATAGRAM_BYTES = 256 * 1024
#: Datagrams read at one wake-up at most, so that the loop's other work goes on.
READ_BATCH = 256


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


class Listener:
    """Reads the event socket from the event loop: every datagram waiting at each wake-up.

    Not asyncio's datagram transport: that reads one datagram a loop iteration, each
    into a fresh 256 KiB buffer (20 us apiece); a machine's sends can only wait ten deep
    in the kernel (``net.unix.max_dgram_qlen``), so the socket is emptied at once and
    into one reused buffer.
    """

    def __init__(self, sock: socket.socket, on_datagram: Callable[[bytes], None]) -> None:
        self._sock = sock
        self._on_datagram = on_datagram
        self._buffer = bytearray(MAX_DATAGRAM_BYTES)
        self._view = memoryview(self._buffer)
        self._loop = asyncio.get_running_loop()
        sock.setblocking(False)
        self._loop.add_reader(sock.fileno(), self._read)
        self._open = True

    def _read(self) -> None:
        for _ in range(READ_BATCH):
            try:
                size = self._sock.recv_into(self._buffer)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # as asyncio's transport does: the reading ends, said once
                logger.warning("the event socket failed (%s); no more live events", exc)
                self.close()
                return
            self._on_datagram(bytes(self._view[:size]))

    def close(self) -> None:
        """Stop reading (the socket stays open: :func:`release` closes it)."""
        if self._open:
            self._open = False
            self._loop.remove_reader(self._sock.fileno())


async def listen(sock: socket.socket, on_datagram: Callable[[bytes], None]) -> Listener:
    """Call ``on_datagram`` for every datagram on ``sock`` (from the event loop)."""
    return Listener(sock, on_datagram)


def release(sock: socket.socket, path: Path) -> None:
    """Close the socket and remove its file."""
    sock.close()
    path.unlink(missing_ok=True)
