"""``get_pending_jobs``: list waiting jobs without claiming them.

Options: ``job_type``, ``machine_type``, ``limit`` (default 100), ``store_as`` (context
key, default ``pending_jobs``), ``success`` (default ``jobs_found``), ``empty`` (default
``no_jobs``). The jobs come in the order workers would claim them (priority, then
oldest first). Each job is stored as a mapping (``job_id``, ``job_type``, ``data``, ...).
"""

from __future__ import annotations

from typing import Any

from ..base import BaseAction, runtime_of, whole_option


class GetPendingJobsAction(BaseAction):
    """Read the queue."""

    options = frozenset({"job_type", "limit", "machine_type"})

    store_only = True
    default_success = "jobs_found"
    other_events = {"empty": "no_jobs"}
    writes = frozenset()
    default_store_as = "pending_jobs"
    polling_results = ("empty",)

    async def execute(self, context: dict[str, Any]) -> str | None:
        runtime = runtime_of(self)
        jobs = await runtime.pending_jobs(
            job_type=self.get_config_value("job_type"),
            machine_type=self.get_config_value("machine_type"),
            limit=whole_option(self, "limit", 100),
        )
        context[str(self.get_config_value("store_as", self.default_store_as))] = [
            job.as_dict() for job in jobs
        ]
        if not jobs:
            return self.result_event("empty")
        return self.success_event
