"""The PostgreSQL store: one database shared by machines on any number of hosts.

Selected by a URL wherever a database is given (``--db postgresql://...``,
``STATEMACHINE_DB``). Needs the optional extra: ``pip install
"statemachine-engine[postgres]"`` (psycopg 3).

- **One connection per handle**, in autocommit mode. Every operation is one SQL
  statement (``schema/postgres/queries.sql``): one transaction, one round trip. Steps
  that commit together (a change and its history row) are data-modifying ``WITH``
  clauses. Calls from tasks of one process take turns on the connection; a process
  runs one machine or tool, whose calls are sequential anyway, so a pool would not
  earn its keep.
- **Claims** use ``FOR UPDATE SKIP LOCKED``: concurrent claims never wait for each
  other and never hand out one job twice.
- **Wake-ups** are ``NOTIFY`` sent by triggers in the same transaction as the change
  (a job added or finished, an event committed to a machine's inbox, realtime events
  recorded), heard through ``LISTEN`` by :class:`~.postgres_listener.PostgresListener`:
  no socket file is needed between hosts.
- **Migrations** (``schema/postgres/NNNN_*.sql``) run in one transaction under an
  advisory lock, so processes starting together are safe.
- **Commits** use ``synchronous_commit = off`` unless ``STATEMACHINE_PG_SYNC`` says
  otherwise, the same trade as SQLite's default ``synchronous=NORMAL``: a crash of a
  machine or tool loses nothing (the server has every commit), a crash of the database
  server itself can lose the last fraction of a second of commits, never corrupts.
  ``STATEMACHINE_PG_SYNC=on`` flushes every commit to disk first (several times slower).
- **A lost connection** (a restarted server, ``pg_terminate_backend``) is reopened with
  backoff and the interrupted statement runs again; one warning says so. A statement
  the server had already committed when the connection dropped may then run twice;
  ``add_job`` recognises its own job in that case.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row

from ..errors import StoreError
from .models.job import Job, JobStatus
from .models.machine_event import MachineEvent
from .models.machine_state import ErrorRecord, MachineStateRecord, TransitionRecord, pid_alive
from .models.realtime_event import RealtimeEvent
from .names import NAME_LEASE_SECONDS, refuse_if_held
from .queries import load_queries, migrations
from .rows import (
    backoff_jitter,
    dumps,
    dumps_lenient,
    event_record,
    job_record,
    machine_record,
    realtime_record,
    record,
)
from .store import (
    DEFAULT_LEASE_SECONDS,
    DEFAULT_MAX_ATTEMPTS,
    RETRY_BACKOFF_CAP_SECONDS,
    RETRY_BACKOFF_SECONDS,
    WakeAddress,
)

if TYPE_CHECKING:
    from .postgres_listener import PostgresListener

logger = logging.getLogger("statemachine_engine.postgres")

URL_SCHEMES = ("postgresql", "postgres")
#: After a lost connection, reconnecting waits this long at first, doubling up to the cap,
#: and gives up (a StoreError) after the timeout.
RECONNECT_FIRST_DELAY_SECONDS = 0.05
RECONNECT_MAX_DELAY_SECONDS = 2.0
RECONNECT_TIMEOUT_ENV = "STATEMACHINE_PG_RECONNECT_TIMEOUT"
RECONNECT_TIMEOUT_SECONDS = 120.0
SYNC_ENV = "STATEMACHINE_PG_SYNC"
DEFAULT_SYNC = "off"
_SYNC_MODES = ("off", "local", "on", "remote_write", "remote_apply")
_Q = load_queries("postgres")

AsyncConnection = psycopg.AsyncConnection[DictRow]


class _Result(NamedTuple):
    rows: list[DictRow]
    rowcount: int
    #: The statement ran again on a new connection after the first one was lost.
    retried: bool


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


def reconnect_timeout() -> float:
    raw = os.environ.get(RECONNECT_TIMEOUT_ENV)
    if not raw:
        return RECONNECT_TIMEOUT_SECONDS
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise StoreError(f"{RECONNECT_TIMEOUT_ENV} must be a number of seconds") from None


def sync_mode() -> str:
    """``synchronous_commit`` for the store's transactions (``$STATEMACHINE_PG_SYNC``)."""
    mode = (os.environ.get(SYNC_ENV) or DEFAULT_SYNC).lower()
    if mode not in _SYNC_MODES:
        raise StoreError(f"{SYNC_ENV} must be one of {', '.join(_SYNC_MODES)}, got {mode!r}")
    return mode


async def connect(conninfo: str, location: str) -> AsyncConnection:
    """An autocommit connection named after this process (see ``pg_stat_activity``)."""
    options: dict[str, Any] = {}
    if "application_name" not in conninfo_to_dict(conninfo):
        options["application_name"] = f"statemachine-engine[{os.getpid()}]"
    mode = sync_mode()
    try:
        conn = await psycopg.AsyncConnection.connect(
            conninfo, autocommit=True, row_factory=dict_row, **options
        )
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect: {_first_line(exc)}", location=location) from exc
    try:
        await conn.execute(f"SET synchronous_commit = {mode}")  # one of _SYNC_MODES
    except psycopg.Error as exc:
        await conn.close()
        raise StoreError(f"cannot connect: {_first_line(exc)}", location=location) from exc
    return conn


class PostgresStore:
    """The :class:`~statemachine_engine.database.store.Store` on a PostgreSQL database.

    Args:
        url: ``postgresql://user:password@host:port/dbname?options=...``. Tables live in
            the connection's current schema (``public`` unless the URL's
            ``options=-csearch_path=...`` names another, which must exist).

    The connection opens on the first call, in the running event loop.
    """

    #: Committing an event NOTIFYs its target, on whatever host it runs.
    notifies_machines = True

    def __init__(self, url: str) -> None:
        self.location = redact(url)
        try:
            conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise StoreError(f"not a usable PostgreSQL URL: {exc}", location=self.location) from exc
        self._url = url
        self._conn: AsyncConnection | None = None
        #: Reused for every statement on ``_conn`` (statements take turns: ``_lock``).
        self._cursor: psycopg.AsyncCursor[DictRow] | None = None
        self._ready = False  # connected once and migrated
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._listener: PostgresListener | None = None
        self._listener_lock = asyncio.Lock()
        self._closed = False

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

    # -- connection -----------------------------------------------------------------

    async def _connection(self) -> AsyncConnection:
        if self._closed:
            raise StoreError("the store is closed", location=self.location)
        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = await connect(self._url, self.location)
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
        logger.warning(
            "lost the connection to PostgreSQL at %s (%s); reconnecting",
            self.location,
            _first_line(cause),
            extra={"action": "store_connection_lost", "location": self.location},
        )
        started = time.monotonic()
        deadline = started + reconnect_timeout()
        delay = RECONNECT_FIRST_DELAY_SECONDS
        while True:
            try:
                await self._connection()
            except StoreError as exc:
                if time.monotonic() + delay > deadline:
                    raise StoreError(
                        f"lost the connection and could not reconnect within "
                        f"{deadline - started:.0f}s: {exc}",
                        location=self.location,
                    ) from exc
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY_SECONDS)
                continue
            logger.info(
                "reconnected to PostgreSQL at %s after %.2fs",
                self.location,
                time.monotonic() - started,
                extra={"action": "store_reconnected", "location": self.location},
            )
            return

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
                await conn.execute(_Q["migration_lock"])
                await conn.execute(_Q["version_table"])
                state = await (await conn.execute(_Q["schema_version"])).fetchone()
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
                            _Q["set_schema_version"], {"version": number, "now": time.time()}
                        )
        except psycopg.Error as exc:
            raise StoreError(f"cannot migrate the schema: {exc}", location=self.location) from exc

    async def _run(self, query: str, params: Mapping[str, Any] | Sequence[Any] = ()) -> _Result:
        """Run one statement; a lost connection is reopened and the statement run again."""
        self._bind_loop()
        async with self._lock:
            retried = False
            while True:
                conn = await self._connection()
                try:
                    cursor = self._cursor
                    if cursor is None or cursor.connection is not conn:
                        cursor = self._cursor = conn.cursor()
                    await cursor.execute(query, params)
                    rows = await cursor.fetchall() if cursor.rownumber is not None else []
                    return _Result(rows, cursor.rowcount, retried)
                except psycopg.Error as exc:
                    if conn.closed and not retried:
                        retried = True
                        await self._reconnect(exc)
                        continue
                    raise StoreError(
                        f"query failed: {_first_line(exc)}", location=self.location
                    ) from exc

    async def run_named(self, name: str, params: Mapping[str, Any]) -> None:
        """Run the named statement ``name`` of ``queries.sql`` (for the listener)."""
        await self._run(_Q[name], params)

    async def close(self) -> None:
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
                from .postgres_listener import PostgresListener

                await self._run("SELECT 1")  # connected and migrated before listening
                listener = PostgresListener(self._url, self.location, self.run_named)
                await listener.start()
                self._listener = listener
            return self._listener

    # -- jobs -------------------------------------------------------------------------

    async def add_job(
        self,
        job_type: str,
        data: Any = None,
        *,
        job_id: str | None = None,
        priority: int = 0,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        delay: float = 0.0,
        machine_type: str | None = None,
        source_job_id: str | None = None,
    ) -> Job:
        if max_attempts < 1:
            raise StoreError("max_attempts must be at least 1")
        now = time.time()
        if job_id is None:
            import uuid

            job_id = f"job_{uuid.uuid4().hex[:12]}"
        result = await self._run(
            _Q["insert_job"],
            {
                "job_id": job_id,
                "job_type": job_type,
                "machine_type": machine_type,
                "priority": int(priority),
                "data": dumps({} if data is None else data),
                "max_attempts": int(max_attempts),
                "run_after": now + max(0.0, delay),
                "source_job_id": source_job_id,
                "now": now,
            },
        )
        if result.rows:
            return job_record(result.rows[0])
        if result.retried:  # the first try committed before its connection was lost
            existing = await self.get_job(job_id)
            if existing is not None and existing.created_at == now:
                return existing
        raise StoreError(f"a job with id {job_id!r} already exists")

    async def claim_job(
        self,
        job_type: str | None,
        worker: str,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        machine_type: str | None = None,
    ) -> Job | None:
        query = _Q["claim_job" if job_type is not None else "claim_any_job"]
        return await self._claim(
            query,
            {
                "worker": worker,
                "lease": float(lease_seconds),
                "job_type": job_type,
                "machine_type": machine_type,
            },
        )

    async def claim_job_by_id(
        self, job_id: str, worker: str, *, lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> Job | None:
        return await self._claim(
            _Q["claim_job_by_id"],
            {"job_id": job_id, "worker": worker, "lease": float(lease_seconds)},
        )

    async def _claim(self, query: str, params: dict[str, Any]) -> Job | None:
        while True:
            [row] = (await self._run(query, {**params, "now": time.time()})).rows
            if row["job_id"] is not None:
                return job_record(row)
            if not row["expired"]:
                return None
            # Expired leases were just returned to the queue: one of them may be ours.

    async def renew_leases(self, worker: str, lease_seconds: float) -> int:
        result = await self._run(
            _Q["renew_leases"],
            {"worker": worker, "lease": float(lease_seconds), "now": time.time()},
        )
        return result.rowcount

    async def complete_job(
        self,
        job_id: str,
        *,
        result: Any = None,
        worker: str | None = None,
        attempt: int | None = None,
    ) -> bool:
        done = await self._run(
            _Q["complete_job"],
            {
                "job_id": job_id,
                "result": None if result is None else dumps(result),
                "worker": worker,
                "attempt": attempt,
                "now": time.time(),
            },
        )
        return bool(done.rows)

    async def fail_job(
        self,
        job_id: str,
        error: str,
        *,
        worker: str | None = None,
        retry: bool = True,
        attempt: int | None = None,
    ) -> Job | None:
        failed = await self._run(
            _Q["fail_job"],
            {
                "job_id": job_id,
                "error": error,
                "worker": worker,
                "attempt": attempt,
                "retry": bool(retry),
                "backoff_base": RETRY_BACKOFF_SECONDS,
                "backoff_cap": RETRY_BACKOFF_CAP_SECONDS,
                "jitter": backoff_jitter(),
                "now": time.time(),
            },
        )
        return job_record(failed.rows[0]) if failed.rows else None

    async def hand_over_job(
        self, job_id: str, *, attempt: int, worker: str, lease_seconds: float
    ) -> Job | None:
        moved = await self._run(
            _Q["hand_over_job"],
            {
                "job_id": job_id,
                "attempt": int(attempt),
                "worker": worker,
                "lease": float(lease_seconds),
                "now": time.time(),
            },
        )
        return job_record(moved.rows[0]) if moved.rows else None

    async def release_job_unused(self, job_id: str, *, worker: str, attempt: int) -> bool:
        released = await self._run(
            _Q["release_job_unused"],
            {"job_id": job_id, "worker": worker, "attempt": int(attempt), "now": time.time()},
        )
        return bool(released.rows)

    async def record_action_group(self, machine_name: str, group: Mapping[str, Any]) -> None:
        await self._run(
            _Q["record_action_group"], {"machine_name": machine_name, "group": dumps(group)}
        )

    async def cancel_job(self, job_id: str) -> bool:
        return bool((await self._run(_Q["cancel_job"], _job_now(job_id))).rows)

    async def retry_job(self, job_id: str) -> bool:
        return bool((await self._run(_Q["retry_job"], _job_now(job_id))).rows)

    async def remove_job(self, job_id: str) -> bool:
        return int((await self._run(_Q["remove_job"], {"job_id": job_id})).rows[0]["n"]) > 0

    async def purge_jobs(self, statuses: Sequence[str], older_than: float | None = None) -> int:
        unknown = sorted(set(statuses) - set(JobStatus.ALL))
        if unknown:
            raise StoreError(f"unknown job status {', '.join(unknown)}")
        if not statuses:
            return 0
        before = None if older_than is None else time.time() - older_than
        result = await self._run(_Q["purge_jobs"], {"statuses": list(statuses), "before": before})
        return int(result.rows[0]["n"])

    async def reset_processing(self, older_than: float | None = None) -> int:
        now = time.time()
        before = None if older_than is None else now - older_than
        result = await self._run(_Q["reset_processing"], {"before": before, "now": now})
        return int(result.rows[0]["n"])

    async def get_job(self, job_id: str) -> Job | None:
        rows = (await self._run(_Q["get_job"], {"job_id": job_id})).rows
        return job_record(rows[0]) if rows else None

    async def list_jobs(
        self,
        *,
        status: str | Iterable[str] | None = None,
        job_type: str | None = None,
        machine_type: str | None = None,
        limit: int | None = 100,
    ) -> list[Job]:
        statuses = [status] if isinstance(status, str) else status
        query, params = _newest_first(
            "jobs",
            [("status", statuses), ("job_type", job_type), ("machine_type", machine_type)],
            limit,
        )
        return [job_record(row) for row in (await self._run(query, params)).rows]

    async def job_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(JobStatus.ALL, 0)
        for row in (await self._run(_Q["job_counts"])).rows:
            counts[row["status"]] = int(row["n"])
        return counts

    async def job_history(self, job_id: str) -> list[dict[str, Any]]:
        return [dict(row) for row in (await self._run(_Q["job_history"], {"job_id": job_id})).rows]

    async def next_job_ready_at(self, job_type: str | None) -> float | None:
        rows = (await self._run(_Q["next_job_ready_at"], {"job_type": job_type})).rows
        at = rows[0]["at"] if rows else None
        return None if at is None else float(at)

    # -- machine inboxes --------------------------------------------------------------

    async def send_event(
        self,
        target: str,
        event_type: str,
        payload: Any = None,
        *,
        source: str | None = None,
        job_id: str | None = None,
    ) -> int:
        result = await self._run(
            _Q["insert_event"],
            {
                "target": target,
                "source": source,
                "event_type": event_type,
                "payload": dumps({} if payload is None else payload),
                "job_id": job_id,
                "now": time.time(),
            },
        )
        return int(result.rows[0]["id"])

    async def pending_events(
        self, target: str, *, after_id: int = 0, limit: int = 1000
    ) -> list[MachineEvent]:
        result = await self._run(
            _Q["pending_events"], {"target": target, "after_id": after_id, "limit": limit}
        )
        return [event_record(row) for row in result.rows]

    async def inbox_heads(self, after_id: int) -> list[tuple[str, int]]:
        rows = (await self._run(_Q["inbox_heads"], {"after_id": after_id})).rows
        return [(row["target_machine"], int(row["head"])) for row in rows]

    async def pending_heads(self) -> list[tuple[str, int]]:
        rows = (await self._run(_Q["pending_heads"])).rows
        return [(row["target_machine"], int(row["head"])) for row in rows]

    async def last_event_id(self) -> int:
        return int((await self._run(_Q["last_event_id"])).rows[0]["id"])

    def change_token(self) -> int | None:
        return None  # inbox wake-ups are NOTIFYs committed with the events

    async def mark_events(
        self, ids: Sequence[int], status: str, *, reason: str | None = None
    ) -> int:
        if status not in ("pending", "processed", "dropped"):
            raise StoreError(f"unknown event status {status!r}")
        if not ids:
            return 0
        result = await self._run(
            _Q["mark_events"],
            {
                "ids": [int(i) for i in ids],
                "status": status,
                "now": time.time(),
                "reason": reason,
            },
        )
        return result.rowcount

    async def list_events(
        self, *, target: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[MachineEvent]:
        query, params = _newest_first(
            "machine_events", [("target_machine", target), ("status", status)], limit
        )
        return [event_record(row) for row in (await self._run(query, params)).rows]

    async def cleanup_events(self, *, status: str | None = None) -> int:
        if status is None:
            return (await self._run("DELETE FROM machine_events")).rowcount
        return (
            await self._run("DELETE FROM machine_events WHERE status = %(s)s", {"s": status})
        ).rowcount

    # -- machine state -----------------------------------------------------------------

    async def register_machine(
        self,
        machine_name: str,
        *,
        config_name: str | None,
        config_path: str | None,
        pid: int,
        host: str,
        wake_address: str | None = None,
        config_hash: str | None = None,
        lease_seconds: float = NAME_LEASE_SECONDS,
    ) -> MachineStateRecord | None:
        while True:  # until the name is taken or found held (each turn: someone moved)
            rows = (await self._run(_Q["load_machine"], {"machine_name": machine_name})).rows
            previous = machine_record(rows[0]) if rows else None
            now = time.time()
            refuse_if_held(
                previous,
                pid=pid,
                host=host,
                now=now,
                location=self.location,
                pid_alive=pid_alive,
                lease_seconds=lease_seconds,
            )
            taken = await self._run(
                _Q["register_machine"],
                {
                    "machine_name": machine_name,
                    "config_name": config_name,
                    "config_path": config_path,
                    "pid": pid,
                    "host": host,
                    "wake_address": wake_address,
                    "config_hash": config_hash,
                    "now": now,
                    "expected_heartbeat": None if previous is None else previous.heartbeat_at,
                    "expected_status": None if previous is None else previous.status,
                    "expected_pid": None if previous is None else previous.pid,
                },
            )
            if taken.rows:
                break
        if previous is None or not previous.current_state:
            return None
        return previous

    async def wake_address(self, machine_name: str) -> WakeAddress | None:
        rows = (await self._run(_Q["wake_address"], {"machine_name": machine_name})).rows
        if not rows or not rows[0]["wake_address"]:
            return None
        return WakeAddress(rows[0]["wake_address"], rows[0]["host"] or socket.gethostname())

    async def save_transition(
        self,
        machine_name: str,
        *,
        from_state: str | None,
        to_state: str,
        event: str,
        context: Mapping[str, Any],
        timers: Sequence[tuple[str, float]],
        consumed_event_id: int | None = None,
        job_id: str | None = None,
        actions_done: bool = False,
    ) -> None:
        await self._run(
            _Q["save_transition"],
            {
                "actions_done": bool(actions_done),
                "machine_name": machine_name,
                "from_state": from_state,
                "to_state": to_state,
                "event": event,
                "context": dumps_lenient(dict(context)),
                "timers": dumps([list(timer) for timer in timers]),
                "consumed_event_id": consumed_event_id,
                "job_id": job_id,
                "now": time.time(),
            },
        )

    async def mark_actions_done(self, machine_name: str, context: Mapping[str, Any]) -> None:
        await self._run(
            _Q["actions_done"],
            {
                "machine_name": machine_name,
                "context": dumps_lenient(dict(context)),
                "now": time.time(),
            },
        )

    async def heartbeat(self, machine_name: str) -> None:
        await self._run(_Q["heartbeat"], {"machine_name": machine_name, "now": time.time()})

    async def heartbeat_process(self, pid: int, host: str) -> int:
        result = await self._run(
            _Q["heartbeat_process"], {"pid": pid, "host": host, "now": time.time()}
        )
        return result.rowcount

    async def finish_machine(self, machine_name: str, status: str) -> None:
        await self._run(
            _Q["finish_machine"],
            {"machine_name": machine_name, "status": status, "now": time.time()},
        )

    async def forget_machine(self, machine_name: str) -> bool:
        result = await self._run(_Q["forget_machine"], {"machine_name": machine_name})
        return result.rowcount > 0

    async def load_machine(self, machine_name: str) -> MachineStateRecord | None:
        rows = (await self._run(_Q["load_machine"], {"machine_name": machine_name})).rows
        return machine_record(rows[0]) if rows and rows[0]["current_state"] else None

    async def list_machines(self) -> list[MachineStateRecord]:
        return [machine_record(row) for row in (await self._run(_Q["list_machines"])).rows]

    async def transition_history(
        self, machine_name: str | None = None, *, since: float | None = None, limit: int = 20
    ) -> list[TransitionRecord]:
        query, params = _newest_first(
            "state_history", [("machine_name", machine_name), ("at >=", since)], limit
        )
        return [record(TransitionRecord, row) for row in (await self._run(query, params)).rows]

    async def error_history(
        self, machine_name: str | None = None, *, since: float | None = None, limit: int = 20
    ) -> list[ErrorRecord]:
        params = {"machine": machine_name, "since": since, "limit": int(limit)}
        rows = (await self._run(_Q["error_history"], params)).rows
        return [record(ErrorRecord, row) for row in rows]

    # -- realtime events ----------------------------------------------------------------

    async def record_realtime(self, machine_name: str, event_type: str, payload: Any) -> int:
        result = await self._insert_realtime([(machine_name, event_type, payload)])
        return int(result.rows[0]["id"])

    async def record_realtime_batch(
        self, machine_name: str, events: Sequence[tuple[str, Any]]
    ) -> None:
        await self.record_realtime_events([(machine_name, *event) for event in events])

    async def record_realtime_events(self, events: Sequence[tuple[str, str, Any]]) -> None:
        if events:
            await self._insert_realtime(events)

    async def _insert_realtime(self, events: Sequence[tuple[str, str, Any]]) -> _Result:
        return await self._run(
            _Q["insert_realtime"],
            {
                "machine_names": [machine_name for machine_name, _, _ in events],
                "event_types": [event_type for _, event_type, _ in events],
                "payloads": [dumps_lenient({} if p is None else p) for _, _, p in events],
                "now": time.time(),
            },
        )

    async def list_realtime(
        self, *, after_id: int = 0, machine: str | None = None, limit: int = 1000
    ) -> list[RealtimeEvent]:
        result = await self._run(
            _Q["list_realtime"], {"after_id": after_id, "machine": machine, "limit": limit}
        )
        return [realtime_record(row) for row in result.rows]

    async def last_realtime_id(self) -> int:
        return int((await self._run(_Q["last_realtime_id"])).rows[0]["id"])


def _job_now(job_id: str) -> dict[str, Any]:
    return {"job_id": job_id, "now": time.time()}


def _newest_first(
    table: str, filters: Sequence[tuple[str, Any]], limit: int | None
) -> tuple[str, list[Any]]:
    """``SELECT *`` from ``table``, newest first, with the filters whose value is not None.

    A filter is ``("column", value)`` (equality, or membership for a list of values) or
    ``("column op", value)``.
    """
    where: list[str] = []
    params: list[Any] = []
    for condition, value in filters:
        if value is None:
            continue
        if " " in condition:
            where.append(f"{condition} %s")
            params.append(value)
        elif isinstance(value, str):
            where.append(f"{condition} = %s")
            params.append(value)
        else:
            where.append(f"{condition} = ANY(%s::text[])")
            params.append(list(value))
    query = f"SELECT * FROM {table}"  # noqa: S608 - table and columns are ours, values bound
    if where:
        query += " WHERE " + " AND ".join(where)
    query += " ORDER BY id DESC"
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    return query, params


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
