"""How ``statemachine-system`` commands talk to a running supervisor: its control socket.

A supervisor that is up listens on ``system-<name>.sock`` in the store's private socket
directory (bound owner-only, like the machines' control sockets). A request is one line
of JSON, ``{"command": "restart", "processes": [...], "grace": S}``; the answer is one
line of JSON, ``{"ok": true, "said": [...]}`` or ``{"ok": false, "error": "..."}``,
written once the request is done. Both are bounded in size before they are parsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .._files import bind_private_stream, clear_socket_path
from ..errors import StateMachineError

logger = logging.getLogger("statemachine_engine.system")

#: The longest request a supervisor reads, and the longest answer a command reads.
MAX_MESSAGE_BYTES = 64 * 1024
#: How long closing waits for the requests in flight.
CLOSE_WAIT_SECONDS = 1.0

#: Answers a request (a JSON object) with a JSON object.
Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ControlServer:
    """The supervisor's end: each request on ``path`` is answered by ``handle``."""

    def __init__(self, path: Path, handle: Handler) -> None:
        self.path = path
        self.handle = handle
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        """Listen on :attr:`path`.

        Raises:
            StateMachineError: the path is taken by a file, or cannot be bound.
        """
        clear_socket_path(self.path)  # a supervisor killed outright left it
        try:
            sock = bind_private_stream(self.path)
        except OSError as exc:
            raise StateMachineError(f"cannot listen on {self.path}: {exc.strerror}") from exc
        self._server = await asyncio.start_unix_server(
            self._serve, sock=sock, limit=MAX_MESSAGE_BYTES
        )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                request = json.loads(await reader.readline())
            except (ValueError, asyncio.LimitOverrunError) as exc:
                answer: dict[str, Any] = {"ok": False, "error": f"bad request: {exc}"}
            else:
                if isinstance(request, dict):
                    answer = await self.handle(request)
                else:
                    answer = {"ok": False, "error": "bad request: not a JSON object"}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, OSError) as exc:  # the command went away: nothing to say
            logger.info("a control request was not answered: %s", exc)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def close(self) -> None:
        """Take no more requests; the socket's file goes."""
        if self._server is not None:
            self._server.close()
            # (From Python 3.12 on this waits for the requests in flight too; a restart
            # waiting on a machine is ended by the down that follows, not waited for.)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), CLOSE_WAIT_SECONDS)
            self._server = None
        with contextlib.suppress(OSError):
            self.path.unlink()


def ask(path: Path, request: dict[str, Any], *, timeout: float) -> dict[str, Any]:
    """Send ``request`` to the supervisor listening on ``path``; its answer.

    Raises:
        StateMachineError: no supervisor listens there, or it did not answer within
            ``timeout`` seconds, or its answer is not one.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
            sock.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while len(data) <= MAX_MESSAGE_BYTES and (chunk := sock.recv(MAX_MESSAGE_BYTES)):
                data += chunk
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise StateMachineError(
                f"the supervisor does not listen on {path} (is it still starting?)"
            ) from exc
        except TimeoutError as exc:
            raise StateMachineError(f"the supervisor did not answer within {timeout:g}s") from exc
        except OSError as exc:
            raise StateMachineError(f"cannot talk to the supervisor: {exc.strerror}") from exc
    try:
        answer = json.loads(data[:MAX_MESSAGE_BYTES])
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise StateMachineError("the supervisor's answer is not one (did it end meanwhile?)")
    return answer
