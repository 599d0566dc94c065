"""The job queue as machines and actions use it, over any dialect's connector.

Claims are atomic in the database (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's ``FOR
UPDATE SKIP LOCKED``); every change of a job's status writes its history row in the same
transaction; the retry backoff is computed in SQL (``retry_backoff`` in
``schema/queries.sql``, for every dialect) from the parameters given here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

from ..errors import StoreError
from ._connector import Operations, first
from .records import Job
from .rows import backoff_jitter, dumps, job_record
from .store import (
    DEFAULT_LEASE_SECONDS,
    DEFAULT_MAX_ATTEMPTS,
    RETRY_BACKOFF_CAP_SECONDS,
    RETRY_BACKOFF_SECONDS,
)

#: After this many doublings the retry backoff reaches its cap (``retry_backoff`` in
#: ``schema/queries.sql`` computes it).
BACKOFF_DOUBLINGS = math.ceil(math.log2(RETRY_BACKOFF_CAP_SECONDS / RETRY_BACKOFF_SECONDS))


class QueueOperations(Operations):
    """Add, claim, renew, complete, fail, hand over and read jobs."""

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
        added = await self._run(
            "insert_job",
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
        if added.rows:
            return job_record(added.rows[0])
        if added.retried:  # the first try committed before its connection was lost
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
        return await self._claim(
            "claim_job",
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
            "claim_job_by_id", {"job_id": job_id, "worker": worker, "lease": float(lease_seconds)}
        )

    async def _claim(self, name: str, params: dict[str, Any]) -> Job | None:
        while True:
            row = first(await self._run(name, {**params, "now": time.time()}))
            if row is not None and row["job_id"] is not None:
                return job_record(row)
            if row is None or not row["expired"]:
                return None
            # A dialect whose claim cannot see the jobs its own expiry freed (PostgreSQL:
            # one snapshot per statement) says how many it freed: one of them may be ours.

    async def renew_leases(self, worker: str, lease_seconds: float) -> int:
        return (
            await self._run(
                "renew_leases",
                {"worker": worker, "lease": float(lease_seconds), "now": time.time()},
            )
        ).rowcount

    async def complete_job(
        self,
        job_id: str,
        *,
        result: Any = None,
        worker: str | None = None,
        attempt: int | None = None,
    ) -> bool:
        done = first(
            await self._run(
                "complete_job",
                {
                    "job_id": job_id,
                    "result": None if result is None else dumps(result),
                    "worker": worker,
                    "attempt": attempt,
                    "now": time.time(),
                },
            )
        )
        return done is not None

    async def fail_job(
        self,
        job_id: str,
        error: str,
        *,
        worker: str | None = None,
        retry: bool = True,
        attempt: int | None = None,
    ) -> Job | None:
        failed = first(
            await self._run(
                "fail_job",
                {
                    "job_id": job_id,
                    "error": error,
                    "worker": worker,
                    "attempt": attempt,
                    "retry": bool(retry),
                    "backoff_base": RETRY_BACKOFF_SECONDS,
                    "backoff_cap": RETRY_BACKOFF_CAP_SECONDS,
                    "backoff_doublings": BACKOFF_DOUBLINGS,
                    "jitter": backoff_jitter(),
                    "now": time.time(),
                },
            )
        )
        return job_record(failed) if failed is not None else None

    async def hand_over_job(
        self, job_id: str, *, attempt: int, worker: str, lease_seconds: float
    ) -> Job | None:
        moved = first(
            await self._run(
                "hand_over_job",
                {
                    "job_id": job_id,
                    "attempt": int(attempt),
                    "worker": worker,
                    "lease": float(lease_seconds),
                    "now": time.time(),
                },
            )
        )
        return job_record(moved) if moved is not None else None

    async def release_job_unused(self, job_id: str, *, worker: str, attempt: int) -> bool:
        released = first(
            await self._run(
                "release_job_unused",
                {"job_id": job_id, "worker": worker, "attempt": int(attempt), "now": time.time()},
            )
        )
        return released is not None

    async def get_job(self, job_id: str) -> Job | None:
        row = first(await self._run("get_job", {"job_id": job_id}))
        return job_record(row) if row is not None else None

    async def list_jobs(
        self,
        *,
        status: str | Iterable[str] | None = None,
        job_type: str | None = None,
        machine_type: str | None = None,
        limit: int | None = 100,
    ) -> list[Job]:
        statuses = [status] if isinstance(status, str) else status
        rows = (
            await self._run(
                "list_jobs",
                {
                    "statuses": None if statuses is None else list(statuses),
                    "job_type": job_type,
                    "machine_type": machine_type,
                    "limit": None if limit is None else int(limit),
                },
            )
        ).rows
        return [job_record(row) for row in rows]

    async def next_job_ready_at(self, job_type: str | None) -> float | None:
        row = first(await self._run("next_job_ready_at", {"job_type": job_type}))
        at = row["at"] if row is not None else None
        return None if at is None else float(at)
