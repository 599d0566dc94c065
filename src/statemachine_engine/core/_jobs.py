"""The jobs a machine holds: leases kept alive, released when the config is done with them.

A claimed job belongs to its machine until the config completes or fails it. Many
simple workers never do; their job is completed implicitly when the machine next
checks the queue or ends cleanly. While the machine lives its leases are renewed, so
only a dead machine's jobs go back to the queue.

A machine may hand a job it holds to a machine it starts (``start_fsm`` with the job's
id among the values it passes): the lease moves to the child for the same attempt and
lease length, and the child completes or fails it as if it had claimed it. Every
release names the attempt it holds, so a holder whose lease ran out cannot finish the
job's next attempt.

A worker that runs through short jobs claims a few ahead with the one it starts (one
transaction for several claims): as many as it finishes in :data:`AHEAD_WINDOW_SECONDS`,
measured, at most the ``prefetch`` its config allows. They wait in the tracker, their
leases renewed with the others; the next claim of the same kind takes the first of them
without asking the store. A claim of another kind, and the machine's end (stopped,
finished or at a dead end), give them back unused (their attempts not counted); jobs
still waiting after :data:`AHEAD_MAX_AGE_SECONDS` are given back by the heartbeat, which
runs then.

The job a machine works on is recorded in its context (:data:`JOB_LEASE`: id, attempt,
lease length) whether it claimed the job or was handed it, so that a machine resuming
after a crash can tell whether the job is still its own (:meth:`JobTracker.readopt`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, NamedTuple

from .. import _tracing
from ..context._entries import JOB_LEASE, forget_job_data, merge_job
from ..database._records import JobCompletion
from ..database.store import DEFAULT_LEASE_SECONDS

if TYPE_CHECKING:
    from ..actions.base import JobClaim
    from ..database.models.job import Job
    from ..database.store import Store

logger = logging.getLogger("statemachine_engine.jobs")

#: Jobs claimed ahead are what the worker finishes in this long, by its recent pace.
AHEAD_WINDOW_SECONDS = 0.02
#: Jobs claimed ahead and still not started after this long go back to the queue.
AHEAD_MAX_AGE_SECONDS = 1.0
#: How much one claim-to-claim interval moves the measured pace.
_PACE_WEIGHT = 0.2
#: A completion carried by the store's next write (:meth:`JobTracker.release_later`)
#: is reported done at once only while the lease the machine knows it holds has this
#: long left at least: longer than a carried write can wait for its commit short of a
#: failing store (a few turns of the event loop, then at most SQLite's 30 s wait for
#: another process's write lock; PostgreSQL's row locks are held by our statements only
#: while each runs), so the lease cannot run out before it. Leases of 60 s,
#: renewed every 10 s, always have over 50 s left.
CARRY_MARGIN_SECONDS = 35.0


class HandedJob(NamedTuple):
    """A job the machine starting this one handed over: its id, the attempt it is in,
    and the length of its lease in seconds (the claimer's, kept by the child)."""

    job_id: str
    attempt: int
    lease: float = DEFAULT_LEASE_SECONDS


def lease_record(job_id: str, attempt: int, lease: float) -> dict[str, Any]:
    """The context's :data:`JOB_LEASE` entry for a job held in ``attempt``."""
    return {"job_id": job_id, "attempt": attempt, "lease": lease}


def forget_lease(context: MutableMapping[str, Any], job_id: str) -> None:
    """The machine no longer holds ``job_id``: its resume must not fence on it."""
    lease = context.get(JOB_LEASE)
    if isinstance(lease, Mapping) and lease.get("job_id") == job_id:
        del context[JOB_LEASE]


class JobTracker:
    """Jobs held by one machine (``worker``) in one store."""

    __slots__ = (
        "_ahead",
        "_ahead_claim",
        "_ahead_since",
        "_attempts",
        "_expires",
        "_last_claim",
        "_leases",
        "_pace",
        "worker",
    )

    def __init__(self, worker: str) -> None:
        self.worker = worker
        self._leases: dict[str, float] = {}
        self._attempts: dict[str, int] = {}
        #: When each lease runs out (epoch seconds) by what this machine wrote last: its
        #: claim or its last renewal (0: not known).
        self._expires: dict[str, float] = {}
        #: Jobs claimed ahead, not started yet, and the claim they answer.
        self._ahead: list[Job] = []
        self._ahead_claim: tuple[str | None, str | None, float] | None = None
        self._ahead_since = 0.0
        #: Seconds from one claim to the next while jobs keep coming (None: not known).
        self._pace: float | None = None
        self._last_claim: float | None = None

    @property
    def held(self) -> list[str]:
        """The jobs the machine has started and not finished."""
        return list(self._leases)

    @property
    def holds_any(self) -> bool:
        """Whether any lease needs renewing: a job started or one claimed ahead."""
        return bool(self._leases or self._ahead)

    @property
    def ahead_due(self) -> float | None:
        """When (``time.monotonic()``) the jobs claimed ahead have waited too long and go
        back to the queue at the next :meth:`renew` (None: none waits)."""
        return self._ahead_since + AHEAD_MAX_AGE_SECONDS if self._ahead else None

    @property
    def shortest_lease(self) -> float | None:
        leases = [*self._leases.values(), *(_lease_of(job) for job in self._ahead)]
        return min(leases) if leases else None

    async def claim_next(self, store: Store, claim: JobClaim) -> Job | None:
        """The next job to run: the first one claimed ahead for the same ``claim``, else
        one from the store, with up to ``claim["prefetch"]`` more claimed ahead when this
        worker's pace says it runs them within :data:`AHEAD_WINDOW_SECONDS`. The caller
        adopts it."""
        job_type, machine_type = claim.get("job_type"), claim.get("machine_type")
        lease_seconds = claim.get("lease_seconds")
        if lease_seconds is None:
            lease_seconds = DEFAULT_LEASE_SECONDS
        now = time.monotonic()
        if self._last_claim is not None:
            interval = now - self._last_claim
            pace = self._pace
            self._pace = interval if pace is None else pace + _PACE_WEIGHT * (interval - pace)
        kind = (job_type, machine_type, lease_seconds)
        if self._ahead and self._ahead_claim != kind:
            await self.give_back_ahead(store)
        if self._ahead:
            self._last_claim = now
            return self._ahead.pop(0)
        jobs = await store.claim_jobs(
            job_type,
            self.worker,
            limit=1 + self._room_ahead(claim.get("prefetch", 0)),
            lease_seconds=lease_seconds,
            machine_type=machine_type,
        )
        if not jobs:
            self._last_claim = None  # a wait for the next job is not the worker's pace
            return None
        self._last_claim = now
        if len(jobs) > 1:
            self._ahead.extend(jobs[1:])
            self._ahead_claim, self._ahead_since = kind, now
        return jobs[0]

    def _room_ahead(self, prefetch: int) -> int:
        """How many jobs to claim ahead: what the measured pace runs in the window."""
        pace = self._pace
        if prefetch <= 0 or pace is None:
            return 0
        if pace <= 0:
            return prefetch
        return min(prefetch, int(AHEAD_WINDOW_SECONDS / pace))

    async def give_back_ahead(self, store: Store, *, older_than: float = 0.0) -> int:
        """Give back the jobs claimed ahead (only if claimed over ``older_than`` seconds
        ago), their attempts not counted; how many went back."""
        if not self._ahead or time.monotonic() - self._ahead_since < older_than:
            return 0
        ahead, self._ahead = self._ahead, []
        given = 0
        for job in ahead:
            if await store.release_job_unused(job.job_id, worker=self.worker, attempt=job.attempts):
                given += 1
        logger.debug(
            "%s gave back %d of %d jobs claimed ahead",
            self.worker,
            given,
            len(ahead),
            extra={"action": "jobs_ahead_given_back", "count": given},
        )
        return given

    def adopt(self, job: Job, context: MutableMapping[str, Any]) -> str | None:
        """Hold ``job`` and expose it in ``context`` (in place of the previous job).
        Returns the ``traceparent`` the store is to keep for a job added outside any
        trace (:meth:`Store.trace_job`), if tracing is on."""
        self._leases[job.job_id] = _lease_of(job)
        self._attempts[job.job_id] = job.attempts
        self._expires[job.job_id] = job.lease_expires or 0.0
        forget_job_data(context)
        merge_job(context, job.as_context())
        context[JOB_LEASE] = lease_record(job.job_id, job.attempts, self._leases[job.job_id])
        return _tracing.current().job_started(job)

    def hand_over(self, job_id: str) -> tuple[int, float] | None:
        """Stop holding ``job_id`` for a machine this one starts: ``(attempt, lease)`` to
        pass to it, or None when this machine does not hold the job."""
        if job_id not in self._leases:
            return None
        self._expires.pop(job_id, None)
        _tracing.current().job_ended(job_id, "handed_over")
        return self._attempts.pop(job_id), self._leases.pop(job_id)

    def take_back(self, job_id: str, attempt: int, lease: float) -> None:
        """Hold again a job whose hand-over did not happen (the child did not start)."""
        self._leases[job_id] = lease
        self._attempts[job_id] = attempt

    async def take_over(self, store: Store, handed: HandedJob) -> str | None:
        """Hold a job handed over by the machine that started this one (its lease moves
        here). Returns None once held, else why not, in words (logged): the job is no
        longer in the attempt it was handed over in."""
        job_id, attempt, lease = handed
        job = await store.hand_over_job(
            job_id, attempt=attempt, worker=self.worker, lease_seconds=lease
        )
        if job is None:
            reason = await _describe(store, job_id, attempt)
            logger.warning(
                "job %s was handed to %s in attempt %d, but %s; not taking it",
                job_id,
                self.worker,
                attempt,
                reason,
                extra={"action": "job_handover_refused", "job_id": job_id},
            )
            return reason
        self._leases[job_id] = lease
        self._attempts[job_id] = attempt
        self._expires[job_id] = job.lease_expires or 0.0
        _tracing.current().job_started(job)
        self._log_job(
            "job_handed_over",
            "%s holds job %s (attempt %d), handed over by the machine that started it",
            job_id,
            attempt,
        )
        return None

    async def readopt(self, store: Store, context: MutableMapping[str, Any]) -> str | None:
        """After a restart: hold again the job the machine held when it stopped.

        The job is held again only if the store still has it ``processing`` under this
        worker in the same attempt; its lease is renewed first. Returns None when it is
        held again (or none was held), else why it is lost, in words; the context's lease
        record is then removed.
        """
        record = context.get(JOB_LEASE)
        length = None
        if isinstance(record, Mapping):
            job_id, attempt = record.get("job_id"), record.get("attempt")
            length = record.get("lease")
        else:  # a context saved before JOB_LEASE existed: hold its job if still ours
            current = context.get("current_job")
            job_id = current.get("job_id") if isinstance(current, Mapping) else None
            attempt = None
        if not job_id:
            return None
        job = await store.get_job(str(job_id))
        if self._still_holds(job, attempt):
            assert job is not None
            seconds = _seconds(length)
            if seconds is None:
                # Recorded before the lease length was: what the job's row tells (its
                # renewals since the claim make that longer than the lease was).
                seconds = max(1.0, (job.lease_expires or 0) - (job.started_at or 0))
            # Renewed before the job runs again: a lease that ran out while the machine
            # was down, its job not claimed again yet, could be claimed by another worker
            # before the heartbeat's first renewal, beside the run that starts now. The
            # renewal only touches a job still under this worker, so a claim that came
            # first shows in the second look.
            await store.renew_leases(self.worker, seconds, [str(job_id)])
            job = await store.get_job(str(job_id))
            if self._still_holds(job, attempt):
                assert job is not None
                self._leases[job.job_id] = seconds
                self._attempts[job.job_id] = job.attempts
                self._expires[job.job_id] = job.lease_expires or 0.0
                _tracing.current().job_started(job)
                return None
        if attempt is None:
            return None
        context.pop(JOB_LEASE, None)
        return await _describe(store, str(job_id), attempt if isinstance(attempt, int) else None)

    def _still_holds(self, job: Job | None, attempt: Any) -> bool:
        """Whether ``job`` is ``processing`` under this worker (in ``attempt``, if known)."""
        return (
            job is not None
            and job.status == "processing"
            and job.lease_owner == self.worker
            and (attempt is None or job.attempts == attempt)
        )

    async def release(
        self,
        store: Store,
        job_id: str,
        *,
        result: Any = None,
        error: str | None = None,
        retry: bool = True,
        output: Any = None,
    ) -> bool:
        """Complete (or with ``error`` fail, keeping the failing action's ``output``) a
        job; False, logged with the reason, when this machine does not hold it (any more)."""
        self._leases.pop(job_id, None)
        self._expires.pop(job_id, None)
        attempt = self._attempts.pop(job_id, None)
        outcome = "completed"
        if error is None:
            done = await store.complete_job(
                job_id, result=result, worker=self.worker, attempt=attempt
            )
        else:
            failed = await store.fail_job(
                job_id, error, worker=self.worker, retry=retry, attempt=attempt, output=output
            )
            done = failed is not None
            outcome = "failed" if failed is None else failed.status
            if failed is not None and failed.status == "dead":
                logger.warning(
                    "job %s is dead (out of attempts after %d): %s",
                    job_id,
                    failed.attempts,
                    error,
                    extra={
                        "action": "job_dead",
                        "job_id": job_id,
                        "worker": self.worker,
                        "attempts": failed.attempts,
                        "error": error,
                    },
                )
        _tracing.current().job_ended(job_id, outcome if done else "refused", error)
        if not done:
            logger.warning(
                "%s cannot %s job %s: %s",
                self.worker,
                "complete" if error is None else "fail",
                job_id,
                await _describe(store, job_id, attempt),
                extra={"action": "job_release_refused", "job_id": job_id},
            )
        return done  # the store wakes waiters (wait_for_jobs, idle workers) itself

    def release_later(
        self, store: Store, job_id: str, outcome: Callable[[bool], None], result: Any = None
    ) -> bool:
        """Complete ``job_id`` in the transaction of the store's next write, and report it
        done now, when the store can and the job's lease, as this machine last wrote it,
        runs out in :data:`CARRY_MARGIN_SECONDS` or later; False (nothing done: complete
        it with :meth:`release`) otherwise.

        Once the transaction has committed, ``outcome(done)`` is called; a completion
        the store refused then (the job was cancelled, failed or claimed again in the
        meantime) is logged at WARNING.
        """
        expires = self._expires.get(job_id, 0.0)
        if expires - time.time() < CARRY_MARGIN_SECONDS or not store.carries_completions:
            return False
        self._leases.pop(job_id, None)
        self._expires.pop(job_id, None)
        attempt = self._attempts.pop(job_id, None)
        trace = _tracing.current()
        ending = trace.job_ending(job_id)

        def committed(done: bool) -> None:
            if not done:
                logger.warning(
                    "%s completed job %s, but the store refused the completion when it "
                    "committed: the job was no longer processing under %s in attempt %s "
                    "(cancelled, failed or claimed again meanwhile)",
                    self.worker,
                    job_id,
                    self.worker,
                    attempt,
                    extra={"action": "job_completion_refused", "job_id": job_id},
                )
            try:
                trace.job_outcome(ending, "completed" if done else "refused")
            finally:  # the observers wait for it: a failing exporter must not hold them
                outcome(done)

        store.complete_job_with_next_write(
            JobCompletion(job_id, self.worker, attempt, result), committed
        )
        return True

    async def release_all(self, store: Store) -> list[str]:
        """Implicitly complete every job still held; the ids completed."""
        done: list[str] = []
        for job_id in list(self._leases):
            if await self.release(store, job_id):
                done.append(job_id)
                logger.debug(
                    "job %s completed implicitly", job_id, extra={"action": "job_implicit_done"}
                )
        return done

    async def give_back_all(self, store: Store) -> list[str]:
        """Give every job still held back to the queue unused (the machine is stopping
        before its config finished them): ``pending`` at once, attempt not counted."""
        given: list[str] = []
        for job_id in list(self._leases):
            self._leases.pop(job_id)
            self._expires.pop(job_id, None)
            attempt = self._attempts.pop(job_id, None)
            _tracing.current().job_ended(job_id, "given_back")
            if attempt is not None and await store.release_job_unused(
                job_id, worker=self.worker, attempt=attempt
            ):
                given.append(job_id)
                self._log_job(
                    "job_given_back",
                    "%s gave job %s back unused (attempt %d not counted)",
                    job_id,
                    attempt,
                )
        return given

    def _log_job(self, action: str, message: str, job_id: str, attempt: int) -> None:
        """Log ``message`` (``%s`` this worker, ``%s`` the job, ``%d`` the attempt)."""
        logger.info(
            message,
            self.worker,
            job_id,
            attempt,
            extra={"action": action, "job_id": job_id, "attempt": attempt},
        )

    async def renew(self, store: Store) -> None:
        """Renew the leases of the jobs held (those claimed ahead that waited too long
        go back to the queue instead)."""
        await self.give_back_ahead(store, older_than=AHEAD_MAX_AGE_SECONDS)
        lease = self.shortest_lease
        if lease is not None:
            job_ids = [*self._leases, *(job.job_id for job in self._ahead)]
            since = time.time()  # the renewal counts from a moment after this one
            renewed = await store.renew_leases(self.worker, lease, job_ids)
            if renewed == len(job_ids):  # else which ones is not known: none is counted
                until = since + lease
                for job_id in self._leases:
                    self._expires[job_id] = max(self._expires.get(job_id, 0.0), until)
                self._ahead = [
                    job._replace(lease_expires=max(job.lease_expires or 0.0, until))
                    for job in self._ahead
                ]


def _lease_of(job: Job) -> float:
    """The length of the lease ``job`` was claimed with."""
    lease = (job.lease_expires or 0.0) - (job.started_at or 0.0)
    return lease if lease > 0 else DEFAULT_LEASE_SECONDS


def _seconds(value: Any) -> float | None:
    """``value`` as a lease length (None unless a finite number of seconds above 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value > 0 else None


async def _describe(store: Store, job_id: str, attempt: int | None = None) -> str:
    """Why a job cannot be released by a machine, in words."""
    job = await store.get_job(job_id)
    if job is None:
        return "no such job"
    if job.status != "processing":
        return f"it is {job.status}"
    if attempt is not None and job.attempts != attempt:
        return (
            f"its lease ran out in attempt {attempt} and attempt {job.attempts} now "
            f"belongs to {job.lease_owner}"
        )
    return (
        f"attempt {job.attempts} is held by {job.lease_owner}; a machine finishes a job "
        "it claimed, or one handed to it by start_fsm"
    )
