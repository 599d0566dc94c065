"""``add_job``: queue a job for the workers that check the queue.

Options:
    job_type: the job's type (required).
    job_id: its id (default: generated, ``job_`` and 12 hex digits). Give one to queue
        a job once: adding an id already in the queue changes nothing.
    data: the job's data: a mapping, interpolated field by field, or one placeholder
        such as ``"{event_data.payload}"`` to queue a whole mapping (default: empty).
    priority: a whole number; higher is claimed first (default 0).
    delay: not claimable before this long from now: seconds, or ``500ms``, ``90s``,
        ``5m``, ``2h`` (default 0).
    machine_type: only machines of this type claim it (default: any).
    max_attempts: attempts before the job is dead (default 3).
    store_as: context key that receives the job's id (default: none is written).
    success: event once the job is queued (default ``job_added``).
    exists: event when a job with that id is already in the queue (default
        ``job_exists``); the queued job is left as it is.
    error: event when an option is unusable (default ``error``; ``last_error`` says
        which).

The job is committed before the action returns, and workers waiting on an empty queue
wake at once. Its ``source_job_id`` is the job this machine holds (the context's
``job_id``), if any.
"""

from __future__ import annotations

from typing import Any

from .._queued_job import job_from_options
from ..base import runtime_of
from ._builtin import BuiltinAction


class AddJobAction(BuiltinAction):
    """Queue a job."""

    options = frozenset(
        {"job_type", "job_id", "data", "priority", "delay", "machine_type", "max_attempts"}
        | {"store_as"}  # the id it queued goes there
    )
    store_only = True
    default_success = "job_added"
    other_events = {"exists": "job_exists"}

    async def execute(self, context: dict[str, Any]) -> str | None:
        job = job_from_options(self.get_config_value, context)
        runtime = runtime_of(self)
        added = await runtime.add_job(job)
        job_id = job.job_id if added is None else added.job_id
        store_as = self.get_config_value("store_as")
        if store_as is not None:
            context[str(store_as)] = job_id
        outcome = "job_added" if added is not None else "job_exists"
        self.logger.debug(
            "[%s] %s %s",
            runtime.machine_name,
            "queued job" if added is not None else "already queued: job",
            job_id,
            extra={"action": outcome, "machine": runtime.machine_name, "job_id": job_id},
        )
        return self.success_event if added is not None else self.result_event("exists")
