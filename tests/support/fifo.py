"""A named pipe a shell command writes a line to (a pid, say); the test reads it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import time
from pathlib import Path

import pytest

#: How long a test waits for a line, in seconds.
DEADLINE = 15.0


class Fifo:
    """A FIFO at ``path``, open from creation until :meth:`close`.

    It is opened read-write: the test counts as a writer too, so a read never sees a
    premature end of file and the shell's ``open()`` for writing never blocks.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path)
        self._fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        self._buffer = b""

    def __str__(self) -> str:
        return str(self.path)

    def readline(self, timeout: float = DEADLINE) -> str:
        """The next line, without its newline; blocks (fails after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            readable, _, _ = select.select([self._fd], [], [], max(0.0, remaining))
            if not readable:
                pytest.fail(f"nothing written to {self.path} within {timeout}s")
            self._read()
        return self._take_line()

    async def wait_line(self, timeout: float = DEADLINE) -> str:
        """:meth:`readline` for async tests: the loop runs while it waits."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while b"\n" not in self._buffer:
            ready: asyncio.Future[None] = loop.create_future()
            loop.add_reader(self._fd, lambda ready=ready: ready.done() or ready.set_result(None))
            try:
                await asyncio.wait_for(ready, max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                pytest.fail(f"nothing written to {self.path} within {timeout}s")
            finally:
                loop.remove_reader(self._fd)
            self._read()
        return self._take_line()

    def _read(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self._buffer += os.read(self._fd, 4096)

    def _take_line(self) -> str:
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def write(self, line: str) -> None:
        """Write ``line`` and a newline, for a shell command reading the FIFO."""
        os.write(self._fd, f"{line}\n".encode())

    def close(self) -> None:
        os.close(self._fd)
