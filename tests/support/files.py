"""Files a test writes or inspects: configs, action modules, modes, SQLite rows."""

from __future__ import annotations

import sqlite3
import stat
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def write(path: Path, text: str) -> Path:
    """Write ``text`` (dedented, leading blank lines dropped), making parents; ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def mode(path: Path) -> int:
    """The permission bits of ``path`` (``0o600``...)."""
    return stat.S_IMODE(path.stat().st_mode)


def sql(db: Path | str, statement: str, params: Sequence[Any] = ()) -> list[Any]:
    """Run one statement on the SQLite file ``db`` in its own transaction; its rows."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        with conn:
            return conn.execute(statement, params).fetchall()
    finally:
        conn.close()


def create_store(location: Path | str | None = None) -> None:
    """Create the SQLite store at ``location`` (default: ``$STATEMACHINE_DB``) if missing,
    as a machine or ``statemachine-db add-job`` would: commands that only read (the UI,
    ``statemachine-db list``...) refuse to create one."""
    import asyncio
    import os
    from concurrent.futures import ThreadPoolExecutor

    from statemachine_engine.database._sqlite import SqliteStore

    where = str(location or os.environ["STATEMACHINE_DB"])
    if "://" in where:  # PostgreSQL: its schema is made on first use
        return

    async def open_and_close() -> None:
        await SqliteStore(where).close()

    # In a thread of its own: async tests call this with their event loop running.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(lambda: asyncio.run(open_and_close())).result()


def statuses(history: Sequence[dict[str, Any]]) -> list[tuple[str, int]]:
    """``(status, attempt)`` of each row of a job's history."""
    return [(row["status"], row["attempt"]) for row in history]


def on_store(work: Any) -> Any:
    """``await work(store)`` on the test's SQLite store (``$STATEMACHINE_DB``, created if
    missing), in a thread of its own (the test may run an event loop, or Playwright's);
    what it returns."""
    import asyncio
    import os
    from concurrent.futures import ThreadPoolExecutor

    from statemachine_engine.database._sqlite import SqliteStore

    async def run() -> Any:
        store = SqliteStore(os.environ["STATEMACHINE_DB"])
        try:
            return await work(store)
        finally:
            await store.close()

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(lambda: asyncio.run(run())).result()
