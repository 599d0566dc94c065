"""Jobs: the durable work queue."""

from __future__ import annotations

import builtins
from typing import Any, Final, NamedTuple

from .base import BaseModel


class JobStatus:
    """The statuses a job goes through.

    ``pending`` -> ``processing`` (claimed, under a lease) -> ``completed``; a failure with
    attempts left -> ``failed`` (claimable again once its backoff has passed); the last
    failure -> ``dead``. ``cancelled`` jobs are never handed out.
    """

    PENDING: Final = "pending"
    PROCESSING: Final = "processing"
    COMPLETED: Final = "completed"
    FAILED: Final = "failed"
    DEAD: Final = "dead"
    CANCELLED: Final = "cancelled"
    ALL: Final = ("pending", "processing", "completed", "failed", "dead", "cancelled")
    CLAIMABLE: Final = ("pending", "failed")
    FINISHED: Final = ("completed", "dead", "cancelled")


class Job(NamedTuple):
    """One job as stored."""

    job_id: str
    job_type: str
    status: str
    data: Any = None
    machine_type: str | None = None
    priority: int = 0
    attempts: int = 0
    max_attempts: int = 3
    run_after: float = 0.0
    result: Any = None
    error: str | None = None
    lease_owner: str | None = None
    lease_expires: float | None = None
    source_job_id: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    completed_at: float | None = None
    updated_at: float = 0.0
    id: int | None = None

    def as_context(self) -> dict[str, Any]:
        """The ``current_job`` entry of a machine's context."""
        return {
            "job_id": self.job_id,
            "id": self.job_id,
            "job_type": self.job_type,
            "machine_type": self.machine_type,
            "data": self.data,
            "priority": self.priority,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "source_job_id": self.source_job_id,
        }

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


class JobModel(BaseModel):
    """The job queue: add, claim, complete, fail, cancel, retry, purge."""

    async def add(self, job_type: str, data: Any = None, **options: Any) -> Job:
        """Queue a job (see :meth:`Store.add_job` for the options)."""
        return await self.store.add_job(job_type, data, **options)

    async def claim(self, job_type: str | None, worker: str, **options: Any) -> Job | None:
        return await self.store.claim_job(job_type, worker, **options)

    async def complete(self, job_id: str, result: Any = None, worker: str | None = None) -> bool:
        return await self.store.complete_job(job_id, result=result, worker=worker)

    async def fail(self, job_id: str, error: str, worker: str | None = None) -> Job | None:
        return await self.store.fail_job(job_id, error, worker=worker)

    async def cancel(self, job_id: str) -> bool:
        return await self.store.cancel_job(job_id)

    async def retry(self, job_id: str) -> bool:
        return await self.store.retry_job(job_id)

    async def get(self, job_id: str) -> Job | None:
        return await self.store.get_job(job_id)

    async def list(
        self, status: str | None = None, job_type: str | None = None, limit: int = 100
    ) -> builtins.list[Job]:
        return await self.store.list_jobs(status=status, job_type=job_type, limit=limit)
