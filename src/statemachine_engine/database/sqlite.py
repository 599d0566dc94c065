"""The SQLite dialect: the embedded default, zero set-up.

One file in WAL mode shared by every process of a system. Writes are short
``BEGIN IMMEDIATE`` transactions, so a claim is atomic across processes; readers never
block writers. Calls run on the event loop's thread: each takes microseconds, and the
busy timeout bounds the wait for another process's write lock.

``synchronous=NORMAL`` is the default (a transaction is durable once the WAL is synced
at the next checkpoint; a power loss can lose the last few, a process crash loses
nothing). ``STATEMACHINE_SQLITE_SYNC=FULL`` syncs every commit.

A named query of ``schema/sqlite/queries.sql`` may hold several statements: they run in
one transaction. One that says ``-- wakes: <topic>`` (a job added or finished, realtime
events recorded) wakes the processes waiting for the topic after its commit, whoever made
it: an engine, ``statemachine-db`` or a script using the API (:mod:`.wakeup`).

``SqliteStore(":memory:")`` (or ``open_store(":memory:")``) is a store in this process's
memory, for fast tests of store logic: no file, and its wake-ups stay in the process.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..settings import socket_dir, socket_dir_path
from ._connector import Result
from .queries import Query, latest_version, load_queries, migrations, statements_of
from .sql_store import SqlStore
from .store import StoreError, StoreNotFound, StoreReplaced
from .wakeup import Listener, TopicWaiters, WakeupListener, notify

SYNC_ENV = "STATEMACHINE_SQLITE_SYNC"
BUSY_TIMEOUT_MS = 30_000
WAL_CHECKPOINT_PAGES = 10_000
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024
MEMORY = ":memory:"
_JSON_EACH = re.compile(r"json_each\(:(\w+)\)")


class SqliteStore(SqlStore):
    """The :class:`~statemachine_engine.database.store.Store` on one SQLite file.

    Args:
        path: the database file, created (owner-only, parent directory too) if missing;
            ``":memory:"`` for a store in this process's memory.
        create: False to refuse a missing file (:class:`StoreNotFound`) instead of
            creating it: what commands that only read ask for.
    """

    connector: SqliteConnector

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        if str(path) == MEMORY:
            super().__init__(MemoryConnector())
        else:
            super().__init__(SqliteConnector(path, create=create))
        self.path = self.connector.path


class SqliteConnector:
    """A connection to one SQLite file (see :class:`~._connector.Connector`).

    Args:
        path: the database file, created if missing (unless ``create`` is False).
    """

    #: Senders wake machines through their control sockets (:mod:`..messaging.delivery`).
    notifies_machines = False

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self._queries = load_queries("sqlite")
        self._json_params = _json_params(self._queries)
        self._conn = self._open(create)
        #: Every query runs on this cursor (calls never interleave: none awaits).
        self._cursor = self._conn.cursor()
        self._replaced: StoreReplaced | None = None
        self._start_watching_files()

    def _start_watching_files(self) -> None:
        #: Where this store's processes on this host bind their sockets.
        self.socket_dir = socket_dir_path(self.location)
        #: (device, inode) of the file and of its ``-shm`` as opened: see :meth:`check_identity`.
        self._identity = self._files()
        self._wal = _file_id(Path(f"{self.path}-wal"))

    def _files(self) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        return _file_id(self.path), _file_id(Path(f"{self.path}-shm"))

    def check_identity(self) -> None:
        """Raise :class:`StoreReplaced` if the file (or its ``-shm``) at the store's path
        is no longer the one this connection has open (deleted, or replaced by another),
        or if the ``-shm`` can no longer be written.

        Writes would go on into the deleted file, and other processes would use the new
        one (or a new ``-shm`` beside the old WAL, which corrupts it); an unwritable
        ``-shm`` ends in SIGBUS at SQLite's next write to its mapping. Two ``stat`` calls
        and an ``access``: cheap enough for the inbox watch's tick.
        """
        if self._replaced is not None:
            raise self._replaced
        database, shm = self._files()
        if self._identity[1] is None:  # not in WAL mode (a file system without it)
            shm = None
        if database == self._identity[0] and shm == self._identity[1]:
            if shm is not None and not os.access(f"{self.path}-shm", os.W_OK):
                self._replaced = StoreReplaced(self.location, message=_shm_unwritable(self.path))
                raise self._replaced
            return
        self._replaced = StoreReplaced(
            self.location, "" if database != self._identity[0] else " (its -shm file)"
        )
        self._detach()
        raise self._replaced

    def _detach(self) -> None:
        """Leave the path to whatever file is there now.

        Our WAL is checkpointed into the file we have open (complete, if it was only
        moved aside), then our ``-wal`` and ``-shm`` are removed from beside the new file
        if they are still there: whoever opened the new file next would otherwise apply
        our WAL to it, overwriting it with pages of the old database.
        """
        with contextlib.suppress(sqlite3.Error):  # if nothing can be saved, the files still go
            self._conn.execute("PRAGMA wal_checkpoint(FULL)")
        for suffix, identity in (("-wal", self._wal), ("-shm", self._identity[1])):
            leftover = Path(f"{self.path}{suffix}")
            if identity is not None and _file_id(leftover) == identity:
                with contextlib.suppress(OSError):
                    leftover.unlink()

    # -- connection ---------------------------------------------------------------

    def _open(self, create: bool) -> sqlite3.Connection:
        sync = os.environ.get(SYNC_ENV, "NORMAL").upper()
        if sync not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise StoreError(f"{SYNC_ENV} must be NORMAL or FULL, got {sync!r}")
        if not create and not self.path.is_file():
            raise StoreNotFound(self.location)
        try:
            conn = self._connect()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open database: {exc}", location=self.location) from exc
        conn.row_factory = sqlite3.Row
        try:
            self._configure(conn, sync)
            self._migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"not a usable database: {exc}", location=self.location) from exc
        except BaseException:  # a refused (foreign) database: do not leak the handle
            conn.close()
            raise
        return conn

    def _connect(self) -> sqlite3.Connection:
        if not self.path.exists():
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _create_private(self.path)
        shm = f"{self.path}-shm"
        if os.path.lexists(shm) and not os.access(shm, os.W_OK):
            # SQLite would fail on it later, or die of SIGBUS with no word.
            raise StoreError(_shm_unwritable(self.path, running=False))
        return sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )

    def _configure(self, conn: sqlite3.Connection, sync: str) -> None:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _use_wal(conn)
        conn.execute(f"PRAGMA synchronous = {sync}")
        # Checkpoints (which sync the main file) every ~40 MB of WAL rather than 4 MB:
        # fewer stalls for short transactions; the WAL is truncated back to 64 MB.
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES}")

    def _migrate(self, conn: sqlite3.Connection) -> None:
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
                    location=self.location,
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

    # -- queries --------------------------------------------------------------------------

    async def run(self, name: str, params: Mapping[str, Any]) -> Result:
        query = self._queries[name]
        statements = query.render(params) if query.optional else query.statements
        lists = self._json_params.get(name)
        if lists is not None:
            params = {**params, **{key: json.dumps(params[key]) for key in lists}}
        if query.reads:
            try:
                rows = self._cursor.execute(statements[0], params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"query failed: {exc}", location=self.location) from exc
            return Result(rows, len(rows))
        result = self._transaction(statements, params)
        if query.wakes is not None and (result.rows or result.rowcount > 0):
            self._wake(query.wakes)
        return result

    def _transaction(self, statements: tuple[str, ...], params: Mapping[str, Any]) -> Result:
        """Run ``statements`` in one ``BEGIN IMMEDIATE`` transaction (atomic across
        processes): the rows of the last that returns rows, else the last's count."""
        cursor = self._cursor
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write: {exc}", location=self.location) from exc
        try:
            rows: list[Any] = []
            rowcount = 0
            returned = False
            for statement in statements:
                cursor.execute(statement, params)
                if cursor.description is not None:
                    rows, rowcount, returned = cursor.fetchall(), cursor.rowcount, True
                elif not returned:
                    rowcount = cursor.rowcount
            cursor.execute("COMMIT")
        except sqlite3.Error as exc:  # a constraint, a full disk...: ours, and nothing kept
            self._roll_back()
            raise StoreError(f"write failed: {exc}", location=self.location) from exc
        except BaseException:
            self._roll_back()
            raise
        return Result(rows, rowcount)

    def _roll_back(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _wake(self, topic: str) -> None:
        notify(topic, self.socket_dir)

    async def listener(self) -> Listener:
        return WakeupListener.shared(socket_dir(self.location))

    def change_token(self) -> int | None:
        """SQLite's ``data_version``: changes whenever another connection commits.

        Raises:
            StoreReplaced: the file was deleted or replaced (:meth:`check_identity`).
        """
        self.check_identity()
        try:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error as exc:
            raise StoreError(f"query failed: {exc}", location=self.location) from exc

    async def close(self) -> None:
        self._conn.close()


class MemoryConnector(SqliteConnector):
    """A SQLite database in this process's memory: the store of fast unit tests.

    Nothing outside the process can see it, so there is no file to watch and its
    wake-ups go straight to the process's waiters.
    """

    def __init__(self) -> None:
        self._waiters = TopicWaiters()
        super().__init__(MEMORY)

    def _start_watching_files(self) -> None:
        return

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(MEMORY, isolation_level=None, check_same_thread=False)

    def _configure(self, conn: sqlite3.Connection, sync: str) -> None:
        return

    def check_identity(self) -> None:
        return

    def _wake(self, topic: str) -> None:
        self._waiters.wake([topic])

    async def listener(self) -> Listener:
        return self._waiters


def _json_params(queries: Mapping[str, Query]) -> dict[str, tuple[str, ...]]:
    """The parameters each query reads with ``json_each``: lists, bound as JSON text."""
    found = {}
    for name, query in queries.items():
        lists = _JSON_EACH.findall(" ".join(query.statements))
        if lists:
            found[name] = tuple(dict.fromkeys(lists))
    return found


def _shm_unwritable(path: Path, *, running: bool = True) -> str:
    when = "became unwritable while this machine ran" if running else "cannot be written"
    return (
        f"the store {path}: its shared-memory file {path}-shm {when} (read-only, "
        "immutable or another user's?); every process of the store must write it: fix it "
        "(chmod u+w, chattr -i) or remove it while no process uses the store"
    )


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _create_private(path: Path) -> None:
    """Create the database file owner-only, never through a link planted at ``path``
    after it was found missing (``path`` is resolved: a link there before is the user's)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        os.close(os.open(path, flags, 0o600))
    except FileExistsError:
        if os.path.islink(path) and not path.exists():
            raise StoreError(
                "it is a symbolic link to a missing file; create the file it points to "
                "or remove the link",
                location=str(path),
            ) from None
        # another process created it meanwhile: open that one


def _use_wal(conn: sqlite3.Connection) -> None:
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
