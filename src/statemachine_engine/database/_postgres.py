"""The PostgreSQL dialect: one database shared by machines on any number of hosts.

Selected by a URL wherever a database is given (``--db postgresql://...``,
``STATEMACHINE_DB``). Needs the optional extra: ``pip install
"statemachine-engine[postgres]"`` (psycopg 3).

- **One connection per handle**, in autocommit mode. Every operation is one SQL
  statement (``schema/postgres/queries.sql``): one transaction, one round trip. Steps
  that commit together (a change and its history row) are data-modifying ``WITH``
  clauses. Calls from tasks of one process take turns on the connection; a process
  runs one machine or tool, whose calls are sequential anyway, so a pool would not
  earn its keep.
- **Machines' waiting steps and a worker's completions are carried** (:mod:`._carry`,
  :mod:`._carried_completions`), as on SQLite: they commit in the transaction of the
  handle's next write, before it, sent with it as one statement or one pipeline (one
  round trip, one implicit transaction), so a worker's claim commits with the steps and
  completions before it, each handed its own result.
- **Claims** use ``FOR UPDATE SKIP LOCKED``: concurrent claims never wait for each
  other and never hand out one job twice.
- **Wake-ups** are ``NOTIFY`` sent by triggers in the same transaction as the change
  (a job added or finished, an event committed to a machine's inbox, realtime events
  recorded), heard through ``LISTEN`` by :class:`~._postgres_listener.PostgresListener`:
  no socket file is needed between hosts.
- **Migrations** (``schema/postgres/NNNN_*.sql``) run in one transaction under an
  advisory lock, so processes starting together are safe.
- **Commits** use ``synchronous_commit = off`` unless the settings
  (``STATEMACHINE_PG_SYNC``) say otherwise, the same trade as SQLite's default
  ``synchronous=NORMAL``: a crash of a machine or tool loses nothing (the server has
  every commit), a crash of the database server itself can lose the last fraction of a
  second of commits, never corrupts.
  ``STATEMACHINE_PG_SYNC=on`` flushes every commit to disk first (several times slower).
- **A lost connection** (a restarted server, ``pg_terminate_backend``) is reopened with
  backoff and the interrupted transaction runs again; one warning says so. The server
  may have committed it before the connection dropped, its reply lost: a write that
  must not run twice (an event sent, a job added, claimed, completed or failed, a
  machine's steps, an operator's cancel, retry or reset) has a probe,
  ``<name>.committed`` in ``queries.sql``, that finds what it wrote by the time it was
  stamped with. Asked on the new connection first, a probe that finds it answers for
  its statement, and the transaction is not run again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow

from .._logs import lines_together
from ..errors import StoreError
from ..settings import Settings
from ._carry import RETRY_SECONDS, CarriedWrites
from ._connector import CarriedWrite, Result
from ._postgres_connection import (
    AsyncConnection,
    connect,
    first_line,
    reopen,
)
from ._postgres_merge import Merger
from ._queries import PROBE, Query, load_queries, migrations
from ._sql_store import SqlStore

if TYPE_CHECKING:
    from ._postgres_listener import PostgresListener

logger = logging.getLogger("statemachine_engine.store")

URL_SCHEMES = ("postgresql", "postgres")
#: One statement of a transaction, and its parameters.
_Part = tuple[str, Mapping[str, Any] | Sequence[Any]]
#: A named query and its parameters, as a statement is made from them.
_Named = tuple[str, Mapping[str, Any]]


def is_postgres_url(location: str) -> bool:
    return location.split("://", 1)[0].lower() in URL_SCHEMES and "://" in location


def redact(url: str) -> str:
    """``url`` without its password, fit for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


class PostgresStore(SqlStore):
    """The :class:`~statemachine_engine.database.store.Store` on a PostgreSQL database.

    Args:
        url: ``postgresql://user:password@host:port/dbname?options=...``. Tables live in
            the connection's current schema (``public`` unless the URL's
            ``options=-csearch_path=...`` names another, which must exist).

    The connection opens on the first call, in the running event loop.
    """

    connector: PostgresConnector

    def __init__(self, url: str, *, settings: Settings | None = None) -> None:
        super().__init__(PostgresConnector(url, settings or Settings.load()))


class PostgresConnector:
    """A connection to a PostgreSQL database (see :class:`~._connector.Connector`),
    opened on the first call, in the running event loop."""

    #: Committing an event NOTIFYs its target, on whatever host it runs.
    notifies_machines = True
    spans_hosts = True
    #: Each carried write is handed its statement's result when it commits (:mod:`._carry`):
    #: job completions can be carried (:mod:`._carried_completions`).
    carried_results = True

    def __init__(self, url: str, settings: Settings) -> None:
        self.location = redact(url)
        self._sync = settings.pg_sync
        self._reconnect_timeout = settings.pg_reconnect_timeout
        try:
            conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise StoreError(f"not a usable PostgreSQL URL: {exc}", location=self.location) from exc
        self._url = url
        self._queries = load_queries("postgres")
        self._json_params = _json_params(self._queries)
        self._reads = {name: query.reads for name, query in self._queries.items()}
        self._probes = {
            name.removesuffix(PROBE): name for name in self._queries if name.endswith(PROBE)
        }
        self._conn: AsyncConnection | None = None
        #: Reused for every statement on ``_conn`` (statements take turns: ``_lock``).
        self._cursor: psycopg.AsyncCursor[DictRow] | None = None
        #: The other statements' cursors in a pipeline (each holds its own result).
        self._other_cursors: list[psycopg.AsyncCursor[DictRow]] = []
        self._ready = False  # connected once and migrated
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._listener: PostgresListener | None = None
        self._listener_lock = asyncio.Lock()
        self._closed = False
        #: Writes waiting to commit with the next write transaction (:meth:`carry`).
        self._carried = CarriedWrites(self._flush_due)
        self._flushing: asyncio.Task[None] | None = None
        self._merger = Merger()

    def _bind_loop(self) -> None:
        """Connections belong to one event loop: a handle used from a new one starts over.

        (``Database()`` may be made before ``asyncio.run``, and a script may call
        ``asyncio.run`` several times.)
        """
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            # The old loop is gone: close its connections without it.
            if self._conn is not None:
                self._conn.pgconn.finish()
                self._conn = None
            if self._listener is not None:
                self._listener.abandon()
                self._listener = None
            self._lock = asyncio.Lock()
            self._listener_lock = asyncio.Lock()
            self._flushing = None

    # -- connection -----------------------------------------------------------------

    async def _connection(self) -> AsyncConnection:
        if self._closed:
            raise StoreError("the store is closed", location=self.location)
        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = await connect(self._url, self.location, sync=self._sync)
        if not self._ready:
            try:
                await self._migrate(conn)
            except BaseException:
                await conn.close()
                raise
            self._ready = True
        self._conn = conn
        return conn

    async def _reconnect(self, cause: BaseException) -> None:
        """Reopen the lost connection, waiting out a server that is restarting."""
        await reopen(
            self._connection,
            which="store",
            cause=cause,
            location=self.location,
            timeout=self._reconnect_timeout,
        )

    async def _migrate(self, conn: AsyncConnection) -> None:
        """Bring the schema up to date; concurrent openers wait on an advisory lock."""
        schema = await (await conn.execute("SELECT current_schema() AS name")).fetchone()
        if schema is None or schema["name"] is None:
            raise StoreError(
                "the schema named by search_path does not exist; create it first",
                location=self.location,
            )
        try:
            async with conn.transaction():
                await conn.execute(self._statement("migration_lock"))
                await conn.execute(self._statement("version_table"))
                state = await (await conn.execute(self._statement("schema_version"))).fetchone()
                assert state is not None
                version = int(state["version"])
                if version == 0 and state["has_jobs"]:
                    raise StoreError(
                        "this schema holds a jobs table that statemachine-engine did not "
                        "create; use another database or schema (options=-csearch_path=...)",
                        location=self.location,
                    )
                for number, script in migrations("postgres"):
                    if number > version:
                        await conn.execute(script.encode())  # several statements, no params
                        await conn.execute(
                            self._statement("set_schema_version"),
                            {"version": number, "now": time.time()},
                        )
        except psycopg.Error as exc:
            raise StoreError(f"cannot migrate the schema: {exc}", location=self.location) from exc

    def _statement(self, name: str, params: Mapping[str, Any] | None = None) -> str:
        (statement,), _ = self._queries[name].render(params or {})
        return statement

    def _prepared(self, name: str, params: Mapping[str, Any]) -> _Part:
        """The named query's statement for ``params``, and the parameters as it binds
        them: the lists it reads with ``json_array_elements`` as JSON text (psycopg
        writes a nested list as an array literal in Python, escaping each item)."""
        lists = self._json_params.get(name)
        if lists is not None:
            params = {
                **params,
                **{key: json.dumps(params[key]) for key in lists if params[key] is not None},
            }
        return self._statement(name, params), params

    def _probe(self, name: str, params: Mapping[str, Any]) -> _Part | None:
        """The statement that finds what ``name`` with ``params`` wrote, if it committed
        (None: ``name`` has no probe, or none for these parameters)."""
        probe = self._probes.get(name)
        if probe is None or not self._queries[probe].render(params)[0]:
            return None
        return self._prepared(probe, params)

    async def run(self, name: str, params: Mapping[str, Any]) -> Result:
        return await self._execute(
            self._prepared(name, params), carry=not self._reads[name], named=(name, params)
        )

    async def run_sql(self, query: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> Result:
        """Run one statement; a lost connection is reopened and the statement run again."""
        return await self._execute((query, params), carry=False)

    async def _execute(
        self, part: _Part | None, *, carry: bool, first: object = None, named: _Named | None = None
    ) -> Result:
        """Run ``part`` (None: nothing of its own; ``named``: the query and parameters it
        was made from), with the carried writes before it in its transaction when
        ``carry``; a lost connection is reopened and it all runs again, unless the
        statements' probes find it committed. The result is ``part``'s; each carried
        write is handed its own."""
        self._bind_loop()
        async with self._lock:
            retried = False
            while True:
                conn = await self._connection()
                taken = self._carried.take(first) if carry and self._carried else []
                carried, parts, names = self._parts(taken)
                if part is not None:
                    parts.append(part)
                    names.append(named)
                try:
                    try:
                        results: Sequence[Result | None] = await self._transaction(conn, parts)
                    except psycopg.Error as exc:
                        if not conn.closed or retried:
                            raise
                        retried = True
                        await self._reconnect(exc)
                        found = await self._committed(names)
                        if found is None:
                            self._carried.put_back(taken)
                            continue
                        results = found
                except psycopg.Error as exc:
                    self._carried.put_back(taken)
                    raise self._query_failed(exc) from exc
                except BaseException:
                    self._carried.put_back(taken)
                    raise
                with lines_together:  # (what many machines' steps waited to say: one write)
                    for write, result in zip(carried, results, strict=False):
                        write.committed(result)
                if part is None:
                    return Result([], 0)
                mine = results[-1]
                if mine is None:  # committed, with no probe to read its result: run it alone
                    try:
                        return (await self._transaction(await self._connection(), [part]))[0]
                    except psycopg.Error as exc:
                        raise self._query_failed(exc) from exc
                return mine

    def _query_failed(self, exc: psycopg.Error) -> StoreError:
        return StoreError(f"query failed: {first_line(exc)}", location=self.location)

    def _parts(
        self, taken: list[tuple[object, CarriedWrite]]
    ) -> tuple[list[CarriedWrite], list[_Part], list[_Named | None]]:
        """The carried writes with something to commit, their statements, and the
        queries and parameters those were made from."""
        writes: list[CarriedWrite] = []
        parts: list[_Part] = []
        names: list[_Named | None] = []
        for _, write in taken:
            carried = write.take()
            if carried is not None:
                writes.append(write)
                parts.append(self._prepared(*carried))
                names.append(carried)
        return writes, parts, names

    async def _committed(self, names: list[_Named | None]) -> list[Result | None] | None:
        """Each statement's result, read by its probe (None: it has none), if the
        transaction whose reply was lost had committed: a probe found what its statement
        wrote. None if it had not (or no statement of it has a probe: it runs again, as
        it would have). Probes are made here, not with every statement: this is rare."""
        probes = [None if named is None else self._probe(*named) for named in names]
        if not any(probes):
            return None
        conn = await self._connection()
        results: list[Result | None] = []
        for probe in probes:
            if probe is None:
                results.append(None)
                continue
            rows = await (await conn.execute(*probe)).fetchall()
            results.append(Result(rows, len(rows)))
        return results if any(result and result.rows for result in results) else None

    async def _transaction(self, conn: AsyncConnection, parts: list[_Part]) -> list[Result]:
        """Run ``parts`` in one transaction, and return each one's result: a lone
        statement in autocommit; else a carried write and the part after it as one
        statement where they can be (:mod:`._postgres_merge`; the carried write's result
        is then empty), and the statements in one pipeline. The server runs a
        pipeline's statements up to its Sync (psycopg sends one, at the end) as one
        implicit transaction: all commit at the Sync, or none (a statement failing rolls
        back the ones before; the rest are skipped). One round trip, and cheaper than
        ``BEGIN`` ... ``COMMIT`` around them."""
        if not parts:
            return []
        cursor = self._cursor
        if cursor is None or cursor.connection is not conn:
            cursor = self._cursor = conn.cursor()
            self._other_cursors = []
        statements = self._merged(parts)
        if len(statements) == 1:
            await cursor.execute(*statements[0][0])
            cursors = [cursor]
        else:
            others = self._other_cursors
            while len(others) < len(statements) - 1:
                others.append(conn.cursor())
            cursors = [*others[: len(statements) - 1], cursor]
            async with conn.pipeline():  # each statement's result on a cursor of its own
                for each, (statement, _) in zip(cursors, statements, strict=True):
                    await each.execute(*statement)
        results: list[Result] = []
        for each, (_, merged) in zip(cursors, statements, strict=True):
            if merged:  # the carried write folded into this statement returns nothing
                results.append(Result([], 0))
            rows = await each.fetchall() if each.rownumber is not None else []
            results.append(Result(rows, each.rowcount))
        return results

    def _merged(self, parts: list[_Part]) -> list[tuple[_Part, bool]]:
        """The statements that run ``parts``, each with whether it is two of them: a
        part merged into the one after it where it can be."""
        statements: list[tuple[_Part, bool]] = []
        index = 0
        while index < len(parts):
            if index + 1 < len(parts):
                merged = self._merger.merge(parts[index], parts[index + 1])
                if merged is not None:
                    statements.append((merged, True))
                    index += 2
                    continue
            statements.append((parts[index], False))
            index += 1
        return statements

    # -- writes carried by the next transaction (._carry) -------------------------------

    def carry(self, key: object, write: CarriedWrite) -> None:
        """Let ``write`` (one per ``key``) wait for this handle's next write and commit
        in its transaction, before it (:mod:`._carry`)."""
        self._carried.add(key, write)

    async def flush(self, key: object = None) -> None:
        """Commit the carried writes now, in one transaction (with ``key``'s among them)."""
        if self._carried:
            await self._execute(None, carry=True, first=key)

    def flush_soon(self) -> None:
        """Commit the carried writes once the process has run what is ready, unless a
        write carries them first (:meth:`._carry.CarriedWrites.soon`)."""
        self._carried.soon()

    def _flush_due(self) -> None:
        """Start committing what waits, in a task (statements take turns on the
        connection, and what is queued before it commits first); it looks again for
        what waits once it is done (:class:`._carry.CarriedWrites`)."""
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().create_task(self._flush_waiting())

    async def _flush_waiting(self) -> None:
        try:
            await self.flush()
        except StoreError as exc:  # they wait; the machines' own commits will tell
            logger.warning("could not commit the steps waiting: %s", exc)
            asyncio.get_running_loop().call_later(RETRY_SECONDS, self._carried.soon)
            return
        finally:
            self._flushing = None
        self._carried.soon()  # what came meanwhile

    async def close(self) -> None:
        if self._flushing is not None:  # a commit of carried writes under way ends first
            await asyncio.wait([self._flushing])
        if self._carried and not self._closed:  # (completions carried by a tool's handle
            try:  # would be lost with it)
                await self.flush()
            except StoreError as exc:
                logger.warning("closing with writes not committed: %s", exc)
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        self._closed = True
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def listener(self) -> PostgresListener:
        """The handle's LISTEN connection, opened (and listening) on first use."""
        self._bind_loop()
        async with self._listener_lock:
            if self._listener is None:
                from ._postgres_listener import PostgresListener

                await self.run_sql("SELECT 1")  # connected and migrated before listening
                listener = PostgresListener(self._url, self.location, self.run, sync=self._sync)
                await listener.start()
                self._listener = listener
            return self._listener

    def check_identity(self) -> None:
        return  # a server's database has no file to be replaced under it

    def change_token(self) -> int | None:
        return None  # inbox wake-ups are NOTIFYs committed with the events


_JSON_LIST = re.compile(r"jsonb_array_elements\(%\((\w+)\)s::jsonb\)")


def _json_params(queries: Mapping[str, Query]) -> dict[str, tuple[str, ...]]:
    """The parameters each query reads with ``json_array_elements``: lists, bound as
    JSON text."""
    found = {}
    for name, query in queries.items():
        lists = _JSON_LIST.findall(" ".join(query.statements))
        if lists:
            found[name] = tuple(dict.fromkeys(lists))
    return found
