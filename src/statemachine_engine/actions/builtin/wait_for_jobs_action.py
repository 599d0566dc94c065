"""``wait_for_jobs``: wait until jobs whose ids a context list holds have finished.

Options:
    tracked_jobs_key: context key of the list of job ids (default ``tracked_jobs``).
    wait: seconds to wait in one go (default 5; woken when a job finishes).
    timeout: overall seconds before giving up, counted from the first wait (default 300).
    success: all finished (default ``all_jobs_complete``).
    pending: event when jobs are still running after ``wait`` (default: none, so the
        next action runs; configs usually loop with a self-transition).
    timeout_event: the overall timeout passed (default ``jobs_timeout``).
    empty: nothing is tracked (default ``no_jobs_tracked``).

Writes ``completed_jobs``, ``failed_jobs`` (dead or cancelled) and ``pending_jobs``
(lists of ids).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from ...database.models.job import JobStatus
from ...database.wakeup import JOBS
from ..base import BaseAction
from ..runtime_access import runtime_of, seconds


class WaitForJobsAction(BaseAction):
    """Wait for tracked jobs."""

    default_success: ClassVar[str | None] = "all_jobs_complete"

    async def execute(self, context: dict[str, Any]) -> str | None:
        runtime = runtime_of(self)
        key = str(self.get_config_value("tracked_jobs_key", "tracked_jobs"))
        tracked = [str(job_id) for job_id in context.get(key) or []]
        if not tracked:
            return str(self.get_config_value("empty", "no_jobs_tracked"))
        started_key = f"_{key}_wait_started"
        started = float(context.setdefault(started_key, time.time()))
        timeout = seconds(self, "timeout", 300.0)
        deadline = time.monotonic() + seconds(self, "wait", 5.0)
        listener = await runtime.store.listener()
        while True:
            mark = listener.mark(JOBS)
            pending = await self._sort(runtime, tracked, context)
            if not pending:
                context.pop(started_key, None)
                return self.success_event
            if time.time() - started >= timeout:
                context.pop(started_key, None)
                return str(self.get_config_value("timeout_event", "jobs_timeout"))
            remaining = min(deadline - time.monotonic(), started + timeout - time.time())
            if remaining <= 0:
                event = self.get_config_value("pending")
                return str(event) if event else None
            self.logger.debug(
                "[%s] %d tracked job(s) still pending; waiting up to %.3gs",
                runtime.machine_name,
                len(pending),
                remaining,
                extra={"action": "jobs_wait", "machine": runtime.machine_name},
            )
            await listener.wait(JOBS, mark, remaining)

    @staticmethod
    async def _sort(runtime: Any, tracked: list[str], context: dict[str, Any]) -> list[str]:
        completed, failed, pending = [], [], []
        for job_id in tracked:
            job = await runtime.store.get_job(job_id)
            if job is not None and job.status == JobStatus.COMPLETED:
                completed.append(job_id)
            elif job is not None and job.status in (JobStatus.DEAD, JobStatus.CANCELLED):
                failed.append(job_id)
            else:
                pending.append(job_id)
        context.update(completed_jobs=completed, failed_jobs=failed, pending_jobs=pending)
        return pending
