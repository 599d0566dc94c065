"""``claim_job``: claim one particular job by id.

Options: ``job_id`` (required), ``lease`` (seconds, default 60), ``success`` (default
``claimed``), ``already_claimed`` (event when the job is not ready to be claimed,
default ``already_claimed``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ...database.store import DEFAULT_LEASE_SECONDS
from ...errors import ActionError
from ..base import BaseAction
from ..runtime_access import runtime_of, seconds


class ClaimJobAction(BaseAction):
    """Claim a job by id."""

    default_success: ClassVar[str | None] = "claimed"

    async def execute(self, context: dict[str, Any]) -> str | None:
        runtime = runtime_of(self)
        job_id = self.get_config_value("job_id")
        if not job_id or (isinstance(job_id, str) and job_id.startswith("{")):
            raise ActionError("claim_job needs a 'job_id'")
        job = await runtime.store.claim_job_by_id(
            str(job_id),
            runtime.worker_id,
            lease_seconds=seconds(self, "lease", DEFAULT_LEASE_SECONDS),
        )
        if job is None:
            return str(self.get_config_value("already_claimed", "already_claimed"))
        runtime.adopt_job(job)
        return self.success_event
