"""The engine's side of the door actions go through (:class:`~..actions.base.ActionRuntime`).

Each machine has one :class:`ActionPort`, handed to its actions as ``action.runtime``.
It turns the port's verbs into the machine's own operations (holding jobs, its inbox,
its activity log) and into store operations done on the machine's behalf (claims under
its worker id, events sent from its name). Actions see nothing else: not the engine,
not the store, not the host. Starting a machine in this process goes to the host that
runs this one, passed in as a :class:`MachineStarter` when the engine is built.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from .._tracing import current_traceparent
from ..actions._machine_verbs import MachineVerbs
from ..database._delivery import deliver
from ..database._records import JobStatus
from ..database._wakeup import JOBS
from ..database.store import DEFAULT_LEASE_SECONDS
from ..errors import ActionError, EventNotCancelled, JobExists

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..actions.base import JobClaim, MachineLaunch
    from ..database.models.job import Job, NewJob
    from ..database.models.machine_event import MachineEvent
    from ..database.models.machine_state import MachineStateRecord
    from ..database.store import Store
    from ..settings import Settings

#: The statuses a finished job ends in, and whether each counts as done.
_FINISHED = {JobStatus.COMPLETED: True, JobStatus.DEAD: False, JobStatus.CANCELLED: False}
#: More events than any inbox holds waiting: an action looks at all of them.
_WHOLE_INBOX = 100_000


class MachineStarter(Protocol):
    """Starts a machine in this process (a :class:`~._host.MachineHost`'s ``spawn``)."""

    def __call__(self, config: str, **launch: Unpack[MachineLaunch]) -> object: ...


class Machine(MachineVerbs, Protocol):
    """What the port uses of the machine it serves (a :class:`~.engine.StateMachineEngine`):
    the verbs it hands through to actions unchanged, and what it does on their behalf."""

    @property
    def store(self) -> Store: ...

    @property
    def worker_id(self) -> str: ...

    def adopt_job(self, job: Job) -> str | None: ...

    async def claim_next_job(self, claim: JobClaim) -> Job | None: ...

    async def release_job(
        self,
        job_id: str,
        *,
        result: Any = None,
        error: str | None = None,
        retry: bool = True,
        output: Any = None,
    ) -> bool: ...

    async def release_claimed_jobs(self) -> None: ...

    def hand_over_job(self, job_id: str) -> tuple[int, float] | None: ...

    def take_back_job(self, job_id: str, attempt: int, lease: float) -> None: ...


class ActionPort:
    """One machine's :class:`~..actions.base.ActionRuntime`.

    Args:
        machine: the machine whose actions use the port.
        start_machine: how to start a machine beside it (None: it runs outside a host).
    """

    __slots__ = (
        "_machine",
        "_starter",
        "emit",
        "log_activity",
        "record_process_group",
        "send_event",
        "wait_for_delivery",
    )

    def __init__(self, machine: Machine, start_machine: MachineStarter | None = None) -> None:
        self._machine = machine
        self._starter = start_machine
        # The machine's own verbs, handed through as they are.
        self.log_activity = machine.log_activity
        self.emit = machine.emit
        self.send_event = machine.send_event
        self.record_process_group = machine.record_process_group
        self.wait_for_delivery = machine.wait_for_delivery

    # -- the machine itself ---------------------------------------------------------

    @property
    def machine_name(self) -> str:
        return self._machine.machine_name

    @property
    def state(self) -> str | None:
        return self._machine.state

    @property
    def settings(self) -> Settings:
        return self._machine.settings

    @property
    def delivery_mark(self) -> int:
        return self._machine.delivery_mark

    # -- events -------------------------------------------------------------------------

    async def deliver_event(
        self,
        target: str,
        event_type: str,
        payload: Any = None,
        *,
        job_id: str | None = None,
        due_at: float | None = None,
    ) -> int:
        machine = self._machine
        return await deliver(
            machine.store,
            target,
            event_type,
            payload,
            due_at=due_at,
            source=machine.machine_name,
            job_id=job_id,
            traceparent=current_traceparent(),
        )

    async def cancel_event(self, event_id: int) -> bool:
        try:
            await self._machine.store.cancel_event(event_id)
        except EventNotCancelled:
            return False
        return True

    async def take_event(
        self, machine_name: str, event_types: Collection[str]
    ) -> MachineEvent | None:
        store = self._machine.store
        now = time.time()
        for event in await store.pending_events(machine_name, limit=_WHOLE_INBOX):
            if (
                event.event_type in event_types
                and event.is_due(now)
                and await store.mark_events([event.id], "processed")
            ):
                return event  # (marked by nobody else first)
        return None

    async def drop_events(self, machine_name: str, event_types: Collection[str]) -> int:
        store = self._machine.store
        now = time.time()
        events = await store.pending_events(machine_name, limit=_WHOLE_INBOX)
        ids = [e.id for e in events if e.event_type in event_types and e.is_due(now)]
        return await store.mark_events(ids, "dropped") if ids else 0

    # -- jobs -------------------------------------------------------------------------

    async def add_job(self, job: NewJob) -> Job | None:
        try:
            return await self._machine.store.add_job(
                job.job_type,
                job.data,
                job_id=job.job_id,
                priority=job.priority,
                max_attempts=job.max_attempts,
                delay=job.delay,
                machine_type=job.machine_type,
                source_job_id=job.source_job_id,
                traceparent=current_traceparent(),
            )
        except JobExists:
            return None

    async def claim_next_job(self, **claim: Unpack[JobClaim]) -> Job | None:
        return await self._machine.claim_next_job(claim)

    async def claim_job(self, job_id: str, *, lease_seconds: float | None = None) -> Job | None:
        machine = self._machine
        job = await machine.store.claim_job_by_id(
            job_id,
            machine.worker_id,
            lease_seconds=DEFAULT_LEASE_SECONDS if lease_seconds is None else lease_seconds,
        )
        if job is not None and (traceparent := machine.adopt_job(job)) is not None:
            await machine.store.trace_job(job.job_id, traceparent)
        return job

    async def complete_job(self, job_id: str, *, result: Any = None) -> bool:
        return await self._machine.release_job(job_id, result=result)

    async def fail_job(
        self, job_id: str, reason: str, *, retry: bool = True, output: Any = None
    ) -> bool:
        return await self._machine.release_job(job_id, error=reason, retry=retry, output=output)

    async def complete_held_jobs(self) -> None:
        await self._machine.release_claimed_jobs()

    def hand_over_job(self, job_id: str) -> tuple[int, float] | None:
        return self._machine.hand_over_job(job_id)

    def take_back_job(self, job_id: str, attempt: int, lease_seconds: float) -> None:
        self._machine.take_back_job(job_id, attempt, lease_seconds)

    async def pending_jobs(
        self, *, job_type: str | None = None, machine_type: str | None = None, limit: int = 100
    ) -> list[Job]:
        jobs = await self._machine.store.list_jobs(
            status=JobStatus.CLAIMABLE, job_type=job_type, machine_type=machine_type, limit=None
        )
        # The next ``limit`` in the order workers claim them (not the newest ones).
        jobs.sort(key=lambda job: (-job.priority, job.run_after, job.id or 0))
        return jobs[: max(limit, 0)]

    async def finished_jobs(self, job_ids: Iterable[str]) -> dict[str, bool]:
        finished: dict[str, bool] = {}
        for job_id in job_ids:
            job = await self._machine.store.get_job(job_id)
            if job is not None and job.status in _FINISHED:
                finished[job_id] = _FINISHED[job.status]
        return finished

    async def next_job_ready_at(self, job_type: str | None = None) -> float | None:
        return await self._machine.store.next_job_ready_at(job_type)

    async def job_queue_mark(self) -> int:
        return (await self._machine.store.listener()).mark(JOBS)

    async def wait_for_job_queue(self, since: int, timeout: float) -> bool:
        return await (await self._machine.store.listener()).wait(JOBS, since, timeout)

    # -- other machines -----------------------------------------------------------------

    async def machine_record(self, machine_name: str) -> MachineStateRecord | None:
        return await self._machine.store.load_machine(machine_name)

    def start_machine(self, config_path: str, **launch: Unpack[MachineLaunch]) -> None:
        if self._starter is None:
            raise ActionError(
                "start_fsm with in_process: true needs a machine run by the statemachine "
                "command or a MachineHost"
            )
        self._starter(config_path, **launch)
