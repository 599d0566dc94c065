"""Whether a process has ended, learned from a pidfd (never by sleeping), and ``/proc``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

#: How long a signalled process may take to end, in seconds.
GRACE = 5.0


def _stat(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def is_zombie(pid: int) -> bool:
    """Whether ``pid`` has exited (gone, or a zombie not yet reaped)."""
    fields = _stat(pid)
    return fields is None or fields[0] in ("Z", "X")


def live_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are still running (zombies excluded)."""
    members = []
    for entry in os.listdir("/proc"):
        fields = _stat(entry) if entry.isdigit() else None
        if fields is not None and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry))
    return members


def live_children() -> set[int]:
    """Pids of this process's children that are still running (not zombies)."""
    me = os.getpid()
    found = set()
    for entry in os.listdir("/proc"):
        fields = _stat(entry) if entry.isdigit() else None
        if fields is not None and int(fields[1]) == me and fields[0] != "Z":
            found.add(int(entry))
    return found


def exited_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


class Watched:
    """A pidfd on a process, opened now, to learn later for certain whether it ended.

    Opening it before the process is told to end means a recycled pid can never pass
    for the one watched.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        try:
            self.fd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:
            self.fd = None  # already exited and reaped

    def exited(self, timeout: float = GRACE) -> bool:
        """Whether the process has exited (zombies count) or does so within ``timeout``."""
        if self.fd is None:
            return True
        readable, _, _ = select.select([self.fd], [], [], timeout)
        return bool(readable)

    async def ended(self, within: float = GRACE) -> bool:
        """:meth:`exited`, awaited on the running loop.

        The grace only covers signal delivery racing the check; a live ``sleep 300``
        never ends in it on its own.
        """
        if self.fd is None:
            return True
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        loop.add_reader(self.fd, lambda: done.done() or done.set_result(None))
        try:
            await asyncio.wait_for(done, within)
        except asyncio.TimeoutError:
            return False
        finally:
            loop.remove_reader(self.fd)
        return True

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> Watched:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def has_exited(pid: int, timeout: float = GRACE) -> bool:
    """Whether ``pid`` exits (zombies count) within ``timeout``; blocks."""
    with Watched(pid) as watched:
        return watched.exited(timeout)


async def ended(pid: int, within: float = GRACE) -> bool:
    """Whether ``pid`` exits (zombies count) within ``within``; awaits."""
    with Watched(pid) as watched:
        return await watched.ended(within)


class Reaper:
    """Processes a test started outside the fixtures: watched from now, killed if alive.

    Each is watched through a pidfd opened when the test hands it over, so the kill at
    the end (sent through that pidfd) can never reach another process that got its pid.
    """

    def __init__(self) -> None:
        self.watched: list[Watched] = []

    def watch(self, *pids: int) -> list[Watched]:
        """Watch ``pids``; their :class:`Watched`, in order (closed by :meth:`finish`)."""
        new = [Watched(pid) for pid in pids]
        self.watched.extend(new)
        return new

    def finish(self) -> list[int]:
        """Kill the watched processes still running; their pids."""
        survivors = []
        for watched in self.watched:
            if watched.fd is not None and not watched.exited(timeout=0):
                with contextlib.suppress(ProcessLookupError):
                    signal.pidfd_send_signal(watched.fd, signal.SIGKILL)
                survivors.append(watched.pid)
            watched.close()
        return survivors


def ended_pid() -> int:
    """The pid of a process that has ended and been reaped: a holder that is gone."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@contextlib.contextmanager
def zombie_pid() -> Iterator[int]:
    """The pid of a process that has ended but is not reaped (a zombie) while the block
    runs: a machine killed a moment ago, before its parent reaped it."""
    process = subprocess.Popen(["true"])
    try:
        os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)  # ended, not reaped
        yield process.pid
    finally:
        process.wait()
