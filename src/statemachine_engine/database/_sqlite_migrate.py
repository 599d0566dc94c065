"""The schema of a SQLite store brought up to date as the store is opened."""

from __future__ import annotations

import contextlib
import sqlite3

from ..errors import StoreError
from ._queries import latest_version, migrations, statements_of


def migrate(conn: sqlite3.Connection, location: str) -> None:
    """Bring the schema of the SQLite file open on ``conn`` to the latest version (one
    process migrates; the others wait, then find it done)."""
    if conn.execute("PRAGMA user_version").fetchone()[0] >= latest_version("sqlite"):
        return
    steps = migrations("sqlite")
    conn.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see it
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if (
            version == 0
            and conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'"
            ).fetchone()
        ):
            raise StoreError(
                "this database was created by another program or an earlier "
                "statemachine-engine (1.x); move it aside or choose another with --db",
                location=location,
            )
        for number, script in steps:
            if number > version:
                for statement in statements_of(script):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if version < latest_version("sqlite"):
        # Into the file at once, the store's identity with it: until its page is in
        # the file, a copy over the file cannot be told (sqlite_identity). A few pages
        # for a new store; a FULL checkpoint waits out readers of older snapshots.
        with contextlib.suppress(sqlite3.Error):
            conn.execute("PRAGMA wal_checkpoint(FULL)")
