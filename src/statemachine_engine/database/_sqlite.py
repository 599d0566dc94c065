"""The SQLite dialect: the embedded default, zero set-up.

One file in WAL mode shared by every process of a system. Writes are short
``BEGIN IMMEDIATE`` transactions, so a claim is atomic across processes; readers never
block writers. Calls run on the event loop's thread: each takes microseconds, and the
busy timeout bounds the wait for another process's write lock.

``synchronous=NORMAL`` is the default (a transaction is durable once the WAL is synced
at the next checkpoint; a power loss can lose the last few, a process crash loses
nothing). ``STATEMACHINE_SQLITE_SYNC=FULL`` syncs every commit.

A named query of ``schema/sqlite/queries.sql`` may hold several statements: they run in
one transaction (PostgreSQL writes the same operation as one statement). One that says
``-- wakes: <topic>`` (a job added or finished, realtime events recorded) wakes the
processes waiting for the topic after its commit, whoever made it: an engine,
``statemachine-db`` or a script using the API (:mod:`._wakeup`).

``SqliteStore(":memory:")`` (or ``open_store(":memory:")``) is a store in this process's
memory, for fast tests of store logic: no file, and its wake-ups stay in the process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._logs import lines_together
from ..errors import StoreError, StoreNotFound
from ..settings import Settings
from ._carry import CarriedWrites
from ._connector import CarriedWrite, Result
from ._queries import Query, load_queries
from ._sql_store import SqlStore
from ._sqlite_identity import SqliteIdentity, shm_blocked, shm_unwritable
from ._sqlite_locks import BUSY_TIMEOUT_MS, begin_immediate, no_busy_timeout, read_all, use_wal
from ._sqlite_migrate import migrate
from ._wakeup import Listener, TopicWaiters, WakeupListener, notify

WAL_CHECKPOINT_PAGES = 10_000
#: How often the inbox watch's tick (:meth:`SqliteConnector.change_token`) checks that the
#: file is still this store; heartbeats check at each beat too.
IDENTITY_CHECK_SECONDS = 3.0
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024
logger = logging.getLogger("statemachine_engine.store")

MEMORY = ":memory:"
#: A query's statements, their ``each_row`` flags and their parameters, ready to run.
_Part = tuple[tuple[str, ...], tuple[bool, ...], Mapping[str, Any]]
#: One statement and the parameters of each of its runs (:meth:`SqliteConnector.run_rows`).
_Rows = tuple[tuple[str, ...], tuple[bool, ...], list[Mapping[str, Any]]]


class SqliteStore(SqlStore):
    """The :class:`~statemachine_engine.database.store.Store` on one SQLite file.

    Args:
        path: the database file, created (owner-only, parent directory too) if missing;
            ``":memory:"`` for a store in this process's memory.
        create: False to refuse a missing file (:class:`StoreNotFound`) instead of
            creating it: what commands that only read ask for.
        settings: the ``synchronous`` pragma and where the sockets are (default: from
            the environment).
    """

    connector: SqliteConnector

    def __init__(
        self, path: str | Path, *, create: bool = True, settings: Settings | None = None
    ) -> None:
        settings = settings or Settings.load()
        if str(path) == MEMORY:
            super().__init__(MemoryConnector(settings))
        else:
            super().__init__(SqliteConnector(path, settings, create=create))
        self.path = self.connector.path


class SqliteConnector:
    """A connection to one SQLite file (see :class:`~._connector.Connector`).

    Args:
        path: the database file, created if missing (unless ``create`` is False).
        settings: the ``synchronous`` pragma and where the sockets are.
    """

    #: Senders wake machines through their control sockets (:mod:`..messaging._delivery`).
    notifies_machines = False
    spans_hosts = False
    #: Each carried write is handed its query's result when it commits (:mod:`._carry`):
    #: job completions can be carried (:mod:`._carried_completions`).
    carried_results = True

    def __init__(self, path: str | Path, settings: Settings, *, create: bool = True) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self._settings = settings
        self._queries = load_queries("sqlite")
        self._json_params = _json_params(self._queries)
        #: Writes waiting to commit with the next transaction (:meth:`carry`).
        self._carried = CarriedWrites(self._flush_due)
        self._conn = self._open(create)
        #: Every query runs on this cursor (calls never interleave: none awaits).
        self._cursor = self._conn.cursor()
        try:
            self._watch_file()
        except BaseException:
            self._conn.close()
            raise

    def _watch_file(self) -> None:
        #: Where this store's processes on this host bind their sockets.
        self.socket_dir = self._settings.socket_dir_path(self.location)
        #: Whether the file at the path is still this store: see :meth:`check_identity`.
        self._identity: SqliteIdentity | None = SqliteIdentity(self.path, self._conn)
        #: When :meth:`change_token` next checks the identity (monotonic seconds).
        self._identity_due = 0.0

    def check_identity(self) -> None:
        """Raise :class:`StoreReplaced` if the file at the store's path is no longer the
        store this connection has open (deleted, replaced, overwritten in place), or its
        ``-shm`` can no longer be written: :mod:`._sqlite_identity`. A ``stat`` or two, an
        ``access`` and one page read: cheap enough for the inbox watch's tick."""
        if self._identity is not None:
            self._identity.check()

    def _usable(self) -> None:
        """Nothing is read from or written to a file known to be no longer this store."""
        identity = self._identity
        if identity is not None and identity.lost is not None:
            raise identity.lost

    def _failed(self, exc: sqlite3.Error, what: str) -> StoreError:
        """Our error for a failed statement: :class:`StoreReplaced` when the file is no
        longer this store or is damaged (an overwrite often shows first as "database
        disk image is malformed", "no such table"...), else a :class:`StoreError`."""
        replaced = self._identity.after_error(exc) if self._identity is not None else None
        if replaced is not None:
            return replaced
        return StoreError(f"{what}: {exc}", location=self.location)

    # -- connection ---------------------------------------------------------------

    def _open(self, create: bool) -> sqlite3.Connection:
        sync = self._settings.sqlite_sync
        if self.path.is_dir():
            raise StoreError(
                "is a directory, not a store: give the path of a SQLite file, such as "
                f"{self.path / 'pipeline.db'}",
                location=self.location,
            )
        if not create and not self.path.is_file():
            raise StoreNotFound(self.location)
        try:
            conn = self._connect()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open database: {exc}", location=self.location) from exc
        conn.row_factory = sqlite3.Row
        try:
            self._configure(conn, sync)
            migrate(conn, self.location)
            no_busy_timeout(conn)  # statements wait for locks in ._sqlite_locks from now
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
        if shm_blocked(f"{self.path}-shm"):
            # SQLite would fail on it later, or die of SIGBUS with no word.
            raise StoreError(shm_unwritable(self.path, running=False))
        return sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )

    def _configure(self, conn: sqlite3.Connection, sync: str) -> None:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        use_wal(conn)
        conn.execute(f"PRAGMA synchronous = {sync}")
        # Checkpoints (which sync the main file) every ~40 MB of WAL rather than 4 MB:
        # fewer stalls for short transactions; the WAL is truncated back to 64 MB.
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES}")

    # -- queries --------------------------------------------------------------------------

    async def run(self, name: str, params: Mapping[str, Any]) -> Result:
        query = self._queries[name]
        part = self._prepared(query, params)
        self._usable()
        if query.reads:
            try:
                rows = read_all(self._cursor, part[0][0], part[2])
            except sqlite3.Error as exc:
                raise self._failed(exc, "query failed") from exc
            return Result(rows, len(rows))
        [result] = self._write((part,))
        if query.wakes is not None and (result.rows or result.rowcount > 0):
            self._wake(query.wakes)
        return result

    async def run_each(self, name: str, params: Sequence[Mapping[str, Any]]) -> list[Result]:
        """Run the named write query once for each of ``params``, all in one transaction
        (one commit for many: a host registering its machines together)."""
        query = self._queries[name]
        parts = [self._prepared(query, each) for each in params]
        if not parts:
            return []
        self._usable()
        results = self._write(parts)
        if query.wakes is not None and any(r.rows or r.rowcount > 0 for r in results):
            self._wake(query.wakes)
        return results

    async def run_rows(self, name: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Run the named write query, one plain statement, once for each of ``rows`` in
        one transaction (``executemany``); returns the number of rows changed."""
        query = self._queries[name]
        if not rows:
            return 0
        # One plain statement: no optional lines, no lists to bind as JSON.
        assert len(query.statements) == 1, name
        assert not query.optional, name
        assert name not in self._json_params, name
        self._usable()
        [result] = self._write(((query.statements, query.each_row, list(rows)),))
        if query.wakes is not None and result.rowcount > 0:
            self._wake(query.wakes)
        return result.rowcount

    def _prepared(self, query: Query, params: Mapping[str, Any]) -> _Part:
        """``query``'s statements for ``params`` (its optional lines kept or dropped), and
        the parameters as SQLite binds them (lists as JSON text)."""
        if query.optional:
            statements, each_row = query.render(params)
        else:
            statements, each_row = query.statements, query.each_row
        lists = self._json_params.get(query.name)
        if lists is not None:
            params = {
                **params,
                **{key: json.dumps(params[key]) for key in lists if params[key] is not None},
            }
        return statements, each_row, params

    # -- writes carried by the next transaction (._carry) -------------------------------

    def carry(self, key: object, write: CarriedWrite) -> None:
        """Let ``write`` (one per ``key``) wait for this connection's next write and
        commit in its transaction, before it (:mod:`._carry`)."""
        self._carried.add(key, write)

    async def flush(self, key: object = None) -> None:
        """Commit the carried writes now, in one transaction (with ``key``'s among them)."""
        if self._carried:
            self._usable()
            self._write((), first=key)

    def flush_soon(self) -> None:
        """Commit the carried writes once the process has run what is ready, unless a
        write carries them first (:meth:`._carry.CarriedWrites.soon`)."""
        self._carried.soon()

    def _flush_due(self) -> bool:
        try:
            self._usable()
            self._write(())
        except StoreError as exc:  # they wait; the machines' own commits will tell
            logger.warning("could not commit the steps waiting: %s", exc)
            return False
        return True

    def _write(self, own: Sequence[_Part | _Rows], *, first: object = None) -> list[Result]:
        """Commit ``own`` (none: nothing of its own) with the carried writes before them
        (``first``'s among them); the results are ``own``'s. A carried write fails with
        the transaction, and waits for the next one."""
        if not self._carried:
            return self._transaction(own) if own else []
        parts: list[_Part | _Rows] = []
        wakes: set[str] = set()
        taken_by: list[tuple[object, CarriedWrite]] = []
        for key, write in self._carried.take(first):
            taken = write.take()
            if taken is not None:
                taken_by.append((key, write))
                query = self._queries[taken[0]]
                parts.append(self._prepared(query, taken[1]))
                if query.wakes is not None:
                    wakes.add(query.wakes)
        parts.extend(own)
        try:
            results = self._transaction(parts) if parts else []
        except BaseException:
            self._carried.put_back(taken_by)
            raise
        with lines_together:  # (what many machines' steps waited to say: one write)
            for (_, write), result in zip(taken_by, results, strict=False):
                write.committed(result)
        for topic in wakes:
            self._wake(topic)
        return results[len(taken_by) :]

    def _transaction(self, parts: Sequence[_Part | _Rows]) -> list[Result]:
        """Run the statements of ``parts`` in one ``BEGIN IMMEDIATE`` transaction (atomic
        across processes); the result of each part: the rows of its last statement that
        returns rows, else its last one's count. A statement
        ``each_row`` runs once per row of the one before (none: not at all)."""
        cursor = self._cursor
        try:
            begin_immediate(cursor)
        except sqlite3.Error as exc:
            raise self._failed(exc, "cannot write") from exc
        results: list[Result] = []
        try:
            for statements, each_row, params in parts:
                if len(statements) == 1:  # most writes: no bookkeeping of steps
                    if isinstance(params, list):  # once for each of them (run_rows)
                        cursor.executemany(statements[0], params)
                        rows = []
                    else:
                        cursor.execute(statements[0], params)
                        rows = [] if cursor.description is None else cursor.fetchall()
                    rowcount = cursor.rowcount
                else:
                    assert not isinstance(params, list)
                    rows, rowcount = self._steps(statements, each_row, params)
                results.append(Result(rows, rowcount))
            cursor.execute("COMMIT")
        except sqlite3.Error as exc:  # a constraint, a full disk...: ours, and nothing kept
            if self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # a damaged file may refuse it too
                    self._conn.execute("ROLLBACK")
            raise self._failed(exc, "write failed") from exc
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        return results

    def _steps(
        self, statements: tuple[str, ...], each_row: tuple[bool, ...], params: Mapping[str, Any]
    ) -> tuple[list[Any], int]:
        """Run the statements of a query of several, in its transaction."""
        cursor = self._cursor
        rows: list[Any] = []
        rowcount = 0
        returned = False
        before: list[Any] = []
        for statement, each in zip(statements, each_row, strict=True):
            if each:
                if len(before) == 1:
                    cursor.execute(statement, _RowParameters(params, before[0]))
                elif before:
                    cursor.executemany(statement, [_RowParameters(params, row) for row in before])
                continue
            cursor.execute(statement, params)
            if cursor.description is not None:
                rows = before = cursor.fetchall()
                rowcount, returned = cursor.rowcount, True
            else:
                before = []
                if not returned:
                    rowcount = cursor.rowcount
        return rows, rowcount

    def _wake(self, topic: str) -> None:
        notify(topic, self.socket_dir)

    async def listener(self) -> Listener:
        listener = WakeupListener.in_this_loop(self.socket_dir)
        if listener is None:  # the directory is created and checked once, with the socket
            listener = WakeupListener.shared(self._settings.socket_dir(self.location))
        return listener

    def change_token(self) -> int | None:
        """SQLite's ``data_version``: changes whenever another connection commits.

        Raises:
            StoreReplaced: the file was deleted, replaced or overwritten
                (:meth:`check_identity`).
        """
        now = time.monotonic()
        if now >= self._identity_due:  # not at every tick: a quarter of an idle one's CPU
            self._identity_due = now + IDENTITY_CHECK_SECONDS
            self.check_identity()
        else:
            self._usable()
        try:
            return int(read_all(self._cursor, "PRAGMA data_version")[0][0])
        except sqlite3.Error as exc:
            raise self._failed(exc, "query failed") from exc

    async def close(self) -> None:
        if self._carried:  # (the machines commit their own steps as they end; completions
            self._flush_due()  # carried by a tool's handle would be lost with it)
        self._conn.close()
        if self._identity is not None:
            self._identity.close()  # after the connection: see sqlite_identity._descriptors


class MemoryConnector(SqliteConnector):
    """A SQLite database in this process's memory: the store of fast unit tests.

    Nothing outside the process can see it, so there is no file to watch and its
    wake-ups go straight to the process's waiters.
    """

    def __init__(self, settings: Settings) -> None:
        self._waiters = TopicWaiters()
        super().__init__(MEMORY, settings)

    def _watch_file(self) -> None:
        self._identity = None  # no file

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(MEMORY, isolation_level=None, check_same_thread=False)

    def _configure(self, conn: sqlite3.Connection, sync: str) -> None:
        return

    def _wake(self, topic: str) -> None:
        self._waiters.wake([topic])

    async def listener(self) -> Listener:
        return self._waiters


class _RowParameters(dict[str, Any]):
    """A statement's parameters for one row: the query's, and the row's columns.

    (A row has a score of columns: copying them into a dict for each row would cost more
    than the statement; SQLite asks only for the few the statement names.)
    """

    __slots__ = ("_row",)

    def __init__(self, params: Mapping[str, Any], row: sqlite3.Row) -> None:
        super().__init__(params)
        self._row = row

    def __missing__(self, key: str) -> Any:
        return self._row[key]


def _json_params(queries: Mapping[str, Query]) -> dict[str, tuple[str, ...]]:
    """The parameters each query reads with ``json_each``: lists, bound as JSON text."""
    found = {}
    for name, query in queries.items():
        text = " ".join(query.statements)
        lists = [part.split(")", 1)[0] for part in text.split("json_each(:")[1:]]
        if lists:
            found[name] = tuple(dict.fromkeys(lists))
    return found


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
