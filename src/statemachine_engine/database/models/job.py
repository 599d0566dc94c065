"""Jobs: the durable work queue."""

from __future__ import annotations

import builtins
from typing import Any

from .._new_jobs import NewJob as NewJob
from .._records import Job as Job
from .._records import JobCompletion as JobCompletion
from .._records import JobStatus as JobStatus
from .base import BaseModel

__all__ = [
    "Job",
    "JobCompletion",
    "JobModel",
    "JobStatus",
    "NewJob",
]


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
