"""Starting machine processes through the fork server (:mod:`statemachine_engine._fork_server`).

One server per process, started by the first process child it needs and shared by every
machine the process hosts; requests are serialised, each answered with the child's pid.
When the server cannot be used (it failed to start, it died, the request is too large
for one datagram), :func:`start_machine_process` answers None and the caller starts the
child with ``subprocess`` as before (as it does when ``STATEMACHINE_FORK_SERVER=off``:
``Settings.fork_server``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import weakref
from collections.abc import Mapping, Sequence

logger = logging.getLogger("statemachine_engine.actions.fork_server")

#: As ``statemachine_engine._fork_server.COMMAND_LINE_ROOM`` (that module is the
#: command line's layer: not imported here).
COMMAND_LINE_ROOM = 16 * 1024

#: How long the server may take to load the engine before it is given up on.
READY_TIMEOUT_SECONDS = 10.0
#: Requests larger than this go the ``subprocess`` way (the server reads up to 1 MiB).
MAX_REQUEST_BYTES = 256 * 1024
#: How long a fork may take to be answered, or the server to end once told to, before
#: it is given up on (a fork takes milliseconds).
ANSWER_TIMEOUT_SECONDS = 10.0


class _Server:
    """The running server: its process and the controller's end of the socketpair."""

    def __init__(self, process: subprocess.Popen[bytes], channel: socket.socket) -> None:
        self.process = process
        self.channel = channel
        self.lock = asyncio.Lock()

    async def start_child(self, request: bytes) -> int:
        loop = asyncio.get_running_loop()
        async with self.lock:
            # stdout and stderr of this process go with the request: the child writes
            # where a child started by subprocess would.
            socket.send_fds(self.channel, [request], [1, 2])
            received = loop.sock_recv(self.channel, 4096)
            try:
                raw = await asyncio.wait_for(received, ANSWER_TIMEOUT_SECONDS)
            except TimeoutError:
                raise OSError("the fork server did not answer") from None
            answer = json.loads(raw) if raw else {}  # nothing: the server ended
        if "pid" not in answer:
            raise OSError(answer.get("error", "the fork server ended"))
        return int(answer["pid"])

    def close(self) -> None:
        self.channel.close()


#: One server per event loop (a process runs one; a test suite runs many in turn).
_servers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Server] = (
    weakref.WeakKeyDictionary()
)
_starting: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)
_unusable = False


async def start_machine_process(
    argv: Sequence[str], env: Mapping[str, str], cwd: str | None = None
) -> int | None:
    """Start ``statemachine ARGV`` forked from the server; its pid, or None when the
    server cannot be used (the caller then starts the child itself)."""
    global _unusable
    if _unusable:
        return None
    request = json.dumps({"argv": list(argv), "env": dict(env), "cwd": cwd or os.getcwd()})
    command_line = sum(len(arg.encode()) + 1 for arg in (sys.executable, "-m", "x" * 19, *argv))
    if len(request) > MAX_REQUEST_BYTES or command_line > COMMAND_LINE_ROOM:
        return None  # it would not show as its command line: a fresh interpreter shows it
    loop = asyncio.get_running_loop()
    async with _starting.setdefault(loop, asyncio.Lock()):
        server = _servers.get(loop)
        if server is None or server.process.poll() is not None:
            server = await _launch(env)
            if server is None:
                _unusable = True
                return None
            _servers[loop] = server
    try:
        return await server.start_child(request.encode())
    except (OSError, ValueError) as exc:
        logger.warning("fork server failed (%s); starting children with subprocess", exc)
        await close_fork_server()
        _unusable = True
        return None


async def close_fork_server() -> None:
    """End this loop's server, if it runs (its children run on)."""
    server = _servers.pop(asyncio.get_running_loop(), None)
    if server is not None:
        server.close()  # it ends when it sees its end of the channel close
        try:
            await asyncio.to_thread(server.process.wait, ANSWER_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            server.process.kill()
            await asyncio.to_thread(server.process.wait)


async def _launch(env: Mapping[str, str]) -> _Server | None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        # Popen, not asyncio's: the server must not be tied to one loop's child watcher.
        process = subprocess.Popen(  # noqa: ASYNC220 - returns at once, nothing blocks
            [
                sys.executable,
                "-m",
                "statemachine_engine._fork_server",
                str(theirs.fileno()),
                "-" * COMMAND_LINE_ROOM,  # room for each child's command line
            ],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=dict(env),
        )
    except OSError as exc:
        logger.warning("cannot start the fork server (%s); using subprocess", exc)
        ours.close()
        return None
    finally:
        theirs.close()
    ours.setblocking(False)
    try:
        ready = await asyncio.wait_for(
            asyncio.get_running_loop().sock_recv(ours, 4096), READY_TIMEOUT_SECONDS
        )
    except (TimeoutError, OSError):
        ready = b""
    if b"ready" not in ready:
        logger.warning("the fork server did not start; using subprocess")
        process.kill()
        ours.close()
        return None
    return _Server(process, ours)
