"""What the job explorer and the failures view read and change in a store: pages of
jobs by any filter, the workers named in the history, bulk retry and cancel by filter,
failed and dead jobs, and the error events machines recorded. Over any dialect's
connector; the filter is :class:`~._job_search.JobSearch`."""

# Annotations are evaluated here (no `from __future__ import annotations`): a NamedTuple
# turns string annotations into ForwardRefs, each compiled at import (docs/performance.md).
import time
from typing import TYPE_CHECKING, Any, NamedTuple

from ._connector import Operations
from ._records import JobStatus
from ._rows import job_record, loads_payload

if TYPE_CHECKING:
    # Imported where searched: a machine's store has these operations too, never used.
    from ._job_search import JobPage, JobSearch


class FailingJob(NamedTuple):
    """A failed or dead job, as the failures view groups it."""

    job_id: str
    job_type: str
    status: str
    error: str | None
    at: float


class ErrorEvent(NamedTuple):
    """An ``error`` realtime event: an action of ``machine`` raised."""

    id: int
    machine: str
    payload: Any
    at: float


class ExplorerOperations(Operations):
    """Searches over jobs and the changes they lead to (:class:`~.store.OperatorStore`)."""

    async def search_jobs(self, search: "JobSearch") -> "JobPage":
        """One page of the jobs ``search`` matches, with the totals."""
        from ._job_search import JobPage, total_of

        rows = await self._rows("search_job_counts", **search.match_params(with_statuses=False))
        by_status = {str(row["status"]): int(row["n"]) for row in rows}
        total = total_of(by_status, search.statuses)
        jobs = []
        if total > search.offset:
            jobs = [
                job_record(row) for row in await self._rows("search_jobs", **search.page_params())
            ]
        workers = await self.last_workers([job.job_id for job in jobs])
        counts = None
        if search.by_status_only:  # by_status counts every job then
            counts = {status: by_status.get(status, 0) for status in JobStatus.ALL}
        return JobPage(jobs, total, by_status, counts, workers)

    async def last_workers(self, job_ids: list[str]) -> dict[str, str]:
        """The machine that last held each of ``job_ids`` (those held by none left out)."""
        if not job_ids:
            return {}
        rows = await self._rows("last_workers", job_ids=job_ids)
        return {str(row["job_id"]): str(row["worker"]) for row in rows if row["worker"]}

    async def job_workers(self, limit: int = 500) -> list[str]:
        """The workers the jobs' history names, sorted (at most ``limit``)."""
        return [str(row["name"]) for row in await self._rows("job_workers", limit=int(limit))]

    async def job_type_counts(self) -> dict[str, dict[str, int]]:
        """How many jobs of each type there are, per status."""
        counts: dict[str, dict[str, int]] = {}
        for row in await self._rows("metric_jobs"):
            counts.setdefault(str(row["job_type"]), {})[str(row["status"])] = int(row["n"])
        return dict(sorted(counts.items()))

    async def retry_matching(self, search: "JobSearch") -> int:
        """Put every failed, dead or cancelled job ``search`` matches back in the queue
        with fresh attempts (its order and page do not matter); how many."""
        from ._job_search import RETRYABLE

        kept = search.only(RETRYABLE)
        if kept is None:
            return 0
        return await self._change("retry_matching", kept)

    async def cancel_matching(self, search: "JobSearch") -> int:
        """Cancel every pending, processing or failed job ``search`` matches; how many."""
        from ._job_search import CANCELLABLE

        kept = search.only(CANCELLABLE)
        if kept is None:
            return 0
        return await self._change("cancel_matching", kept)

    async def _change(self, name: str, search: "JobSearch") -> int:
        result = await self._run(name, {**search.match_params(), "now": time.time()})
        return len(result.rows)

    async def failing_jobs(
        self, *, since: float | None = None, limit: int = 10_000
    ) -> list[FailingJob]:
        """Failed and dead jobs that changed since ``since``, the latest first."""
        rows = await self._rows("failing_jobs", since=since, limit=int(limit))
        return [
            FailingJob(
                str(row["job_id"]),
                str(row["job_type"]),
                str(row["status"]),
                row["error"],
                float(row["updated_at"]),
            )
            for row in rows
        ]

    async def error_events(
        self,
        *,
        machine: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 10_000,
    ) -> list[ErrorEvent]:
        """``error`` realtime events (of ``machine``, between ``since`` and ``until``),
        newest first; payloads as recorded (untrusted)."""
        rows = await self._rows(
            "error_events", machine=machine, since=since, until=until, limit=int(limit)
        )
        return [
            ErrorEvent(
                int(row["id"]),
                str(row["machine_name"]),
                loads_payload(row["payload"]),
                float(row["created_at"]),
            )
            for row in rows
        ]
