"""Waiting for another process's lock on a SQLite file.

SQLite's own wait (its busy timeout) sleeps 1, 2, 5, 10... ms between looks at a lock:
two busy workers on one store would each lose a millisecond or more at every turn. A
write here looks again every 50 microseconds or so instead; switching a new file to
WAL mode, which SQLite's timeout does not cover, waits in the same way.
"""

from __future__ import annotations

import sqlite3
import time

#: How long a connection waits for another's lock before the operation fails.
BUSY_TIMEOUT_MS = 30_000
#: Waits between looks for the write lock another process holds (:func:`begin_immediate`).
BEGIN_FIRST_WAIT = 0.00005
BEGIN_LONGEST_WAIT = 0.002
SQLITE_BUSY = 5


def begin_immediate(cursor: sqlite3.Cursor) -> None:
    """``BEGIN IMMEDIATE``, waiting for another process's write to end by looking again
    every 50 microseconds or so (SQLite's own wait sleeps 1, 2, 5, 10... ms between
    looks: two busy workers would each lose a millisecond or more at every turn)."""
    cursor.execute("PRAGMA busy_timeout = 0")
    try:
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        delay = BEGIN_FIRST_WAIT
        while True:
            try:
                cursor.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 1.5, BEGIN_LONGEST_WAIT)
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


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
