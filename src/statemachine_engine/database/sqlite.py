"""The SQLite store: the embedded default, zero set-up.

One file in WAL mode shared by every process of a system. Writes are short
``BEGIN IMMEDIATE`` transactions, so a claim is atomic across processes; readers never
block writers. Calls run on the event loop's thread: each takes microseconds, and the
busy timeout bounds the wait for another process's write lock.

``synchronous=NORMAL`` is the default (a transaction is durable once the WAL is synced
at the next checkpoint; a power loss can lose the last few, a process crash loses
nothing). ``STATEMACHINE_SQLITE_SYNC=FULL`` syncs every commit.

Every change that can make a job claimable or finished (add, fail, complete, cancel,
retry, reset) sends a wake-up (:mod:`..messaging.wakeup`) after its commit, whoever
made it: an engine, ``statemachine-db`` or a script using the API.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..messaging.wakeup import JOBS, REALTIME, Listener, WakeupListener, notify
from ..settings import socket_dir, socket_dir_path
from .models.job import Job, JobStatus
from .models.machine_event import MachineEvent
from .models.machine_state import ErrorRecord, MachineStateRecord, TransitionRecord, pid_alive
from .models.realtime_event import RealtimeEvent
from .names import NAME_LEASE_SECONDS, refuse_if_held
from .queries import latest_version, load_queries, migrations
from .rows import (
    dumps,
    dumps_lenient,
    event_record,
    job_record,
    loads,
    machine_record,
    record,
    retry_backoff,
)
from .sqlite_identity import SqliteIdentity, shm_unwritable
from .store import (
    DEFAULT_LEASE_SECONDS,
    DEFAULT_MAX_ATTEMPTS,
    StoreError,
    StoreNotFound,
    WakeAddress,
)

SYNC_ENV = "STATEMACHINE_SQLITE_SYNC"
BUSY_TIMEOUT_MS = 30_000
WAL_CHECKPOINT_PAGES = 10_000
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024
_Q = load_queries("sqlite")


class SqliteStore:
    """The :class:`~statemachine_engine.database.store.Store` on one SQLite file.

    Args:
        path: the database file, created (owner-only, parent directory too) if missing.
        create: False to refuse a missing file (:class:`StoreNotFound`) instead of
            creating it: what commands that only read ask for.
    """

    #: Senders wake machines through their control sockets (:mod:`..messaging.delivery`).
    notifies_machines = False

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        #: Where this store's processes on this host bind their sockets.
        self.socket_dir = socket_dir_path(self.location)
        self._conn = self._open(create)
        try:
            self._identity = SqliteIdentity(self.path, self._conn)
        except BaseException:
            self._conn.close()
            raise

    def check_identity(self) -> None:
        """Raise :class:`StoreReplaced` if the file at the store's path is no longer the
        store this connection has open (deleted, replaced, overwritten in place), or its
        ``-shm`` can no longer be written: :mod:`.sqlite_identity`. A ``stat`` or two, an
        ``access`` and one page read: cheap enough for the inbox watch's tick."""
        self._identity.check()

    def _usable(self) -> None:
        """Nothing is read from or written to a file known to be no longer this store."""
        if self._identity.lost is not None:
            raise self._identity.lost

    def _failed(self, exc: sqlite3.Error, what: str) -> StoreError:
        """Our error for a failed statement: :class:`StoreReplaced` when the file is no
        longer this store or is damaged (an overwrite often shows first as "database
        disk image is malformed", "no such table"...), else a :class:`StoreError`."""
        replaced = self._identity.after_error(exc)
        if replaced is not None:
            return replaced
        return StoreError(f"{what}: {exc}", location=self.location)

    # -- connection ---------------------------------------------------------------

    def _open(self, create: bool) -> sqlite3.Connection:
        sync = os.environ.get(SYNC_ENV, "NORMAL").upper()
        if sync not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise StoreError(f"{SYNC_ENV} must be NORMAL or FULL, got {sync!r}")
        if not create and not self.path.is_file():
            raise StoreNotFound(self.location)
        try:
            if not self.path.exists():
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                _create_private(self.path)
            shm = f"{self.path}-shm"
            if os.path.lexists(shm) and not os.access(shm, os.W_OK):
                # SQLite would fail on it later, or die of SIGBUS with no word.
                raise StoreError(shm_unwritable(self.path, running=False))
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open database: {exc}", location=self.location) from exc
        conn.row_factory = sqlite3.Row
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _use_wal(conn)
            conn.execute(f"PRAGMA synchronous = {sync}")
            # Checkpoints (which sync the main file) every ~40 MB of WAL rather than 4 MB:
            # fewer stalls for short transactions; the WAL is truncated back to 64 MB.
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
            conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES}")
            self._migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"not a usable database: {exc}", location=self.location) from exc
        except BaseException:  # a refused (foreign) database: do not leak the handle
            conn.close()
            raise
        return conn

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
                    for statement in _statements(script):
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

    async def close(self) -> None:
        self._conn.close()
        self._identity.close()  # after the connection: see sqlite_identity._descriptors

    async def listener(self) -> Listener:
        return WakeupListener.shared(socket_dir(self.location))

    def _notify(self, topic: str) -> None:
        notify(topic, self.socket_dir)

    def change_token(self) -> int | None:
        """SQLite's ``data_version``: changes whenever another connection commits.

        Raises:
            StoreReplaced: the file was deleted, replaced or overwritten
                (:meth:`check_identity`).
        """
        self.check_identity()
        try:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error as exc:
            raise self._failed(exc, "query failed") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction (atomic across processes)."""
        self._usable()
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._failed(exc, "cannot write") from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as exc:  # a constraint, a full disk...: ours, and nothing kept
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # a damaged file may refuse it too
                    conn.execute("ROLLBACK")
            raise self._failed(exc, "write failed") from exc
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _read(
        self, query: str, params: Mapping[str, Any] | Sequence[Any] = ()
    ) -> list[sqlite3.Row]:
        self._usable()
        try:
            return self._conn.execute(query, params).fetchall()
        except sqlite3.Error as exc:
            raise self._failed(exc, "query failed") from exc

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
            import uuid  # only when adding jobs: it costs a machine's start-up otherwise

            job_id = f"job_{uuid.uuid4().hex[:12]}"
        new_id = job_id
        params: dict[str, Any] = {
            "job_id": new_id,
            "job_type": job_type,
            "machine_type": machine_type,
            "priority": int(priority),
            "data": dumps({} if data is None else data),
            "max_attempts": int(max_attempts),
            "run_after": now + max(0.0, delay),
            "source_job_id": source_job_id,
            "now": now,
        }
        with self._write() as conn:
            try:
                row = conn.execute(_Q["insert_job"], params).fetchone()
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"a job with id {new_id!r} already exists") from exc
            self._history(conn, new_id, "pending", 0, None, "added", now)
        self._notify(JOBS)  # a worker waiting for work takes it now, not at its next look
        return job_record(row)

    async def claim_job(
        self,
        job_type: str | None,
        worker: str,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        machine_type: str | None = None,
    ) -> Job | None:
        now = time.time()
        with self._write() as conn:
            self._expire_leases(conn, now)
            row = conn.execute(
                _Q["claim_job" if job_type is not None else "claim_any_job"],
                {
                    "worker": worker,
                    "lease": lease_seconds,
                    "job_type": job_type,
                    "machine_type": machine_type,
                    "now": now,
                },
            ).fetchone()
            if row is not None:
                self._history(conn, row["job_id"], "processing", row["attempts"], worker, None, now)
        return job_record(row) if row is not None else None

    async def claim_job_by_id(
        self, job_id: str, worker: str, *, lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> Job | None:
        now = time.time()
        with self._write() as conn:
            self._expire_leases(conn, now)
            row = conn.execute(
                _Q["claim_job_by_id"],
                {"job_id": job_id, "worker": worker, "lease": lease_seconds, "now": now},
            ).fetchone()
            if row is not None:
                self._history(conn, job_id, "processing", row["attempts"], worker, None, now)
        return job_record(row) if row is not None else None

    def _expire_leases(self, conn: sqlite3.Connection, now: float) -> None:
        for row in conn.execute(_Q["expire_leases"], {"now": now}).fetchall():
            self._history(
                conn, row["job_id"], row["status"], row["attempts"], None, "lease expired", now
            )

    async def renew_leases(self, worker: str, lease_seconds: float) -> int:
        with self._write() as conn:
            cursor = conn.execute(
                _Q["renew_leases"], {"worker": worker, "lease": lease_seconds, "now": time.time()}
            )
            return cursor.rowcount

    async def complete_job(
        self,
        job_id: str,
        *,
        result: Any = None,
        worker: str | None = None,
        attempt: int | None = None,
    ) -> bool:
        now = time.time()
        with self._write() as conn:
            row = conn.execute(
                _Q["complete_job"],
                {
                    "job_id": job_id,
                    "result": None if result is None else dumps(result),
                    "worker": worker,
                    "attempt": attempt,
                    "now": now,
                },
            ).fetchone()
            if row is not None:
                self._history(conn, job_id, "completed", row["attempts"], worker, None, now)
        if row is not None:
            self._notify(JOBS)  # wait_for_jobs waiters look again
        return row is not None

    async def fail_job(
        self,
        job_id: str,
        error: str,
        *,
        worker: str | None = None,
        retry: bool = True,
        attempt: int | None = None,
    ) -> Job | None:
        now = time.time()
        with self._write() as conn:
            current = conn.execute(_Q["get_job"], {"job_id": job_id}).fetchone()
            if current is None:
                return None
            row = conn.execute(
                _Q["fail_job"],
                {
                    "job_id": job_id,
                    "error": error,
                    "worker": worker,
                    "attempt": attempt,
                    "retry": retry,
                    "backoff": retry_backoff(current["attempts"]),
                    "now": now,
                },
            ).fetchone()
            if row is not None:
                self._history(conn, job_id, row["status"], row["attempts"], worker, error, now)
        if row is not None:
            self._notify(JOBS)  # waiters re-read when the retry ripens; wait_for_jobs sees `dead`
        return job_record(row) if row is not None else None

    async def hand_over_job(
        self, job_id: str, *, attempt: int, worker: str, lease_seconds: float
    ) -> Job | None:
        now = time.time()
        with self._write() as conn:
            row = conn.execute(
                _Q["hand_over_job"],
                {
                    "job_id": job_id,
                    "attempt": attempt,
                    "worker": worker,
                    "lease": lease_seconds,
                    "now": now,
                },
            ).fetchone()
            if row is not None:
                self._history(conn, job_id, "processing", attempt, worker, "handed over", now)
        return job_record(row) if row is not None else None

    async def release_job_unused(self, job_id: str, *, worker: str, attempt: int) -> bool:
        now = time.time()
        with self._write() as conn:
            row = conn.execute(
                _Q["release_job_unused"],
                {"job_id": job_id, "worker": worker, "attempt": attempt, "now": now},
            ).fetchone()
            if row is not None:
                self._history(conn, job_id, "pending", attempt, worker, "given back unused", now)
        if row is not None:
            self._notify(JOBS)  # a waiting worker takes it now
        return row is not None

    async def record_action_group(self, machine_name: str, group: Mapping[str, Any]) -> None:
        with self._write() as conn:
            conn.execute(
                _Q["record_action_group"], {"machine_name": machine_name, "group": dumps(group)}
            )

    async def cancel_job(self, job_id: str) -> bool:
        return self._simple_update("cancel_job", job_id, JobStatus.CANCELLED)

    async def retry_job(self, job_id: str) -> bool:
        return self._simple_update("retry_job", job_id, JobStatus.PENDING)

    def _simple_update(self, query: str, job_id: str, status: str) -> bool:
        now = time.time()
        with self._write() as conn:
            row = conn.execute(_Q[query], {"job_id": job_id, "now": now}).fetchone()
            if row is not None:
                self._history(conn, job_id, status, row["attempts"], None, query, now)
        if row is not None:
            self._notify(JOBS)
        return row is not None

    async def remove_job(self, job_id: str) -> bool:
        with self._write() as conn:
            removed = conn.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,)).rowcount
            conn.execute("DELETE FROM job_history WHERE job_id = ?", (job_id,))
        return removed > 0

    async def purge_jobs(self, statuses: Sequence[str], older_than: float | None = None) -> int:
        unknown = sorted(set(statuses) - set(JobStatus.ALL))
        if unknown:
            raise StoreError(f"unknown job status {', '.join(unknown)}")
        if not statuses:
            return 0
        marks = ",".join("?" for _ in statuses)
        where = f"status IN ({marks})"
        params: list[Any] = list(statuses)
        if older_than is not None:
            where += " AND updated_at < ?"
            params.append(time.time() - older_than)
        with self._write() as conn:
            conn.execute(
                f"DELETE FROM job_history WHERE job_id IN (SELECT job_id FROM jobs WHERE {where})",  # noqa: S608
                params,
            )
            return conn.execute(f"DELETE FROM jobs WHERE {where}", params).rowcount  # noqa: S608

    async def reset_processing(self, older_than: float | None = None) -> int:
        now = time.time()
        before = None if older_than is None else now - older_than
        with self._write() as conn:
            rows = conn.execute(_Q["reset_processing"], {"before": before, "now": now}).fetchall()
            for row in rows:
                self._history(conn, row["job_id"], "pending", row["attempts"], None, "reset", now)
        if rows:
            self._notify(JOBS)
        return len(rows)

    async def get_job(self, job_id: str) -> Job | None:
        rows = self._read(_Q["get_job"], {"job_id": job_id})
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
            [("status IN", statuses), ("job_type =", job_type), ("machine_type =", machine_type)],
            limit,
        )
        return [job_record(row) for row in self._read(query, params)]

    async def job_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(JobStatus.ALL, 0)
        for row in self._read(_Q["job_counts"]):
            counts[row["status"]] = row["n"]
        return counts

    async def job_history(self, job_id: str) -> list[dict[str, Any]]:
        return [dict(row) for row in self._read(_Q["job_history"], {"job_id": job_id})]

    async def next_job_ready_at(self, job_type: str | None) -> float | None:
        rows = self._read(_Q["next_job_ready_at"], {"job_type": job_type})
        return rows[0]["at"] if rows else None

    @staticmethod
    def _history(
        conn: sqlite3.Connection,
        job_id: str,
        status: str,
        attempt: int,
        worker: str | None,
        message: str | None,
        now: float,
    ) -> None:
        conn.execute(
            _Q["insert_job_history"],
            {
                "job_id": job_id,
                "status": status,
                "attempt": attempt,
                "worker": worker,
                "message": message,
                "now": now,
            },
        )

    # -- machine inboxes -------------------------------------------------------------

    async def send_event(
        self,
        target: str,
        event_type: str,
        payload: Any = None,
        *,
        source: str | None = None,
        job_id: str | None = None,
    ) -> int:
        params = {
            "target": target,
            "source": source,
            "event_type": event_type,
            "payload": dumps({} if payload is None else payload),
            "job_id": job_id,
            "now": time.time(),
        }
        with self._write() as conn:
            cursor = conn.execute(_Q["insert_event"], params)
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def pending_events(
        self, target: str, *, after_id: int = 0, limit: int = 1000
    ) -> list[MachineEvent]:
        rows = self._read(
            _Q["pending_events"], {"target": target, "after_id": after_id, "limit": limit}
        )
        return [event_record(row) for row in rows]

    async def inbox_heads(self, after_id: int) -> list[tuple[str, int]]:
        rows = self._read(_Q["inbox_heads"], {"after_id": after_id})
        return [(row["target_machine"], int(row["head"])) for row in rows]

    async def pending_heads(self) -> list[tuple[str, int]]:
        rows = self._read(_Q["pending_heads"])
        return [(row["target_machine"], int(row["head"])) for row in rows]

    async def last_event_id(self) -> int:
        return int(self._read(_Q["last_event_id"])[0]["id"])

    async def mark_events(
        self, ids: Sequence[int], status: str, *, reason: str | None = None
    ) -> int:
        now = time.time()
        with self._write() as conn:
            return sum(
                conn.execute(
                    _Q["consume_event"],
                    {"id": event_id, "status": status, "now": now, "reason": reason},
                ).rowcount
                for event_id in ids
            )

    async def list_events(
        self, *, target: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[MachineEvent]:
        query, params = _newest_first(
            "machine_events", [("target_machine =", target), ("status =", status)], limit
        )
        return [event_record(row) for row in self._read(query, params)]

    async def cleanup_events(self, *, status: str | None = None) -> int:
        with self._write() as conn:
            if status is None:
                return conn.execute("DELETE FROM machine_events").rowcount
            return conn.execute("DELETE FROM machine_events WHERE status = ?", (status,)).rowcount

    # -- machine state ---------------------------------------------------------------

    async def register_machine(
        self,
        machine_name: str,
        *,
        config_name: str | None,
        config_path: str | None,
        pid: int,
        host: str,
        wake_address: str | None = None,
        lease_seconds: float = NAME_LEASE_SECONDS,
        config_hash: str | None = None,
    ) -> MachineStateRecord | None:
        now = time.time()
        with self._write() as conn:
            row = conn.execute(_Q["load_machine"], {"machine_name": machine_name}).fetchone()
            previous = machine_record(row) if row is not None else None
            refuse_if_held(
                previous,
                pid=pid,
                host=host,
                now=now,
                location=self.location,
                pid_alive=pid_alive,
                lease_seconds=lease_seconds,
            )
            conn.execute(
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
                },
            )
        if previous is None or not previous.current_state:
            return None
        return previous

    async def wake_address(self, machine_name: str) -> WakeAddress | None:
        rows = self._read(_Q["wake_address"], {"machine_name": machine_name})
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
        now = time.time()
        params = {
            "actions_done": int(actions_done),
            "machine_name": machine_name,
            "from_state": from_state,
            "to_state": to_state,
            "event": event,
            "context": dumps_lenient(dict(context)),
            "timers": dumps([list(timer) for timer in timers]),
            "job_id": job_id,
            "now": now,
        }
        with self._write() as conn:
            conn.execute(_Q["save_state"], params)
            conn.execute(_Q["insert_transition"], params)
            if consumed_event_id is not None:
                conn.execute(
                    _Q["consume_event"],
                    {"id": consumed_event_id, "status": "processed", "now": now, "reason": None},
                )

    async def mark_actions_done(self, machine_name: str, context: Mapping[str, Any]) -> None:
        with self._write() as conn:
            conn.execute(
                _Q["actions_done"],
                {
                    "machine_name": machine_name,
                    "context": dumps_lenient(dict(context)),
                    "now": time.time(),
                },
            )

    async def heartbeat(self, machine_name: str) -> None:
        self.check_identity()
        with self._write() as conn:
            conn.execute(_Q["heartbeat"], {"machine_name": machine_name, "now": time.time()})

    async def heartbeat_process(self, pid: int, host: str) -> int:
        self.check_identity()
        with self._write() as conn:
            cursor = conn.execute(
                _Q["heartbeat_process"], {"pid": pid, "host": host, "now": time.time()}
            )
            return cursor.rowcount

    async def finish_machine(self, machine_name: str, status: str) -> None:
        with self._write() as conn:
            conn.execute(
                _Q["finish_machine"],
                {"machine_name": machine_name, "status": status, "now": time.time()},
            )

    async def forget_machine(self, machine_name: str) -> bool:
        with self._write() as conn:
            return (
                conn.execute(
                    "DELETE FROM machine_state WHERE machine_name = ?", (machine_name,)
                ).rowcount
                > 0
            )

    async def load_machine(self, machine_name: str) -> MachineStateRecord | None:
        rows = self._read(_Q["load_machine"], {"machine_name": machine_name})
        return machine_record(rows[0]) if rows and rows[0]["current_state"] else None

    async def list_machines(self) -> list[MachineStateRecord]:
        rows = self._read("SELECT * FROM machine_state ORDER BY machine_name")
        return [machine_record(row) for row in rows]

    async def transition_history(
        self, machine_name: str | None = None, *, since: float | None = None, limit: int = 20
    ) -> list[TransitionRecord]:
        query, params = _newest_first(
            "state_history", [("machine_name =", machine_name), ("at >=", since)], limit
        )
        return [record(TransitionRecord, row) for row in self._read(query, params)]

    async def error_history(
        self, machine_name: str | None = None, *, since: float | None = None, limit: int = 20
    ) -> list[ErrorRecord]:
        params = {"machine": machine_name, "since": since, "limit": int(limit)}
        return [record(ErrorRecord, row) for row in self._read(_Q["error_history"], params)]

    # -- realtime events ---------------------------------------------------------------

    async def record_realtime(self, machine_name: str, event_type: str, payload: Any) -> int:
        with self._write() as conn:
            cursor = conn.execute(
                _Q["insert_realtime"],
                {
                    "machine_name": machine_name,
                    "event_type": event_type,
                    "payload": dumps_lenient({} if payload is None else payload),
                    "now": time.time(),
                },
            )
        self._notify(REALTIME)  # followers of the feed (database.realtime_feed) read it now
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def record_realtime_batch(
        self, machine_name: str, events: Sequence[tuple[str, Any]]
    ) -> None:
        await self.record_realtime_events([(machine_name, *event) for event in events])

    async def record_realtime_events(self, events: Sequence[tuple[str, str, Any]]) -> None:
        now = time.time()
        rows = [
            {
                "machine_name": machine_name,
                "event_type": event_type,
                "payload": dumps_lenient({} if payload is None else payload),
                "now": now,
            }
            for machine_name, event_type, payload in events
        ]
        with self._write() as conn:
            conn.executemany(_Q["insert_realtime"], rows)
        if rows:
            self._notify(REALTIME)

    async def list_realtime(
        self, *, after_id: int = 0, machine: str | None = None, limit: int = 1000
    ) -> list[RealtimeEvent]:
        query = "SELECT * FROM realtime_events WHERE id > ?"
        params: list[Any] = [after_id]
        if machine is not None:
            query += " AND machine_name = ?"
            params.append(machine)
        query += f" ORDER BY id LIMIT {int(limit)}"
        return [
            record(RealtimeEvent, row, payload=loads(row["payload"]))
            for row in self._read(query, params)
        ]

    async def last_realtime_id(self) -> int:
        rows = self._read("SELECT coalesce(max(id), 0) FROM realtime_events")
        return int(rows[0][0])


def _newest_first(
    table: str, filters: Sequence[tuple[str, Any]], limit: int | None
) -> tuple[str, list[Any]]:
    """``SELECT *`` from ``table``, newest first, with the filters whose value is not None.

    A filter is ``("column op", value)``; ``"column IN"`` takes a list of values.
    """
    where: list[str] = []
    params: list[Any] = []
    for condition, value in filters:
        if value is None:
            continue
        if condition.endswith(" IN"):
            values = list(value)
            where.append(f"{condition} ({','.join('?' for _ in values)})")
            params.extend(values)
        else:
            where.append(f"{condition} ?")
            params.append(value)
    query = f"SELECT * FROM {table}"  # noqa: S608 - table and columns are ours, values bound
    if where:
        query += " WHERE " + " AND ".join(where)
    query += " ORDER BY id DESC"
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    return query, params


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


def _statements(script: str) -> list[str]:
    """Split a schema script into statements (they contain no semicolons in strings)."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
