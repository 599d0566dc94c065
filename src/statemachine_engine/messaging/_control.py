"""A machine's control socket: a Unix datagram socket that receives events.

(:class:`MachineAlreadyRunning` is raised from here too: it lives in ``errors``.)

Wire format (kept from the earlier implementation): one JSON object per datagram,
``{"type": EVENT, "payload": {...} or "<json string>", "job_id": ..., "source": ...}``.
Reading is event-driven (the loop watches the socket's file descriptor); nothing polls.

The socket file is created owner-only, and a lock file next to it makes sure only one
live process serves a machine name. Neither can be planted (:mod:`.._files`): the
directory is checked, the lock is never opened through a link, and only our own stale
socket or link is removed before binding.
"""

# Annotations are evaluated here (no `from __future__ import annotations`): a NamedTuple
# turns string annotations into ForwardRefs, each compiled at import (docs/performance.md).
import asyncio
import fcntl
import logging
import os
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from .. import _files as files
from .._files import check_directory, clear_socket_path, close_datagram, open_lock
from .._jsondata import MAX_DEPTH, decode
from ..database import _delivery as delivery
from ..errors import JSONDataError, MachineAlreadyRunning, StateMachineError

logger = logging.getLogger("statemachine_engine.control")

#: A datagram of this type only says "events are waiting for you in the store".
WAKE_EVENT = delivery.WAKE_EVENT

#: Largest datagram accepted; bigger payloads go through the store.
MAX_DATAGRAM = 4 * 1024 * 1024

#: Name of the socket a process hosting several machines serves them all through.
HOST_SOCKET_PREFIX = "host-"


class ControlMessage(NamedTuple):
    """One decoded control datagram."""

    type: str
    payload: Any
    job_id: str | None = None
    source: str | None = None
    #: The machine it is for: needed only by a socket serving several machines.
    target: str | None = None


ControlHandler = Callable[[ControlMessage], None]


class ControlSocket:
    """Serve ``path`` and hand each valid message to ``handler(message)``."""

    def __init__(self, path: Path, machine_name: str, handler: ControlHandler) -> None:
        self.path = path
        self.machine_name = machine_name
        self._handler = handler
        self._lock_fd: int | None = None
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def open(self) -> None:
        """Take the name's lock, bind the socket (mode 0600) and start reading."""
        check_directory(self.path.parent, "control sockets")
        self._take_lock()
        try:
            clear_socket_path(self.path)  # stale: its owner no longer holds the lock
            sock = bind_private_datagram(self.path)
        except StateMachineError:
            self._release_lock()
            raise
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._on_readable)

    def close(self) -> None:
        if self._sock is not None:  # (the path is ours only once bound)
            close_datagram(self._sock, self.path, self._loop)
            self._sock = None
        self._release_lock()

    # -- lock ---------------------------------------------------------------

    def _take_lock(self) -> None:
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = open_lock(lock_path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise already_running(self.machine_name, holder) from None
        hosted_by = hosting_pid(self.path)
        if hosted_by is not None:
            os.close(fd)
            raise already_running(self.machine_name, hosted_by)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- reading ------------------------------------------------------------

    def _on_readable(self) -> None:
        assert self._sock is not None
        for data in waiting_datagrams(self._sock):
            self._dispatch(data)

    def _dispatch(self, data: bytes) -> None:
        message = parse_message(data)
        if message is not None:
            self._handler(message)


def bind_private_datagram(path: Path) -> socket.socket:
    """A non-blocking Unix datagram socket bound at ``path``, usable by its owner only."""
    try:
        return files.bind_private_datagram(path)
    except OSError as exc:
        raise StateMachineError(f"cannot bind control socket {path}: {exc.strerror}") from exc


def waiting_datagrams(sock: socket.socket) -> Iterator[bytes]:
    """The datagrams waiting on the non-blocking ``sock``, until none is left."""
    while True:
        try:
            yield sock.recv(MAX_DATAGRAM)
        except (BlockingIOError, InterruptedError):
            return


def already_running(machine_name: str, pid: object) -> MachineAlreadyRunning:
    return MachineAlreadyRunning(
        f"machine {machine_name!r} is already running (pid {pid}); "
        "stop it first or choose another --machine-name",
        machine_name=machine_name,
        pid=pid,
    )


def hosting_pid(path: Path) -> int | str | None:
    """The live process hosting the machine whose control path is ``path``, if any
    (``"?"``: one lives, its pid not found).

    A process hosting many machines serves them through one socket, ``host-<pid>.sock``,
    and makes each machine's control path a hard link to it (a symbolic link where the
    two are on different file systems).
    """
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if stat.S_ISSOCK(info.st_mode):
        return _hard_linked_host(path, info)
    if not stat.S_ISLNK(info.st_mode):
        return None
    try:
        target = os.readlink(path)
    except OSError:  # gone meanwhile
        return None
    name = Path(target).name
    if not (name.startswith(HOST_SOCKET_PREFIX) and name.endswith(".sock")):
        return None
    try:
        pid = int(name[len(HOST_SOCKET_PREFIX) : -len(".sock")])
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return None
    except PermissionError:  # alive, another user's
        pass
    return None if pid == os.getpid() else pid


def _hard_linked_host(path: Path, info: os.stat_result) -> int | str | None:
    """The live host whose socket ``path`` is a hard link to (None: a socket of its own,
    which its lock guards, or one nobody reads any more)."""
    if info.st_nlink < 2:
        return None
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(str(path))  # refused: its process is gone, or closed it
    except OSError:
        return None
    finally:
        probe.close()
    # Someone reads it: name them by the host socket of the same inode beside it.
    try:
        entries = [e for e in os.scandir(path.parent) if e.name.startswith(HOST_SOCKET_PREFIX)]
    except OSError:
        return "?"
    for entry in entries:
        try:
            same = entry.inode() == info.st_ino and entry.stat(follow_symlinks=False).st_dev == (
                info.st_dev
            )
        except OSError:
            continue
        if same:
            try:
                pid = int(entry.name[len(HOST_SOCKET_PREFIX) : -len(".sock")])
            except ValueError:
                return "?"
            return None if pid == os.getpid() else pid
    return "?"


def parse_message(data: bytes) -> ControlMessage | None:
    """Decode one datagram; None (logged) if it is not a valid message."""
    try:
        message = decode(data, what="message", max_depth=MAX_DEPTH + 1)  # + the envelope
    except JSONDataError as exc:
        logger.warning(
            "control socket: %s; message ignored: %.200r"
            if exc.bounded
            else "control socket: ignoring a message that is not JSON (%s): %.200r",
            exc,
            data,
            extra={"action": "control_bad_message", "reason": str(exc)},
        )
        return None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        logger.error(
            'control socket: ignoring a message without a "type": %.200r',
            data,
            extra={"action": "control_bad_message"},
        )
        return None
    payload = message.get("payload")
    if isinstance(payload, str):
        try:
            payload = decode(payload, what="payload") if payload.strip() else {}
        except JSONDataError as exc:
            if exc.bounded:
                logger.warning(
                    "control socket: ignoring event %r: %s",
                    message["type"],
                    exc,
                    extra={"action": "control_bad_payload", "reason": str(exc)},
                )
                return None
            logger.error(
                "control socket: payload of %r is not valid JSON; passing it as text",
                message["type"],
                extra={"action": "control_bad_payload"},
            )
    job_id = message.get("job_id")
    source = message.get("source") or message.get("source_machine")
    target = message.get("target")
    return ControlMessage(
        message["type"],
        {} if payload is None else payload,
        None if job_id is None else str(job_id),
        None if source is None else str(source),
        None if target is None else str(target),
    )
