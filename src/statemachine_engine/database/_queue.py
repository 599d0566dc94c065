"""The job queue as machines and actions use it, over any dialect's connector.

Claims are atomic in the database (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's ``FOR
UPDATE SKIP LOCKED``); every change of a job's status writes its history row in the same
transaction; the retry backoff is computed in SQL (``retry_backoff`` in
``schema/queries.sql``, for every dialect) from the parameters given here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .._tracing import valid_traceparent
from ..errors import JobExists, StoreError
from ._carried_completions import CarriedCompletions, completion_params
from ._connector import Operations, first, limit_param
from ._new_jobs import DEFAULT_MAX_ATTEMPTS as DEFAULT_MAX_ATTEMPTS
from ._new_jobs import FIELD_RULES, NewJob
from ._records import Job, JobCompletion
from ._rows import backoff_jitter, dumps, job_record

DEFAULT_LEASE_SECONDS = 60.0
#: First retry waits this long; each further one twice as long (with jitter).
RETRY_BACKOFF_SECONDS = 2.0
RETRY_BACKOFF_CAP_SECONDS = 3600.0
#: After this many doublings the retry backoff reaches its cap (``retry_backoff`` in
#: ``schema/queries.sql`` computes it).
BACKOFF_DOUBLINGS = math.ceil(math.log2(RETRY_BACKOFF_CAP_SECONDS / RETRY_BACKOFF_SECONDS))


class QueueOperations(Operations):
    """Add, claim, renew, complete, fail, hand over and read jobs."""

    #: Completions waiting for this handle's next write (:meth:`complete_job_with_next_write`).
    _carried_completions: CarriedCompletions | None = None

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
        traceparent: str | None = None,
    ) -> Job:
        """Queue a job; ``job_id`` is generated when not given. ``traceparent``: the trace
        its attempts continue (a malformed one is not kept).

        Raises:
            JobExists: a job with that id is already in the queue (it is left as it is).
            StoreError: ``max_attempts`` is below 1, or ``data`` is not within the JSON
                bounds.
        """
        job = NewJob(
            job_type, data, job_id, priority, max_attempts, delay, machine_type, source_job_id
        )
        now = time.time()
        params = _insert_params(job, now)
        params["traceparent"] = valid_traceparent(traceparent)
        added = await self._run("insert_job", {**params, "now": now})
        if added.rows:
            return job_record(added.rows[0])
        raise JobExists(params["job_id"])

    async def add_jobs(self, jobs: Sequence[NewJob]) -> list[str]:
        """Queue ``jobs`` in one transaction, in this order; the ids of those added.

        A job whose id is already in the queue (or earlier in ``jobs``) is skipped and
        left as it is. Waiting workers are woken once, when the transaction commits.

        Raises:
            StoreError: a job's ``max_attempts`` is below 1, or its data is not within
                the JSON bounds (nothing is added).
        """
        if not jobs:
            return []
        now = time.time()
        rows = []
        for job in jobs:
            params = _insert_params(job, now)
            rows.append(
                [
                    params["job_id"],
                    params["job_type"],
                    params["machine_type"],
                    str(params["priority"]),
                    params["data"],
                    str(params["max_attempts"]),
                    repr(params["run_after"]),
                    params["source_job_id"],
                ]
            )
        added = await self._run("insert_jobs", {"jobs": rows, "now": now})
        return [row["job_id"] for row in added.rows]

    async def claim_job(
        self,
        job_type: str | None,
        worker: str,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        machine_type: str | None = None,
    ) -> Job | None:
        """Atomically hand the most urgent ready job to ``worker`` (None if there is none).

        Jobs whose lease expired go back to the queue first (or to ``dead`` when that
        was their last attempt).
        """
        return await self._claim(
            "claim_job",
            {
                "worker": worker,
                "lease": float(lease_seconds),
                "job_type": job_type,
                "machine_type": machine_type,
            },
        )

    async def claim_jobs(
        self,
        job_type: str | None,
        worker: str,
        *,
        limit: int,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        machine_type: str | None = None,
    ) -> list[Job]:
        """Atomically hand ``worker`` the most urgent ready job and up to ``limit - 1``
        more to run after it, most urgent first (none: an empty list).

        Every job is ``processing`` under ``worker`` with its attempt counted, as one
        :meth:`claim_job` would leave it. A job on its last attempt is only ever the
        first: one claimed ahead by a worker that dies before starting it goes back to
        the queue when its lease runs out, and must still have an attempt left.
        """
        if limit <= 1:
            job = await self.claim_job(
                job_type, worker, lease_seconds=lease_seconds, machine_type=machine_type
            )
            return [] if job is None else [job]
        params = {
            "worker": worker,
            "lease": float(lease_seconds),
            "job_type": job_type,
            "machine_type": machine_type,
            "ahead": int(limit) - 1,
        }
        while True:
            result = await self._run("claim_jobs", {**params, "now": time.time()})
            jobs = [job_record(row) for row in result.rows if row["job_id"] is not None]
            if jobs or not any(row["expired"] for row in result.rows):
                jobs.sort(key=lambda job: (-job.priority, job.run_after, job.id or 0))
                return jobs

    async def claim_job_by_id(
        self, job_id: str, worker: str, *, lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> Job | None:
        """Claim one particular job if it is ready (None otherwise)."""
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

    async def renew_leases(
        self, worker: str, lease_seconds: float, job_ids: Iterable[str] | None = None
    ) -> int:
        """Extend every lease ``worker`` holds, or only those on ``job_ids``; returns how
        many."""
        return (
            await self._run(
                "renew_leases",
                {
                    "worker": worker,
                    "lease": float(lease_seconds),
                    "job_ids": None if job_ids is None else list(job_ids),
                    "now": time.time(),
                },
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
        """Mark a processing job completed (only by its lease holder when ``worker`` is
        given, and only in that attempt when ``attempt`` is)."""
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

    async def complete_jobs(self, completions: Sequence[JobCompletion]) -> list[bool]:
        """Complete several processing jobs in one transaction (each fenced as
        :meth:`complete_job` is); returns once it has committed, whether each was
        completed, in order. A job named twice is completed once (the first says so)."""
        if not completions:
            return []
        result = await self._run(
            "complete_jobs", {"jobs": completion_params(list(completions)), "now": time.time()}
        )
        done = {row["job_id"] for row in result.rows}
        told: set[str] = set()
        outcomes = []
        for completion in completions:
            outcomes.append(completion.job_id in done and completion.job_id not in told)
            told.add(completion.job_id)
        return outcomes

    @property
    def carries_completions(self) -> bool:
        """Whether :meth:`complete_job_with_next_write` can carry a completion (a
        connector that hands each carried write its result: SQLite and PostgreSQL)."""
        return getattr(self.connector, "carried_results", False)

    def complete_job_with_next_write(
        self, completion: JobCompletion, outcome: Callable[[bool], None]
    ) -> None:
        """Let ``completion`` wait for this handle's next write and commit in its
        transaction, after the machines' steps waiting now (or on its own a few turns of
        the event loop later, when nothing writes first: :mod:`._carried_completions`).
        ``outcome(done)`` is called once it committed: False when it was refused then
        (the job was no longer ``processing`` under its worker in its attempt).

        Raises:
            StoreError: this store cannot carry completions.
        """
        if not self.carries_completions:
            raise StoreError(f"{self.location} cannot carry job completions")
        carried = self._carried_completions
        if carried is None:
            carried = self._carried_completions = CarriedCompletions()
        carried.add(completion, outcome)
        connector: Any = self.connector
        connector.carry(carried, carried)  # after the steps waiting now
        connector.flush_soon()

    async def fail_job(
        self,
        job_id: str,
        error: str,
        *,
        worker: str | None = None,
        retry: bool = True,
        attempt: int | None = None,
        output: Any = None,
    ) -> Job | None:
        """Record a failure: ``failed`` with a backoff if attempts remain, else ``dead``
        (fenced by ``worker`` and ``attempt`` like :meth:`complete_job`). ``output``: what
        the failing action printed (a JSON value), kept with the failure in the history."""
        failed = first(
            await self._run(
                "fail_job",
                {
                    "job_id": job_id,
                    "error": error,
                    "worker": worker,
                    "attempt": attempt,
                    "retry": bool(retry),
                    "output": None if output is None else dumps(output),
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
        """Move a processing job's lease to ``worker`` (a machine its holder started), if
        the job is still in ``attempt``; None otherwise (it was claimed again since)."""
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
        """Give a processing job back untouched: ``pending`` at once, the attempt it was
        claimed in not counted (its holder was stopped before finishing it). Only its
        lease holder ``worker`` can, and only in ``attempt``; False otherwise."""
        released = first(
            await self._run(
                "release_job_unused",
                {"job_id": job_id, "worker": worker, "attempt": int(attempt), "now": time.time()},
            )
        )
        return released is not None

    async def release_left_jobs(self, worker: str, *, kept: Sequence[str] = ()) -> list[str]:
        """Put back in the queue every job ``worker`` holds but those ``kept``, as if their
        leases had run out now (attempts counted; dead after the last): the jobs a run
        that was killed left, released by the next run under its name once that run knows
        it is dead. Returns their ids."""
        params = {"worker": worker, "kept": list(kept), "now": time.time()}
        return [row["job_id"] for row in (await self._run("release_left_jobs", params)).rows]

    async def trace_job(self, job_id: str, traceparent: str) -> None:
        """Keep ``traceparent`` as the trace of a job added without one (a job that has
        one keeps it)."""
        if valid_traceparent(traceparent) is not None:
            await self._run("trace_job", {"job_id": job_id, "traceparent": traceparent})

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
        rows = await self._rows(
            "list_jobs",
            statuses=None if statuses is None else list(statuses),
            job_type=job_type,
            machine_type=machine_type,
            limit=limit_param(limit),
        )
        return [job_record(row) for row in rows]

    async def next_job_ready_at(self, job_type: str | None) -> float | None:
        """When a job of ``job_type`` may next become claimable (epoch s), or None.

        That is the earliest ``run_after`` of a waiting job or lease expiry of a claimed
        one, so a waiting worker can sleep until then instead of polling.
        """
        row = first(await self._run("next_job_ready_at", {"job_type": job_type}))
        at = row["at"] if row is not None else None
        return None if at is None else float(at)


def _insert_params(job: NewJob, now: float) -> dict[str, Any]:
    """The columns of a job to insert (its id generated when it has none), its numbers
    checked by the rules of :mod:`._new_jobs` first: every dialect refuses the same jobs,
    and none is put off further than a listing can show."""
    for field, value in (
        ("priority", job.priority),
        ("max_attempts", job.max_attempts),
        ("delay", max(0.0, job.delay)),
    ):
        try:
            FIELD_RULES[field](value)
        except ValueError as exc:
            raise StoreError(f"{field} {exc}") from None
    job_id = job.job_id
    if job_id is None:
        import uuid  # only when adding jobs: it costs a machine's start-up otherwise

        job_id = f"job_{uuid.uuid4().hex[:12]}"
    return {
        "job_id": job_id,
        "job_type": job.job_type,
        "machine_type": job.machine_type,
        "priority": int(job.priority),
        "data": dumps({} if job.data is None else job.data),
        "max_attempts": int(job.max_attempts),
        "run_after": now + max(0.0, job.delay),
        "source_job_id": job.source_job_id,
    }
