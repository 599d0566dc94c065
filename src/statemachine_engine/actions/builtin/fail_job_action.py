"""``fail_job``: record that the current (or a given) job failed.

The job is retried with exponential backoff while it has attempts left, then ends
``dead``. Options: ``job_id`` (default: the context's ``job_id``), ``reason`` (default:
the context's ``last_error``), ``retry`` (false: straight to ``dead``), ``success``
(default ``job_failed``). What the failed command printed (the context's ``last_output``,
which a failed ``bash`` action leaves) is kept with the failure.
"""

from __future__ import annotations

from typing import Any

from .._failure_output import LAST_OUTPUT
from ..base import job_id_option, runtime_of
from ._builtin import BuiltinAction


class FailJobAction(BuiltinAction):
    """Fail a job."""

    options = frozenset({"job_id", "reason"})

    store_only = True
    default_success = "job_failed"

    async def execute(self, context: dict[str, Any]) -> str | None:
        runtime = runtime_of(self)
        job_id = job_id_option(self, context)
        reason = str(self.get_config_value("reason") or context.get("last_error") or "failed")
        retry = self.get_config_value("retry", True) is not False
        output = context.get(LAST_OUTPUT)
        await runtime.fail_job(job_id, reason, retry=retry, output=output)
        return self.success_event
