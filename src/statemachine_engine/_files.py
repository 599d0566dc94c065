"""Files that cannot be planted: locks, sockets and their directories.

A machine creates lock files and binds sockets at paths an operator may place in a
directory other users can write to (``--control-socket-prefix /tmp/...``). There,
another user could plant a symbolic link or a file of their own at the path first, and
make the machine truncate the file the link points to, or talk to their socket. So:

- a directory that holds our files must belong to us (or root) and, if others can write
  to it, have the sticky bit (like ``/tmp``), so that nobody else can remove or rename
  what we create there (:func:`check_directory`);
- a lock is opened with ``O_NOFOLLOW`` and used only if it is a regular file of ours
  with one link (:func:`open_lock`);
- an old entry at a socket's path is removed only if it is our own socket or link; a
  file, or anything of another user's, is refused (:func:`clear_socket_path`). ``bind``
  itself never follows a link: it fails on any existing entry, and a socket is bound
  readable and writable by its owner only (:func:`bind_private_datagram`).

Every refusal is a :class:`~statemachine_engine.errors.StateMachineError` of one line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import StateMachineError

if TYPE_CHECKING:
    from asyncio import AbstractEventLoop

#: Modes of a lock file (owner-only).
LOCK_MODE = 0o600


def writable_by_others(directory: Path) -> bool:
    """Whether users other than its owner may create files in ``directory``."""
    try:
        return bool(os.stat(directory).st_mode & 0o022)
    except OSError:
        return False


def check_directory(directory: Path, what: str) -> None:
    """Refuse ``directory`` for ``what`` when another user could plant files in it.

    It must belong to this user or root; if group or others may write to it, it must
    have the sticky bit (then only a file's owner may remove or rename it).
    """
    try:
        info = os.stat(directory)
    except OSError as exc:
        raise StateMachineError(f"cannot use {directory} for {what}: {exc.strerror}") from exc
    if not stat.S_ISDIR(info.st_mode):
        raise StateMachineError(f"cannot use {directory} for {what}: not a directory")
    if info.st_uid not in (os.getuid(), 0):
        raise StateMachineError(
            f"refusing {directory} for {what}: it belongs to another user "
            f"(uid {info.st_uid}), who could plant files there; use a directory of your own"
        )
    if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
        raise StateMachineError(
            f"refusing {directory} for {what}: other users may write to it and it has no "
            "sticky bit, so they could replace our files; use a directory of your own"
        )


def open_lock(path: Path) -> int:
    """Open (creating it owner-only) the lock file ``path``; returns its descriptor.

    Refuses a symbolic link, a file that is not regular, one of another user and one with
    more than one name (a hard link to another file): the caller truncates and writes it.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY
    try:
        fd = os.open(path, flags, LOCK_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StateMachineError(
                f"refusing lock file {path}: it is a symbolic link (planted to make this "
                "machine overwrite another file?); remove it and start again"
            ) from None
        raise StateMachineError(f"cannot open lock file {path}: {exc.strerror}") from exc
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = "it is not a regular file"
    elif info.st_uid != os.getuid():
        problem = f"it belongs to another user (uid {info.st_uid})"
    elif info.st_nlink != 1:
        problem = f"it has {info.st_nlink} names (a hard link to another file?)"
    if problem is not None:
        os.close(fd)
        raise StateMachineError(f"refusing lock file {path}: {problem}; remove it and start again")
    return fd


def open_existing_lock(path: Path) -> int | None:
    """Open the lock file ``path`` to look at it, never following a link; None if absent
    (or not a lock we can trust)."""
    return open_own_file(path, os.O_RDWR | os.O_NOCTTY)


def open_own_file(path: Path, flags: int) -> int | None:
    """A descriptor of ``path`` opened with ``flags``, never following a link; None if it
    is absent, or not a regular file of ours."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
        os.close(fd)
        return None
    return fd


def clear_socket_path(path: Path) -> None:
    """Remove a stale socket or link of ours at ``path`` before binding there.

    Raises:
        StateMachineError: ``path`` is another user's, or a file that is not a socket or
            link (it is not ours to remove).
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StateMachineError(f"cannot use socket path {path}: {exc.strerror}") from exc
    if info.st_uid != os.getuid():
        raise StateMachineError(
            f"refusing socket path {path}: it belongs to another user (uid {info.st_uid}); "
            "remove it or choose another path"
        )
    if not (stat.S_ISSOCK(info.st_mode) or stat.S_ISLNK(info.st_mode)):
        raise StateMachineError(
            f"refusing socket path {path}: it is an existing file, not a socket; "
            "remove it or choose another path"
        )
    try:
        path.unlink()  # a link itself goes, never what it points to
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise StateMachineError(f"cannot remove stale socket {path}: {exc.strerror}") from exc


def bind_private_datagram(path: Path) -> socket.socket:
    """A non-blocking Unix datagram socket bound at ``path``, usable by its owner only.

    Raises:
        OSError: ``path`` cannot be bound (the socket is closed).
    """
    return _bind_private(path, socket.SOCK_DGRAM)


def bind_private_stream(path: Path) -> socket.socket:
    """A listening non-blocking Unix stream socket bound at ``path``, usable by its
    owner only.

    Raises:
        OSError: ``path`` cannot be bound (the socket is closed).
    """
    return _bind_private(path, socket.SOCK_STREAM)


#: The longest path a Unix socket can be bound at (Linux: 108 bytes with the final NUL).
MAX_SOCKET_PATH = 107


def _bind_private(path: Path, kind: socket.SocketKind) -> socket.socket:
    length = len(os.fsencode(path))
    if length > MAX_SOCKET_PATH:
        raise OSError(
            errno.ENAMETOOLONG,
            f"the path is {length} bytes long, over the {MAX_SOCKET_PATH} a Unix socket "
            "takes: use a shorter name or directory",
        )
    sock = socket.socket(socket.AF_UNIX, kind)
    sock.setblocking(False)
    old_umask = os.umask(0o177)
    try:
        sock.bind(str(path))
        if kind == socket.SOCK_STREAM:
            sock.listen()
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old_umask)
    return sock


def close_datagram(
    sock: socket.socket | None, path: Path | None, loop: AbstractEventLoop | None
) -> None:
    """Undo :func:`bind_private_datagram` and the reading of its socket, as far as they
    were done: ``loop`` stops reading ``sock``, which is closed; its file ``path`` goes."""
    if sock is not None:
        if loop is not None:
            with contextlib.suppress(Exception):  # (a loop closed already reads nothing)
                loop.remove_reader(sock.fileno())
        sock.close()
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def check_event_socket_directory(path: Path) -> None:
    """Refuse an event socket whose directory other users may write to.

    Machines send their events to whatever socket is bound there, so another user able
    to create files in the directory (even a sticky one like ``/tmp``) could listen in
    place of the monitor.
    """
    directory = path.parent
    check_directory(directory, "the event socket")
    if writable_by_others(directory):
        raise StateMachineError(
            f"refusing event socket {path}: other users may create files in {directory} "
            "and could listen there in place of the monitor; use a directory of your own "
            "(the default is events.sock in the store's private socket directory)"
        )


_ABSOLUTE: dict[str, str] = {}


def absolute_path(path: str) -> str:
    """``os.path.abspath(path)``, worked out once for each absolute ``path`` (thousands of
    machines started from one config ask for the same one). A relative path depends on
    the working directory at the time: worked out each time."""
    if not os.path.isabs(path):
        return os.path.abspath(path)
    found = _ABSOLUTE.get(path)
    if found is None:
        found = _ABSOLUTE[path] = os.path.normpath(path)
    return found
