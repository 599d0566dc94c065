"""A machine's log file as the UI reads it: its last lines, then the lines written after
a cursor, across rotation. Only files of the system's log directory, regular (never a
symlink) and owned by this user, are ever read; nothing is created or written.

A cursor is ``<inode>:<offset>``: where the last read ended. When the file was rotated
since (its inode is now ``<name>.log.1``'s), the rest of the old file is read, then the
new one from its start.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from .._files import open_own_file
from ._logtail import history

#: The most bytes one read after a cursor returns (the next read goes on from there).
MAX_READ_BYTES = 256 * 1024
#: The most lines a first read returns.
MAX_LINES = 1000


def safe_log(directory: Path, name: str) -> Path | None:
    """``directory/<name>.log`` if reading it is safe (missing counts as safe: it has no
    lines yet), else None: a name that leaves the directory, a symlink, a file that is
    not regular or not ours."""
    if not name or "/" in name or name.startswith("."):
        return None
    path = directory / f"{name}.log"
    try:
        if path.resolve().parent != directory.resolve():
            return None
        info = path.lstat()
    except FileNotFoundError:
        return path
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
        return None
    return path


def read_log(path: Path, *, lines: int, cursor: str | None, keep: int) -> dict[str, Any]:
    """``{"lines": [...], "cursor": "..."}``: the last ``lines`` lines of the log (and its
    rotated files) when ``cursor`` is None, else the whole lines written after it."""
    fd = _open(path)
    if fd is None:
        return {"lines": [], "cursor": None}
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if cursor is None:
            found = history(path, min(max(lines, 0), MAX_LINES), keep, size=info.st_size)
            return {"lines": found, "cursor": f"{info.st_ino}:{info.st_size}"}
        inode, offset = _parse(cursor)
        found = []
        if inode != info.st_ino:  # rotated: the rest of the old file first
            old = _open(path.with_name(f"{path.name}.1"))
            if old is not None:
                with os.fdopen(old, "rb") as previous:
                    if os.fstat(previous.fileno()).st_ino == inode:
                        found, _ = _after(previous, offset)
            offset = 0
        more, end = _after(file, offset)
        return {"lines": found + more, "cursor": f"{info.st_ino}:{end}"}


def _open(path: Path) -> int | None:
    return open_own_file(path, os.O_RDONLY | os.O_NONBLOCK)


def _after(file: Any, offset: int) -> tuple[list[str], int]:
    """The whole lines from ``offset`` (from the start if the file is now shorter), and
    where they end."""
    if offset > os.fstat(file.fileno()).st_size:  # truncated: start over
        offset = 0
    file.seek(offset)
    data = file.read(MAX_READ_BYTES)
    whole = data[: data.rfind(b"\n") + 1]
    if not whole and len(data) == MAX_READ_BYTES:  # one line longer than a read: cut it
        whole = data + b"\n"
        offset -= 1  # (the newline added is not in the file)
    if not whole:
        return [], offset
    lines = whole.decode("utf-8", "replace").split("\n")[:-1]
    return lines, offset + len(whole)


def _parse(cursor: str) -> tuple[int, int]:
    """``<inode>:<offset>`` as numbers.

    Raises:
        ValueError: not a cursor.
    """
    inode, _, offset = cursor.partition(":")
    if not (inode.isdigit() and offset.isdigit()):
        raise ValueError(f"not a log cursor: {cursor[:40]!r}")
    return int(inode), int(offset)
