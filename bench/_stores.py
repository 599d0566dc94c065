"""The database a benchmark runs on: a SQLite file, or a fresh schema on PostgreSQL.

    with bench_database(args.db, workdir / "bench.db") as db:
        store = db.open()                 # a Store on it
        db.scalar("SELECT count(*) FROM jobs WHERE job_id LIKE ?", ("run1-%",))

Given a ``postgresql://`` URL, the bench works in a schema of its own (created at the
start, dropped at the end), so it never touches the database's other tables.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from statemachine_engine.database import open_store
from statemachine_engine.database.store import Store


def bare_commits_per_second(path: Path, commits: int = 2_000) -> float:
    """Calibration: bare one-row SQLite WAL commits/s on the same disk and sync mode."""
    mode = os.environ.get("STATEMACHINE_SQLITE_SYNC", "NORMAL").upper()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {mode}")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    start = time.perf_counter()
    for _ in range(commits):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v) VALUES (?)", ("x" * 200,))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return commits / elapsed


def is_postgres(location: str | None) -> bool:
    return bool(location) and str(location).split("://", 1)[0] in ("postgresql", "postgres")


@dataclass
class BenchDatabase:
    location: str  # a file path or a URL, as --db takes it
    kind: str  # "sqlite" or "postgres"
    # One connection for all of the bench's own queries: a new PostgreSQL session per
    # poll would fork a server process each time, on the cores being measured.
    _pg: Any = field(default=None, repr=False)

    def open(self) -> Store:
        return open_store(self.location)

    def scalar(self, query: str, params: tuple[Any, ...] = ()) -> float | None:
        """The first column of the first row of ``query`` (``?`` placeholders)."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(f"file:{self.location}?mode=ro", uri=True, timeout=30)
            try:
                value = conn.execute(query, params).fetchone()[0]
            finally:
                conn.close()
        else:
            if self._pg is None:
                import psycopg

                self._pg = psycopg.connect(self.location, autocommit=True)
            row = self._pg.execute(query.replace("?", "%s"), params).fetchone()
            value = row[0] if row else None
        return None if value is None else float(value)

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()
            self._pg = None

    def server_cpu_ticks(self) -> dict[int, int] | None:
        """CPU ticks used so far by each process of a PostgreSQL server on this host.

        None for SQLite (its work is done inside the processes that use it) and for a
        server on another host. Covers all of the server's sessions, not only ours.
        """
        if self.kind != "postgres" or not _is_local(self.location):
            return None
        ticks: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    name, _, rest = stat.read().partition(") ")
            except OSError:
                continue  # gone, or not ours to read
            if name.endswith("(postgres"):
                fields = rest.split()
                ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
        return ticks or None


def cpu_seconds_between(
    before: dict[int, int] | None, after: dict[int, int] | None
) -> float | None:
    """CPU seconds the processes alive at ``after`` used since ``before``."""
    if before is None or after is None:
        return None
    ticks = sum(used - before.get(pid, 0) for pid, used in after.items())
    return ticks / os.sysconf("SC_CLK_TCK")


def _is_local(url: str) -> bool:
    host = urlsplit(url).hostname
    return host in (None, "", "localhost", "127.0.0.1", "::1")


@contextmanager
def bench_database(location: str | None, default_path: Path) -> Iterator[BenchDatabase]:
    """The bench's database: ``location`` (a new SQLite path or a PostgreSQL URL)."""
    if not is_postgres(location):
        yield BenchDatabase(str(location or default_path), "sqlite")
        return
    import psycopg

    assert location is not None
    schema = f"sm_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(location, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in location else "?"
    url = f"{location}{separator}options={quote(f'-csearch_path={schema}')}"
    db = BenchDatabase(url, "postgres")
    try:
        yield db
    finally:
        db.close()
        with psycopg.connect(location, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
