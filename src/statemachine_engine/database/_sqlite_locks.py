"""Waiting for another process's lock on a SQLite file.

SQLite's own wait (its busy timeout) sleeps 1, 2, 5, 10... ms between looks at a lock:
two busy workers on one store would each lose a millisecond or more at every turn. So a
store's connection keeps SQLite's timeout at 0 once it is open, and its statements wait
here instead, looking again every 50 microseconds or so: a write for the write lock
(:func:`begin_immediate`), a read for the rare lock a reader of a WAL file can meet (a
WAL being recovered, a connection in exclusive mode: :func:`read_all`). Switching a new
file to WAL mode, which SQLite's timeout does not cover, waits in the same way.

Setting the timeout once instead of around every write saves two statements per write
(a sixth of the store API's claim+complete); nothing waits longer than before.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

#: How long a connection waits for another's lock before the operation fails.
BUSY_TIMEOUT_MS = 30_000
#: Waits between looks for a lock another process holds.
BEGIN_FIRST_WAIT = 0.00005
BEGIN_LONGEST_WAIT = 0.002
SQLITE_BUSY = 5
_T = TypeVar("_T")


def no_busy_timeout(conn: sqlite3.Connection) -> None:
    """Leave waiting for locks to :func:`begin_immediate` and :func:`read_all` (after the
    store is opened and migrated, which wait with SQLite's timeout)."""
    conn.execute("PRAGMA busy_timeout = 0")


def begin_immediate(cursor: sqlite3.Cursor) -> None:
    """``BEGIN IMMEDIATE``, waiting for another process's write to end. Once it holds
    the write lock, a transaction's statements and its ``COMMIT`` meet no other lock
    (a WAL file's automatic checkpoint is passive: it skips what readers still use)."""
    _waiting(lambda: cursor.execute("BEGIN IMMEDIATE"))


def read_all(
    cursor: sqlite3.Cursor, statement: str, params: Mapping[str, Any] | tuple[Any, ...] = ()
) -> list[Any]:
    """The rows of a read outside a transaction, waiting out a lock that keeps readers
    out (the statement is run again from its start)."""
    return _waiting(lambda: cursor.execute(statement, params).fetchall())


@contextlib.contextmanager
def sqlite_waits(conn: sqlite3.Connection) -> Iterator[None]:
    """SQLite's own busy timeout for what cannot wait here: a ``FULL`` checkpoint waits
    for readers inside SQLite (rare: leaving a store whose file was replaced; a new
    store's first checkpoint runs before the timeout is set to 0)."""
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    try:
        yield
    finally:
        conn.execute("PRAGMA busy_timeout = 0")


def _waiting(attempt: Callable[[], _T]) -> _T:
    """``attempt()``, tried again every 50 microseconds or so (up to 2 ms apart) while
    another connection holds the lock it needs, for at most the busy timeout."""
    try:
        return attempt()
    except sqlite3.OperationalError as exc:
        if not _busy(exc):
            raise
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = BEGIN_FIRST_WAIT
    while True:
        time.sleep(delay)
        delay = min(delay * 1.5, BEGIN_LONGEST_WAIT)
        try:
            return attempt()
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or time.monotonic() > deadline:
                raise


def _busy(exc: sqlite3.OperationalError) -> bool:
    """Whether another connection holds the lock (``sqlite_errorcode`` is Python 3.11+)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return (code & 0xFF) == SQLITE_BUSY if code is not None else "locked" in str(exc)


def use_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL mode, waiting out other processes switching the same new file.

    The switch needs an exclusive lock and SQLite does not apply its busy timeout to
    it, so processes opening a fresh database together would otherwise fail.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.001
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)  # only while opening; nothing else runs yet
            delay = min(delay * 2, 0.05)
