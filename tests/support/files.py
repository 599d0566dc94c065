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


def statuses(history: Sequence[dict[str, Any]]) -> list[tuple[str, int]]:
    """``(status, attempt)`` of each row of a job's history."""
    return [(row["status"], row["attempt"]) for row in history]
