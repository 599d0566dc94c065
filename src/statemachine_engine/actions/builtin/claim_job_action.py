"""``claim_job``: claim one particular job by id.

Options: ``job_id`` (required), ``lease`` (seconds, default 60), ``success`` (default
``claimed``), ``already_claimed`` (event when the job is not ready to be claimed,
default ``already_claimed``).
"""

from __future__ import annotations

from typing import Any

from ...errors import ActionError
from ..base import BaseAction, runtime_of, seconds_option


class ClaimJobAction(BaseAction):
    """Claim a job by id."""

    options = frozenset({"job_id", "lease"})

    store_only = True
    default_success = "claimed"
    other_events = {"already_claimed": "already_claimed"}
    writes = frozenset({"current_job", "job_id", "id"})
    claims_jobs = True

    async def execute(self, context: dict[str, Any]) -> str | None:
        runtime = runtime_of(self)
        job_id = self.get_config_value("job_id")
        if not job_id or (isinstance(job_id, str) and job_id.startswith("{")):
            raise ActionError("claim_job needs a 'job_id'")
        job = await runtime.claim_job(
            str(job_id), lease_seconds=seconds_option(self, "lease", None)
        )
        if job is None:
            return self.result_event("already_claimed")
        return self.success_event
