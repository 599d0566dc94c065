"""``check_database_queue``: take the next job from the queue, waiting a little for one.

Options:
    job_type: the type of job to take (default: any type).
    machine_type: take only jobs addressed to this machine type (or to none).
    wait: seconds to wait for a job when the queue is empty (default 5). The wait
        is woken at once when a job is added, so the classic ``waiting --no_jobs-->
        waiting`` loop costs nothing while idle and reacts immediately. Each further
        empty check in a row waits twice as long, up to ``max_wait`` (default 60).
    lease: seconds a claimed job stays ours without renewal (default 60; the running
        machine renews it, so this only matters when the machine dies).
    prefetch: most jobs claimed ahead with the one taken (default 32; 0: none). A
        worker claims ahead only what it finishes in about 20 ms at its recent pace,
        so slow jobs are still taken one at a time and spread over every worker; a
        fast worker pays one transaction for many claims. Jobs claimed ahead show as
        ``processing`` under this machine; it gives back those it has not started when
        it checks for another kind of job or ends, and after a second of waiting.
    success: event when a job was claimed (default ``new_job``).
    empty: event when none came (default ``no_jobs``).

A job this machine claimed earlier and never completed or failed is completed now
(simple workers never complete their jobs explicitly). The claimed job appears in the
context as ``current_job``, ``job_id``/``id`` and its data's keys (those the context does
not have yet: a job never replaces anyone else's key).
"""

from __future__ import annotations

import time
from typing import Any

from ..base import BaseAction, runtime_of, seconds_option, whole_option

DEFAULT_WAIT_SECONDS = 5.0
DEFAULT_MAX_WAIT_SECONDS = 60.0
DEFAULT_PREFETCH = 32
#: Context key counting empty checks in a row (for the backoff).
IDLE_CHECKS_KEY = "_queue_idle_checks"


class CheckDatabaseQueueAction(BaseAction):
    """Claim the next ready job."""

    options = frozenset({"job_type", "lease", "machine_type", "max_wait", "prefetch", "wait"})

    store_only = True
    default_success = "new_job"
    other_events = {"empty": "no_jobs"}
    writes = frozenset({"current_job", "job_id", "id"})
    claims_jobs = True
    polling_results = ("empty",)

    async def execute(self, context: dict[str, Any]) -> str | None:
        runtime = runtime_of(self)
        await runtime.complete_held_jobs()
        job_type = self.get_config_value("job_type")
        machine_type = self.get_config_value("machine_type")
        lease = seconds_option(self, "lease", None)
        prefetch = whole_option(self, "prefetch", DEFAULT_PREFETCH)
        idle_checks = int(context.get(IDLE_CHECKS_KEY) or 0)
        wait = min(
            seconds_option(self, "wait", DEFAULT_WAIT_SECONDS) * 2**idle_checks,
            max(seconds_option(self, "max_wait", DEFAULT_MAX_WAIT_SECONDS), 0.0),
        )
        deadline = time.monotonic() + wait
        while True:
            mark = await runtime.job_queue_mark()
            job = await runtime.claim_next_job(
                job_type=job_type, machine_type=machine_type, lease_seconds=lease, prefetch=prefetch
            )
            if job is not None:
                context.pop(IDLE_CHECKS_KEY, None)
                return self.success_event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                context[IDLE_CHECKS_KEY] = min(idle_checks + 1, 16)
                return self.result_event("empty")
            ready_at = await runtime.next_job_ready_at(job_type)
            if ready_at is not None and ready_at > time.time():
                # A delayed job ripens or a lease runs out then: look again at that moment.
                remaining = min(remaining, ready_at - time.time() + 0.001)
            self.logger.debug(
                "[%s] no job ready; waiting up to %.3gs",
                runtime.machine_name,
                remaining,
                extra={"action": "queue_wait", "machine": runtime.machine_name},
            )
            await runtime.wait_for_job_queue(mark, remaining)
