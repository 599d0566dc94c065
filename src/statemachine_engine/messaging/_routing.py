"""One control socket for every machine a process hosts.

A process running thousands of machines cannot give each its own socket and lock (two
file descriptors a machine). It binds one socket, ``host-<pid>.sock`` in the private
socket directory, and makes each machine's usual control path (``control-<name>.sock``)
a hard link to it (a symbolic link where the path is on another file system; the socket
file is the owner's only, mode 0600, through either), so senders reach a hosted machine
exactly as they reach a machine process. Messages name their ``target`` (``wake_machine``
and ``statemachine-db send-event`` do); a message without one is accepted only while the
process hosts a single machine, since the socket cannot tell which link it came through.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .._files import check_directory, clear_socket_path, close_datagram, open_existing_lock
from ..errors import StateMachineError
from ._control import (
    HOST_SOCKET_PREFIX,
    MAX_DATAGRAM,
    ControlMessage,
    already_running,
    bind_private_datagram,
    hosting_pid,
    parse_message,
)

if TYPE_CHECKING:
    from ..settings import Settings

logger = logging.getLogger("statemachine_engine.control")

RoutedHandler = Callable[[str, ControlMessage], None]


class HostControlSocket:
    """Serve the machines of this process; ``handler(machine_name, message)`` gets each message.

    Args:
        handler: called for each message with the machine it is for.
        settings: where sockets go (the control socket prefix, if any, places the
            per-machine links).
        location: the store whose socket directory holds ``host-<pid>.sock`` (default:
            the one the settings name).
    """

    def __init__(
        self, handler: RoutedHandler, settings: Settings, location: str | None = None
    ) -> None:
        self._handler = handler
        self._settings = settings
        self._location = location
        self._links: dict[str, str] = {}
        #: The control path of a machine name.
        self._path_of = settings.control_socket_namer(location=location)
        #: The directories of control paths checked already.
        self._checked: set[str] = set()
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.path: Path | None = None
        #: The socket's file, which hard links to it share.
        self._inode = (0, 0)
        #: False once a hard link was refused (another file system): symbolic links.
        self._hard_links = True

    def open(self) -> None:
        """Bind ``host-<pid>.sock`` (mode 0600) and start reading."""
        directory = self._settings.socket_dir(self._location)
        path = directory / f"{HOST_SOCKET_PREFIX}{os.getpid()}.sock"
        clear_socket_path(path)  # left by a dead process that had our pid
        sock = bind_private_datagram(path)
        self._sock, self.path = sock, path
        info = os.stat(path)
        self._inode = (info.st_dev, info.st_ino)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._on_readable)

    def link(self, machine_name: str) -> None:
        """Make ``machine_name``'s control path lead here; refuse a name another process serves."""
        source = self.path
        assert source is not None, "open() first"
        path = self._path_of(machine_name)
        directory = os.path.dirname(path)
        if directory not in self._checked:  # once per directory, not once per machine
            self._settings.control_socket_path(machine_name, location=self._location)
            check_directory(Path(directory), "control sockets")
            self._checked.add(directory)
        # Nothing is there, the usual case: the link is the one system call. Something
        # there: a live process's socket (refused), else a stale socket or link whose
        # owner is gone, cleared before linking again. A machine process binding there
        # meanwhile (it takes its lock, then binds): the store, which registers a name
        # once, refuses one of the two.
        try:
            self._make_link(source, path)
        except FileExistsError:
            _refuse_if_served(Path(path), machine_name)
            clear_socket_path(Path(path))
            try:
                self._make_link(source, path)
            except OSError as exc:
                raise StateMachineError(f"cannot link {path}: {exc.strerror}") from exc
        except OSError as exc:
            raise StateMachineError(f"cannot link {path}: {exc.strerror}") from exc
        self._links[machine_name] = path

    def _make_link(self, source: Path, path: str) -> None:
        """A hard link to our socket at ``path``: a directory entry, where a symbolic link
        is a new inode (up to 1.5 ms each on a busy ext4, against 20 µs); a symbolic link
        where the file system refuses hard links. Either fails, never follows, if
        something is there."""
        if self._hard_links:
            try:
                os.link(source, path)
                return
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                    raise
                self._hard_links = False  # another file system: symbolic links
        os.symlink(source, path)

    def _is_ours(self, path: str) -> bool:
        """Whether ``path`` still leads to this process's socket."""
        try:
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                return os.readlink(path) == str(self.path)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == self._inode

    def unlink(self, machine_name: str) -> None:
        path = self._links.pop(machine_name, None)
        if path is not None and self.path is not None and self._is_ours(path):
            with contextlib.suppress(OSError):
                os.unlink(path)

    def close(self) -> None:
        for name in list(self._links):
            self.unlink(name)
        close_datagram(self._sock, self.path, self._loop)
        self._sock, self.path = None, None

    def _on_readable(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            message = parse_message(data)
            if message is None:
                continue
            target = message.target
            if target is None and len(self._links) == 1:
                target = next(iter(self._links))
            if target is None or target not in self._links:
                logger.error(
                    "control socket: ignoring %r for %s: this process hosts several machines "
                    'and serves only messages naming one of them as their "target" '
                    "(statemachine-db send-event does)",
                    message.type,
                    "no target" if target is None else f"unknown machine {target!r}",
                    extra={"action": "control_bad_message"},
                )
                continue
            self._handler(target, message)


def _refuse_if_served(path: Path, machine_name: str) -> None:
    """Raise MachineAlreadyRunning if a live process serves ``path``."""
    pid = hosting_pid(path)
    if pid is not None:
        raise already_running(machine_name, pid)
    lock_path = path.with_name(path.name + ".lock")
    fd = open_existing_lock(lock_path)
    if fd is None:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        raise already_running(machine_name, holder) from None
    finally:
        os.close(fd)  # closing releases a lock we took just to look
