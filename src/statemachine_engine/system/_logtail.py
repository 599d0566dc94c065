"""``statemachine-system logs``: the last lines of each process's log file and, with
``--follow``, every line written after them, across rotation (as ``tail -F`` does).

A log file is read, never created: a process that has not written yet has no lines,
and a followed file that appears later is read from its start. When the supervisor
rotates a file (``<name>.log`` becomes ``<name>.log.1``), the follower reads what is
left of the old file, then goes on with the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

#: How often a followed file is looked at for new lines (as ``tail -f --sleep-interval``).
FOLLOW_EVERY_SECONDS = 0.2
_BLOCK = 64 * 1024


def last_lines(path: Path, count: int, size: int | None = None) -> list[str]:
    """The last ``count`` lines of ``path`` (none if it does not exist), of its first
    ``size`` bytes when given."""
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed below, read from its end
    except FileNotFoundError:
        return []
    with file:
        end = file.seek(0, os.SEEK_END)
        return _tail(file, end if size is None else min(size, end), count)


def _tail(file: BinaryIO, size: int, count: int) -> list[str]:
    """The last ``count`` lines of the first ``size`` bytes of ``file``."""
    if count <= 0:
        return []
    data = b""
    position = size
    while position > 0 and data.count(b"\n") <= count:
        step = min(_BLOCK, position)
        position -= step
        file.seek(position)
        data = file.read(step) + data
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline ending the last line
    return [line.decode("utf-8", "replace") for line in lines[-count:]]


def history(path: Path, count: int, keep: int, size: int | None = None) -> list[str]:
    """The last ``count`` lines of the log ``path`` (of its first ``size`` bytes when
    given), from its rotated files too when it has fewer (``path.1``, then ``path.2``...
    up to ``keep``), oldest first."""
    lines: list[str] = []
    for index in range(keep + 1):
        candidate = path if index == 0 else path.with_name(f"{path.name}.{index}")
        lines = last_lines(candidate, count - len(lines), size if index == 0 else None) + lines
        if len(lines) >= count or not candidate.exists():
            break
    return lines


class Follower:
    """The lines appended to one log file from now on, across its rotation.

    Attributes:
        start: how long the file was when it was opened (None: it did not exist); the
            lines before are history, the lines after are followed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._inode: int | None = None
        self._pending = b""
        self.start: int | None = None
        self._open(at_end=True)

    def _open(self, *, at_end: bool) -> None:
        try:
            file = open(self.path, "rb")  # noqa: SIM115 - kept open while followed
        except FileNotFoundError:
            self._file, self._inode = None, None
            return
        self._file, self._inode = file, os.fstat(file.fileno()).st_ino
        if at_end:
            self.start = file.seek(0, os.SEEK_END)

    def lines(self) -> list[str]:
        """The whole lines written since the last call."""
        found = self._read()
        try:
            inode: int | None = os.stat(self.path).st_ino
        except FileNotFoundError:
            inode = None
        if inode is not None and inode != self._inode:  # rotated, or created
            found += self._read()  # what the old file got before it was renamed
            if self._pending:
                found.append(self._pending.decode("utf-8", "replace"))
                self._pending = b""
            self.close()
            self._open(at_end=False)
            found += self._read()
        return found

    def _read(self) -> list[str]:
        file = self._file
        if file is None:
            return []
        if os.fstat(file.fileno()).st_size < file.tell():  # truncated: start over
            file.seek(0)
            self._pending = b""
        data = self._pending + file.read()
        *lines, self._pending = data.split(b"\n")
        return [line.decode("utf-8", "replace") for line in lines]

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None


async def follow_lines(followers: dict[str, Follower], echo: Callable[[str, str], None]) -> int:
    """Pass every line appended to the files of ``followers`` (by name) to ``echo``,
    until cancelled."""
    try:
        while True:
            for name, follower in followers.items():
                for line in follower.lines():
                    echo(name, line)
            await asyncio.sleep(FOLLOW_EVERY_SECONDS)
    finally:
        for follower in followers.values():
            follower.close()
