"""``complete_job``: mark the current (or a given) job completed.

Options: ``job_id`` (default: the context's ``job_id``), ``result`` (any JSON value kept
with the job), ``success`` (default ``success``), ``error`` (when the job is not being
processed by anyone, default ``error``).

Where the store carries completions (SQLite, PostgreSQL) and the machine's lease on the job has long
enough left, ``success`` comes before the completion commits (with the steps after it);
one the store refuses then is logged and streamed as ``job_completion_refused``, not
turned into ``error`` (docs/durability.md).
"""

from __future__ import annotations

from typing import Any

from ..base import job_id_option, runtime_of
from ._builtin import BuiltinAction


class CompleteJobAction(BuiltinAction):
    """Complete a job."""

    options = frozenset({"job_id", "result"})

    store_only = True
    default_success = "success"

    async def execute(self, context: dict[str, Any]) -> str | None:
        runtime = runtime_of(self)
        job_id = job_id_option(self, context)
        result = self.get_config_value("result")
        if not await runtime.complete_job(job_id, result=result):
            context["last_error"] = f"job {job_id!r} is not being processed"
            return self.error_event
        return self.success_event
