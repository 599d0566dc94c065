"""``get_pending_jobs``: list waiting jobs without claiming them.

Options: ``job_type``, ``machine_type``, ``limit`` (default 100), ``store_as`` (context
key, default ``pending_jobs``), ``success`` (default ``jobs_found``), ``empty`` (default
``no_jobs``). The jobs come in the order workers would claim them (priority, then
oldest first). Each job is stored as a mapping (``job_id``, ``job_type``, ``data``, ...).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ...database.models.job import JobStatus
from ..base import BaseAction
from ..runtime_access import runtime_of


class GetPendingJobsAction(BaseAction):
    """Read the queue."""

    default_success: ClassVar[str | None] = "jobs_found"

    async def execute(self, context: dict[str, Any]) -> str | None:
        runtime = runtime_of(self)
        jobs = await runtime.store.list_jobs(
            status=JobStatus.CLAIMABLE,
            job_type=self.get_config_value("job_type"),
            machine_type=self.get_config_value("machine_type"),
            limit=None,
        )
        # The next ``limit`` jobs in the order workers claim them (not the newest ones).
        jobs.sort(key=lambda job: (-job.priority, job.run_after, job.id or 0))
        del jobs[int(self.get_config_value("limit", 100)) :]
        context[str(self.get_config_value("store_as", "pending_jobs"))] = [
            job.as_dict() for job in jobs
        ]
        if not jobs:
            return str(self.get_config_value("empty", "no_jobs"))
        return self.success_event
