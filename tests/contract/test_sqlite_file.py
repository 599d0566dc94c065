"""What only the SQLite backend has: a file, its permissions and its schema version."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from statemachine_engine.database import _sqlite_locks
from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.database.store import StoreError
from statemachine_engine.settings import SQLITE_SYNC_ENV as SYNC_ENV
from tests.support.files import mode

from .conftest import WorkerPool


async def test_file_wal_and_new_parent_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new-dir" / "store.db"
    store = SqliteStore(path)
    try:
        await store.add_job("task", {"n": 1})  # the WAL exists while a handle is open
        assert mode(path.parent) == 0o700
        assert mode(path) == 0o600
        wal = path.with_name(path.name + "-wal")
        shm = path.with_name(path.name + "-shm")
        assert wal.exists()
        assert mode(wal) == 0o600
        assert mode(shm) == 0o600
    finally:
        await store.close()


async def test_database_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    await SqliteStore(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    finally:
        conn.close()


async def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    job = await store.add_job("task", {"n": 1})
    await store.close()
    store = SqliteStore(path)
    try:
        assert await store.get_job(job.job_id) == job
    finally:
        await store.close()


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    with pytest.raises(StoreError, match="not a usable database") as caught:
        SqliteStore(path)
    assert caught.value.location == str(path)
    assert str(path) in str(caught.value)
    assert path.read_bytes().startswith(b"these are my notes")


@pytest.mark.parametrize("create", [True, False], ids=["creating", "reading"])
def test_a_directory_is_refused_as_one(tmp_path: Path, create: bool) -> None:
    with pytest.raises(StoreError, match="is a directory, not a store") as caught:
        SqliteStore(tmp_path, create=create)
    assert caught.value.location == str(tmp_path)
    assert str(tmp_path / "pipeline.db") in str(caught.value)  # what to give instead
    assert list(tmp_path.iterdir()) == []


def test_a_foreign_jobs_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, job_id TEXT, status TEXT)")
    conn.execute("INSERT INTO jobs (job_id, status) VALUES ('legacy', 'pending')")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="another program") as caught:
        SqliteStore(path)
    assert caught.value.location == str(path)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
        assert conn.execute("SELECT job_id FROM jobs").fetchall() == [("legacy",)]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert "machine_events" not in tables, "the refused database was half-migrated"
    finally:
        conn.close()


def test_a_bad_sync_mode_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SYNC_ENV, "SOMETIMES")
    with pytest.raises(StoreError, match=SYNC_ENV):
        SqliteStore(tmp_path / "store.db")


@pytest.mark.parametrize("sync", ["NORMAL", "FULL", "full"])
async def test_sync_mode_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sync: str
) -> None:
    monkeypatch.setenv(SYNC_ENV, sync)
    store = SqliteStore(tmp_path / "store.db")
    try:
        job = await store.add_job("task")
        claimed = await store.claim_job("task", "w1")
        assert claimed is not None
        assert claimed.job_id == job.job_id
    finally:
        await store.close()


@pytest.mark.parametrize("round_", range(3))
async def test_processes_opening_a_fresh_database_at_once_all_succeed(
    tmp_path: Path, worker_pool: WorkerPool, round_: int
) -> None:
    """The migration race: every process creates and migrates the same new file."""
    path = tmp_path / "fresh" / "race.db"
    worker_pool.start(4, "open", str(path))
    outputs = worker_pool.release()
    assert [out.strip() for out in outputs] == ["ok 0"] * 4
    store = SqliteStore(path)
    try:
        assert sum((await store.job_counts()).values()) == 0
        await store.add_job("task")
    finally:
        await store.close()
    assert mode(path) == 0o600


async def test_an_older_schema_is_migrated_forward(tmp_path: Path) -> None:
    """A database at version 1 gets the later migrations and keeps its rows."""
    from statemachine_engine.database._queries import migrations

    steps = migrations("sqlite")
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    conn.executescript(steps[0][1])
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO jobs (job_id, job_type, run_after, created_at, updated_at)"
        " VALUES ('old-job', 'task', 0, 0, 0)"
    )
    conn.commit()
    conn.close()
    store = SqliteStore(path)
    try:
        claimed = await store.claim_job(None, "w1")
        assert claimed is not None
        assert claimed.job_id == "old-job"
    finally:
        await store.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == steps[-1][0]
    finally:
        conn.close()


async def test_a_write_waits_for_another_process_s_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")  # as another process's write would
        other.execute(
            "INSERT INTO jobs (job_id, job_type, run_after, created_at, updated_at) "
            "VALUES ('x', 't', 0, 0, 0)"
        )
        # The lock holder commits from another thread while the store's write waits.
        threading.Timer(0.05, other.execute, ("COMMIT",)).start()
        await store.add_job("task", job_id="after")
        assert {job.job_id for job in await store.list_jobs()} == {"x", "after"}
    finally:
        other.close()
        await store.close()


async def test_a_write_lock_never_released_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite_locks, "BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError, match="cannot write: database is locked"):
            await store.add_job("task", job_id="blocked")
        other.execute("ROLLBACK")
        await store.add_job("task", job_id="later")  # the store is fine afterwards
    finally:
        other.close()
        await store.close()


def _exclusively_locked(path: Path) -> sqlite3.Connection:
    """A connection holding ``path`` (a rollback-journal file: its readers can be kept
    out, as a WAL file's are only while it is recovered) locked against readers too."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO t VALUES (1)")
    return holder


def test_a_read_waits_for_a_lock_that_keeps_readers_out(tmp_path: Path) -> None:
    """A store's connection has no SQLite busy timeout once open: its reads wait for
    locks themselves (``_sqlite_locks.read_all``)."""
    path = tmp_path / "plain.db"
    holder = _exclusively_locked(path)
    reader = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            reader.execute("SELECT count(*) FROM t").fetchall()
        threading.Timer(0.05, holder.execute, ("COMMIT",)).start()
        assert _sqlite_locks.read_all(reader.cursor(), "SELECT count(*) FROM t") == [(1,)]
    finally:
        reader.close()
        holder.close()


def test_a_read_lock_never_released_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite_locks, "BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "plain.db"
    holder = _exclusively_locked(path)
    reader = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            _sqlite_locks.read_all(reader.cursor(), "SELECT count(*) FROM t")
    finally:
        reader.close()
        holder.close()


async def test_an_open_store_leaves_lock_waits_to_itself(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.db")
    try:
        assert store.connector._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 0
    finally:
        await store.close()


async def test_a_version_9_store_gets_the_traceparent_columns(tmp_path: Path) -> None:
    """Store version 12: the jobs and events of a version-9 file stay, with no trace."""
    from statemachine_engine.database._queries import migrations
    from tests.contract.test_traceparent import VERSION_9_ROWS, check_version_9_rows

    path = tmp_path / "v9.db"
    conn = sqlite3.connect(path)
    for number, script in migrations("sqlite"):
        if number <= 9:
            conn.executescript(script)
    conn.execute("PRAGMA user_version = 9")
    for statement in VERSION_9_ROWS:
        conn.execute(statement)
    conn.commit()
    conn.close()
    store = SqliteStore(path)
    try:
        await check_version_9_rows(store)
    finally:
        await store.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations("sqlite")[-1][0]
    finally:
        conn.close()
