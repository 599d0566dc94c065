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
from typing import Any

from ..base import ActionRuntime, BaseAction, runtime_of, seconds_option


class WaitForJobsAction(BaseAction):
    """Wait for tracked jobs."""

    options = frozenset({"timeout", "tracked_jobs_key", "wait"})

    store_only = True
    default_success = "all_jobs_complete"
    other_events = {
        "pending": None,
        "timeout_event": "jobs_timeout",
        "empty": "no_jobs_tracked",
    }
    writes = frozenset({"completed_jobs", "failed_jobs", "pending_jobs"})
    polling_results = ("pending", "timeout_event")

    async def execute(self, context: dict[str, Any]) -> str | None:
        runtime = runtime_of(self)
        key = str(self.get_config_value("tracked_jobs_key", "tracked_jobs"))
        tracked = [str(job_id) for job_id in context.get(key) or []]
        if not tracked:
            return self.result_event("empty")
        started_key = f"_{key}_wait_started"
        started = float(context.setdefault(started_key, time.time()))
        timeout = seconds_option(self, "timeout", 300.0)
        deadline = time.monotonic() + seconds_option(self, "wait", 5.0)
        while True:
            mark = await runtime.job_queue_mark()
            pending = await self._sort(runtime, tracked, context)
            if not pending:
                context.pop(started_key, None)
                return self.success_event
            if time.time() - started >= timeout:
                context.pop(started_key, None)
                return self.result_event("timeout_event")
            remaining = min(deadline - time.monotonic(), started + timeout - time.time())
            if remaining <= 0:
                return self.result_event("pending") or None
            self.logger.debug(
                "[%s] tracked jobs still pending: %d; waiting up to %.3gs",
                runtime.machine_name,
                len(pending),
                remaining,
                extra={"action": "jobs_wait", "machine": runtime.machine_name},
            )
            await runtime.wait_for_job_queue(mark, remaining)

    @staticmethod
    async def _sort(
        runtime: ActionRuntime, tracked: list[str], context: dict[str, Any]
    ) -> list[str]:
        finished = await runtime.finished_jobs(tracked)
        completed = [job_id for job_id in tracked if finished.get(job_id) is True]
        failed = [job_id for job_id in tracked if finished.get(job_id) is False]
        pending = [job_id for job_id in tracked if job_id not in finished]
        context.update(completed_jobs=completed, failed_jobs=failed, pending_jobs=pending)
        return pending
