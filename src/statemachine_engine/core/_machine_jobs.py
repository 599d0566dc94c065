"""The jobs verbs of a machine (:class:`~.engine.StateMachineEngine`): claim, adopt,
release and hand over the jobs it holds, told to its observers and its trace."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..context._entries import JOB_LEASE
from ._jobs import JobTracker, forget_lease, lease_record

if TYPE_CHECKING:
    from ..actions.base import JobClaim
    from ..database.models.job import Job
    from ..database.store import Store
    from ._heartbeat import Heartbeat


class MachineJobs:
    """The engine's job verbs, over its :class:`JobTracker` (``_jobs``)."""

    _jobs: JobTracker
    _heartbeat: Heartbeat
    _durable: bool
    context: dict[str, Any]

    @property
    def store(self) -> Store:
        raise NotImplementedError

    def emit(self, event_type: str, payload: dict[str, Any]) -> None:
        raise NotImplementedError

    def emit_later(self) -> Callable[[str, dict[str, Any]], None]:
        raise NotImplementedError

    async def claim_next_job(self, claim: JobClaim) -> Job | None:
        """Claim the next job (perhaps one claimed ahead already) and adopt it."""
        job = await self._jobs.claim_next(self.store, claim)
        if job is not None and (traceparent := self.adopt_job(job)) is not None:
            await self.store.trace_job(job.job_id, traceparent)
        return job

    def adopt_job(self, job: Job) -> str | None:
        """Hold ``job``; returns the trace the store is to keep for it (a job added
        outside any trace keeps the trace of its first traced attempt, for its later
        attempts and hand-overs: :meth:`JobTracker.adopt`)."""
        traceparent = self._jobs.adopt(job, self.context)
        self.emit(
            "job_started",
            {"job_id": job.job_id, "job_type": job.job_type, "attempt": job.attempts},
        )
        self._heartbeat.lease_taken()
        if self._durable and not self._heartbeat.running:
            self._heartbeat.start()  # the leases of the jobs it holds need renewing
        return traceparent

    async def release_job(
        self,
        job_id: str,
        *,
        result: Any = None,
        error: str | None = None,
        retry: bool = True,
        output: Any = None,
    ) -> bool:
        if error is None and self._complete_later(job_id, result):
            return True
        done = await self._jobs.release(
            self.store, job_id, result=result, error=error, retry=retry, output=output
        )
        forget_lease(self.context, job_id)
        if done:
            kind = "job_completed" if error is None else "job_failed"
            self.emit(kind, {"job_id": job_id, **({"error": error} if error else {})})
        return done

    def _complete_later(self, job_id: str, result: Any = None, *, implicit: bool = False) -> bool:
        """Complete ``job_id`` with the store's next write, reported done now, where
        :meth:`JobTracker.release_later` can; the observers hear how it ended, in its
        place, once it committed (``job_completed``, or ``job_completion_refused``)."""
        decided: list[Callable[[str, dict[str, Any]], None]] = []

        def committed(done: bool) -> None:  # (never before release_later returned)
            [decide] = decided
            if done:
                extra = {"implicit": True} if implicit else {}
                decide("job_completed", {"job_id": job_id, **extra})
            else:
                message = (
                    f"the store refused the completion of job {job_id} when it committed: "
                    "the job was cancelled, failed or claimed again meanwhile"
                )
                decide("job_completion_refused", {"job_id": job_id, "message": message})

        if not self._jobs.release_later(self.store, job_id, committed, result):
            return False
        decided.append(self.emit_later())
        forget_lease(self.context, job_id)
        return True

    def hand_over_job(self, job_id: str) -> tuple[int, float] | None:
        """Stop holding ``job_id`` for a machine this one starts: ``(attempt, lease)``
        to pass it, or None when this machine does not hold the job."""
        handed = self._jobs.hand_over(job_id)
        if handed is not None:
            forget_lease(self.context, job_id)
        return handed

    def take_back_job(self, job_id: str, attempt: int, lease: float) -> None:
        """Hold again a job whose hand-over failed (the child did not start)."""
        self._jobs.take_back(job_id, attempt, lease)
        if self.context.get("job_id") == job_id:
            self.context[JOB_LEASE] = lease_record(job_id, attempt, lease)

    async def release_claimed_jobs(self) -> None:
        jobs = self._jobs
        if jobs.held:
            for job_id in jobs.held:
                self._complete_later(job_id, implicit=True)
            for job_id in await jobs.release_all(self.store):  # those not carried
                self.emit("job_completed", {"job_id": job_id, "implicit": True})
        self.context.pop(JOB_LEASE, None)
