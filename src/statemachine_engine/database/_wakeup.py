"""Wake-ups: "something changed in the store, look again".

Each store owns how its changes are heard (:meth:`Store.listener` returns a
:class:`Listener`). Topics are ``jobs`` (a job was added or finished), ``machine:<name>``
(an event was committed to that machine's inbox) and ``realtime`` (realtime events were
recorded). The store stays the source of truth: a wake-up only says "check now", so a
lost or spurious one costs nothing but a bounded wait or a query.

The mechanism is the dialect's, chosen by its connector:

- **SQLite** (this module), for processes on one host: a process that waits for work (a
  worker whose queue is empty) binds one datagram socket, ``wake-<pid>.sock`` in the
  store's private socket directory, and whoever commits new work sends a one-line
  datagram naming the topic to every such socket there (:func:`notify`). Machines
  themselves are woken through their control sockets (:mod:`..messaging._delivery`).
- **An in-memory SQLite store** lives in one process: its commits wake that process's
  :class:`TopicWaiters` directly.
- **PostgreSQL**: ``LISTEN``/``NOTIFY`` sent by triggers in the same transaction as the
  change (:mod:`._postgres_listener`), heard on every host.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import errno
import json
import logging
import os
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from .._dir_stamp import DirectoryStamp
from .._files import bind_private_datagram, clear_socket_path, close_datagram
from .._jsondata import decode

logger = logging.getLogger("statemachine_engine.wakeup")

JOBS = "jobs"
REALTIME = "realtime"
_PREFIX = "wake-"


def machine_topic(machine_name: str) -> str:
    """The topic woken when an event is committed to ``machine_name``'s inbox."""
    return f"machine:{machine_name}"


class Listener(Protocol):
    """Where a process waits for a store's wake-ups.

    Waiters take a :meth:`mark` *before* checking the store, then :meth:`wait` from that
    mark: a wake-up that arrives between the check and the wait is not missed.
    """

    def mark(self, topic: str) -> int:
        """A counter of ``topic``'s wake-ups so far."""

    async def wait(self, topic: str, since: int, timeout: float) -> bool:
        """Wait until ``topic`` is woken after mark ``since``; False on timeout."""


class TopicWaiters:
    """Counts wake-ups per topic and resolves the tasks waiting for them.

    :meth:`wake_all` (after a lost connection, say) moves every mark on, so that every
    waiter looks again even at topics never woken before.
    """

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._epoch = 0
        self._waiters: list[tuple[str, asyncio.Future[bool]]] = []

    def mark(self, topic: str) -> int:
        """How many wake-ups ``topic`` has had so far."""
        return self._counts.get(topic, 0) + self._epoch

    async def wait(self, topic: str, since: int, timeout: float) -> bool:
        """Wait until ``topic`` is woken after mark ``since``; False on timeout.

        A plain future and a timer, not ``asyncio.wait_for``: before Python 3.12 that can
        swallow a cancellation arriving together with the wake-up, and the machine
        cancelling this wait (a ``stop``) would then hang until the timeout.
        """
        if self.mark(topic) != since:
            return True
        if timeout <= 0:
            return False
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        entry = (topic, waiter)
        self._waiters.append(entry)
        timer = loop.call_later(timeout, _resolve, waiter, False)
        try:
            return await waiter
        finally:
            timer.cancel()
            self._waiters.remove(entry)

    def wake(self, topics: Iterable[str]) -> None:
        """Count one wake-up of each of ``topics`` and resolve their waiters."""
        woken = set(topics)
        for topic in woken:
            self._counts[topic] = self._counts.get(topic, 0) + 1
        for topic, waiter in self._waiters:
            if topic in woken:
                _resolve(waiter, True)

    def wake_all(self) -> None:
        """Every topic may have changed: every waiter looks again."""
        self._epoch += 1
        for _, waiter in self._waiters:
            _resolve(waiter, True)


def notify(topic: str, directory: Path) -> int:
    """Wake every process waiting in ``directory`` (a store's socket directory on this
    host); returns how many were reached.

    This process's own waiters are woken in place, without a datagram to itself.
    """
    names = _listeners(directory)
    if not names:
        return 0
    reached = 0
    own = WakeupListener.in_this_loop(directory)
    if own is not None and own.name in names:
        names = [name for name in names if name != own.name]
        own.wake((topic,))
        reached += 1
    if not names:
        return reached
    message = json.dumps({"topic": topic}).encode()
    sock = _sender()
    for name in names:
        path = directory / name
        try:
            sock.sendto(message, str(path))
            reached += 1
        except (ConnectionRefusedError, FileNotFoundError):
            _remove_if_stale(path)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ENOBUFS):
                logger.debug("wake-up to %s failed: %s", path, exc)
    return reached


#: Each socket directory's wake-up sockets, listed again only when the directory changes:
#: a host of many machines keeps their control links there, and listing it at every
#: commit that wakes would cost milliseconds.
_listings: dict[Path, tuple[DirectoryStamp, list[str]]] = {}


def _listeners(directory: Path) -> list[str]:
    """The wake-up sockets' names in ``directory`` (none: it does not exist)."""
    cached = _listings.get(directory)
    if cached is not None and cached[0].unchanged():
        return cached[1]
    stamp = DirectoryStamp(directory)
    # Only listeners create the directory (and check it is private); a sender that
    # finds none has nobody to wake.
    if not stamp.look():
        return []
    try:
        names = [name for name in os.listdir(directory) if name.startswith(_PREFIX)]
    except OSError:  # a wake-up must never fail the caller
        return []
    _listings[directory] = (stamp, names)
    return names


_senders: dict[int, socket.socket] = {}


def _sender() -> socket.socket:
    """This process's unbound, non-blocking datagram socket for sending wake-ups (a
    forked child makes its own)."""
    pid = os.getpid()
    sock = _senders.get(pid)
    if sock is None:
        _close_senders()  # a forked child's copy of its parent's
        sock = _senders[pid] = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.setblocking(False)
    return sock


@atexit.register
def _close_senders() -> None:
    for sock in _senders.values():
        sock.close()
    _senders.clear()


def _remove_if_stale(path: Path) -> None:
    """Unlink a wake socket whose process is gone."""
    try:
        pid = int(path.stem[len(_PREFIX) :])
        os.kill(pid, 0)
    except ProcessLookupError:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    except (ValueError, PermissionError):
        return


class WakeupListener(TopicWaiters):
    """This process's wake socket in one store's socket directory, shared by every
    waiter in the process (SQLite)."""

    _instances: dict[Path, WakeupListener] = {}

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self._directory = directory
        self._sock: socket.socket | None = None
        self._path: Path | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def shared(cls, directory: Path) -> WakeupListener:
        """The process's listener in ``directory``, opened on first use in the running loop."""
        loop = asyncio.get_running_loop()
        instance = cls._instances.get(directory)
        if instance is None or instance._loop is not loop:
            if instance is not None:
                instance.close()  # left by an earlier loop: do not leak its socket
            instance = cls._instances[directory] = cls(directory)
            instance.open()
        return instance

    @classmethod
    def in_this_loop(cls, directory: Path) -> WakeupListener | None:
        """The process's open listener in ``directory`` if it serves the running loop."""
        instance = cls._instances.get(directory)
        if instance is None or not instance.serving():
            return None
        return instance

    @property
    def name(self) -> str:
        """The socket's file name in the directory."""
        return f"{_PREFIX}{os.getpid()}.sock"

    def serving(self) -> bool:
        """Whether the socket is open and read by the running event loop."""
        if self._sock is None:
            return False
        try:
            return self._loop is asyncio.get_running_loop()
        except RuntimeError:
            return False

    @classmethod
    def close_all(cls) -> None:
        """Close every listener of this process (tests: between event loops)."""
        for instance in list(cls._instances.values()):
            instance.close()

    def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        path = self._directory / self.name
        clear_socket_path(path)  # left by a dead process that had our pid
        sock = bind_private_datagram(path)
        self._sock, self._path = sock, path
        self._loop.add_reader(sock.fileno(), self._on_readable)

    def close(self) -> None:
        close_datagram(self._sock, self._path, self._loop)
        self._sock, self._path = None, None
        if WakeupListener._instances.get(self._directory) is self:
            del WakeupListener._instances[self._directory]

    def _on_readable(self) -> None:
        assert self._sock is not None
        topics: set[str] = set()
        while True:
            try:
                data = self._sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                break
            try:
                topics.add(str(decode(data, what="wake-up")["topic"]))
            except (ValueError, KeyError, TypeError):  # JSONDataError is a ValueError
                continue
        self.wake(topics)


def _resolve(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)
