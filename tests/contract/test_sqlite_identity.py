"""A SQLite store's identity: a file overwritten in place, moved about by VACUUM, or
damaged is told apart from the store a handle opened, on real files.

The machines' side (a process stopping with exit status 1 and one line) is in
``tests/security/test_store_identity_replaced.py``.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.database.store import StoreReplaced

OVERWRITTEN = "was overwritten while this machine ran"


def identity(path: Path) -> tuple[str, int]:
    """The store's identity and the page of its table, read through SQLite."""
    conn = sqlite3.connect(path)
    try:
        row = conn.execute(
            "SELECT id, rootpage FROM store_identity, sqlite_master"
            " WHERE sqlite_master.name = 'store_identity'"
        ).fetchone()
    finally:
        conn.close()
    return str(row[0]), int(row[1])


def contents(path: Path) -> bytes:
    return path.read_bytes()


def leftovers(path: Path) -> list[str]:
    """The ``-wal`` and ``-shm`` files beside the store ``path``."""
    return [suffix for suffix in ("-wal", "-shm") if Path(f"{path}{suffix}").exists()]


async def other_store(path: Path) -> bytes:
    """A store of its own at ``path`` with one job, closed; its file's bytes."""
    store = SqliteStore(path)
    try:
        await store.add_job("elsewhere", {"from": "the other store"}, job_id="other-1")
    finally:
        await store.close()
    return contents(path)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "pipeline.db")
    try:
        yield opened
    finally:
        await opened.close()


async def test_each_store_has_its_own_identity_in_its_file_from_the_start(
    tmp_path: Path, store: SqliteStore
) -> None:
    """In the file itself, not only in the WAL: a copy over it is seen from the start."""
    await store.add_job("task")
    await other_store(tmp_path / "other.db")
    mine, other = identity(store.path)[0], identity(tmp_path / "other.db")[0]
    assert len(mine) == 32
    assert mine != other
    assert mine.encode() in contents(store.path)
    store.check_identity()


async def test_a_store_overwritten_in_place_is_lost_and_the_new_file_left_as_it_is(
    tmp_path: Path, store: SqliteStore
) -> None:
    await store.add_job("task", job_id="mine-1")
    copied = await other_store(tmp_path / "other.db")
    inode = store.path.stat().st_ino
    shutil.copyfile(tmp_path / "other.db", store.path)  # in place: same inode
    assert store.path.stat().st_ino == inode
    with pytest.raises(StoreReplaced, match=OVERWRITTEN):
        store.check_identity()
    with pytest.raises(StoreReplaced, match=OVERWRITTEN):  # nothing more read or written
        await store.add_job("task", job_id="mine-2")
    with pytest.raises(StoreReplaced, match=OVERWRITTEN):
        await store.list_jobs()
    await store.close()  # SQLite's checkpoint on close finds nothing to copy
    assert contents(store.path) == copied
    assert leftovers(store.path) == []  # nothing of the old store left to be applied
    reopened = SqliteStore(store.path)
    try:
        assert [job.job_id for job in await reopened.list_jobs()] == ["other-1"]
    finally:
        await reopened.close()


async def test_a_statement_failing_on_an_overwritten_file_says_so(tmp_path: Path) -> None:
    """Whatever SQLite answers first ("database disk image is malformed" here, reading
    pages no longer there), the error names the overwrite, not the statement."""
    path = tmp_path / "pipeline.db"
    store = SqliteStore(path)
    for n in range(300):
        await store.add_job("task", {"n": n, "pad": "x" * 200}, job_id=f"mine-{n}")
    await store.close()  # everything in the file; the next handle starts with no cache
    store = SqliteStore(path)
    try:
        with path.open("r+b") as file:  # a restore that failed: zeros, in place
            file.write(bytes(path.stat().st_size))
        with pytest.raises(StoreReplaced, match=OVERWRITTEN) as caught:
            await store.list_jobs(limit=None)
        assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
    finally:
        await store.close()


async def test_the_identity_is_followed_where_a_vacuum_moves_it(
    tmp_path: Path, store: SqliteStore
) -> None:
    for n in range(300):  # the jobs table grows past the identity's page
        await store.add_job("task", {"pad": "x" * 200}, job_id=f"job-{n}")
    before = identity(store.path)
    await store.purge_jobs(["pending"])
    conn = sqlite3.connect(store.path, isolation_level=None)  # another process's, as it were
    try:
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    after = identity(store.path)
    assert after[0] == before[0]
    assert after[1] != before[1]  # the table's page moved
    store.check_identity()  # still this store
    await store.add_job("task", job_id="after-vacuum")
    await other_store(tmp_path / "other.db")
    shutil.copyfile(tmp_path / "other.db", store.path)
    with pytest.raises(StoreReplaced, match=OVERWRITTEN):  # and followed there
        store.check_identity()


async def test_a_damaged_file_stops_the_store_with_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.db"
    store = SqliteStore(path)
    for n in range(300):
        await store.add_job("task", {"marker": f"needle-{n:04d}", "pad": "x" * 200})
    await store.close()  # everything checkpointed into the file
    data = bytearray(path.read_bytes())
    page_size = 4096
    page = data.index(b"needle-0150") // page_size
    data[page * page_size] = 0xEE  # not a b-tree page type: SQLite calls it malformed
    path.write_bytes(bytes(data))
    store = SqliteStore(path)
    try:
        with pytest.raises(StoreReplaced, match="became unreadable while this machine ran"):
            await store.list_jobs(limit=None)
        with pytest.raises(StoreReplaced, match="database disk image is malformed"):
            store.check_identity()  # and so does every later use
    finally:
        await store.close()
