"""The records the store returns: jobs, inbox events, machine states, transitions and
realtime events, each as stored. (``database.models`` re-exports them beside the facades
of the earlier API.)"""

# Annotations are evaluated here (no `from __future__ import annotations`): a NamedTuple
# turns string annotations into ForwardRefs, each compiled at import (docs/performance.md).
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, NamedTuple, TypedDict


class EventOrigin(TypedDict, total=False):
    """Where an event comes from, as a sender's keywords (each optional): the machine or
    tool that sent it, the job it concerns and the trace it continues (a W3C
    ``traceparent``; a malformed one is not kept)."""

    source: str | None
    job_id: str | None
    traceparent: str | None


class JobStatus:
    """The statuses a job goes through.

    ``pending`` -> ``processing`` (claimed, under a lease) -> ``completed``; a failure with
    attempts left -> ``failed`` (claimable again once its backoff has passed); the last
    failure -> ``dead``. ``cancelled`` jobs are never handed out.
    """

    PENDING: Final = "pending"
    PROCESSING: Final = "processing"
    COMPLETED: Final = "completed"
    FAILED: Final = "failed"
    DEAD: Final = "dead"
    CANCELLED: Final = "cancelled"
    ALL: Final = ("pending", "processing", "completed", "failed", "dead", "cancelled")
    CLAIMABLE: Final = ("pending", "failed")
    FINISHED: Final = ("completed", "dead", "cancelled")


class Job(NamedTuple):
    """One job as stored."""

    job_id: str
    job_type: str
    status: str
    data: Any = None
    machine_type: str | None = None
    priority: int = 0
    attempts: int = 0
    max_attempts: int = 3
    run_after: float = 0.0
    result: Any = None
    error: str | None = None
    lease_owner: str | None = None
    lease_expires: float | None = None
    source_job_id: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    completed_at: float | None = None
    updated_at: float = 0.0
    id: int | None = None
    #: The W3C ``traceparent`` of the trace the job's attempts continue (None: none).
    #: Untrusted text: checked where it is read (``_tracing.valid_traceparent``).
    traceparent: str | None = None

    def as_context(self) -> dict[str, Any]:
        """The ``current_job`` entry of a machine's context."""
        return {
            "job_id": self.job_id,
            "id": self.job_id,
            "job_type": self.job_type,
            "machine_type": self.machine_type,
            "data": self.data,
            "priority": self.priority,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "source_job_id": self.source_job_id,
        }

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


class JobCompletion(NamedTuple):
    """One completion of a batch (:meth:`~.store.Store.complete_jobs`), fenced as
    :meth:`~.store.Store.complete_job`'s are: only by its lease holder ``worker`` when
    given, only in ``attempt`` when given; ``result``: any JSON value kept with the job."""

    job_id: str
    worker: str | None = None
    attempt: int | None = None
    result: Any = None


class EventStatus:
    """The statuses of an event in a machine's inbox.

    ``pending`` until the machine consumes it (``processed``) or refuses it (``dropped``,
    with the reason).
    """

    PENDING: Final = "pending"
    PROCESSED: Final = "processed"
    DROPPED: Final = "dropped"
    ALL: Final = ("pending", "processed", "dropped")
    HANDLED: Final = ("processed", "dropped")


class MachineEvent(NamedTuple):
    """One event addressed to a machine."""

    id: int
    target_machine: str
    event_type: str
    payload: Any = None
    source_machine: str | None = None
    job_id: str | None = None
    status: str = "pending"
    created_at: float = 0.0
    processed_at: float | None = None
    #: Why the event was dropped (or why it cannot be handled: an undecodable payload).
    reason: str | None = None
    #: False when the stored payload is outside the JSON bounds (``payload`` is its text).
    decodable: bool = True
    #: A delayed event's due time (epoch seconds); None: deliverable at once.
    due_at: float | None = None
    #: The W3C ``traceparent`` of the span that sent it (None: none); untrusted text.
    traceparent: str | None = None

    def is_due(self, now: float) -> bool:
        """Whether the event may be delivered at ``now`` (not a delayed event still
        waiting for its time)."""
        return self.due_at is None or self.due_at <= now

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


class MachineStateRecord(NamedTuple):
    """The durable state of one machine instance."""

    machine_name: str
    current_state: str
    context: Mapping[str, Any] = MappingProxyType({})
    actions_done: bool = False
    timers: Sequence[tuple[str, float]] = ()
    config_name: str | None = None
    config_path: str | None = None
    #: Short hash of the config file the machine last started with (None: unknown).
    config_hash: str | None = None
    pid: int | None = None
    host: str | None = None
    status: str = "running"
    started_at: float = 0.0
    heartbeat_at: float = 0.0
    updated_at: float = 0.0
    #: Where the running machine is woken on its host (a Unix datagram socket).
    wake_address: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


class Registration(NamedTuple):
    """A machine of this process taking its name (``register_machines``)."""

    machine_name: str
    config_name: str | None
    config_path: str | None
    config_hash: str | None
    #: The socket senders on this host wake the machine through.
    wake_address: str | None


class TransitionRecord(NamedTuple):
    """One recorded transition."""

    machine_name: str
    from_state: str | None
    to_state: str
    event: str
    at: float
    job_id: str | None = None
    id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


class StepRecord(NamedTuple):
    """One transition of a group of steps to commit (see ``save_steps``)."""

    from_state: str | None
    to_state: str
    event: str
    job_id: str | None
    at: float


class MachineSnapshot(NamedTuple):
    """A machine's state as a group of steps leaves it: ``context`` and ``timers`` as
    JSON text, serialized when the step was taken (later changes are not the step's)."""

    state: str
    context: str
    timers: str
    actions_done: bool


class WaitingSteps(NamedTuple):
    """A machine's steps that wait for their commit (``save_steps``' arguments)."""

    machine_name: str
    snapshot: MachineSnapshot | None
    transitions: Sequence[StepRecord]
    consumed: Sequence[int]
    dropped: Sequence[tuple[int, str]]


class RealtimeEvent(NamedTuple):
    """One event of the live stream, as recorded."""

    id: int
    machine_name: str
    event_type: str
    payload: Any = None
    created_at: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


#: The kinds of :class:`ErrorRecord`.
ERROR_TRANSITION = "transition"
DEAD_JOB = "dead_job"


class ErrorRecord(NamedTuple):
    """One entry of the error history: a transition on an error event (``error``, or one
    ending in ``_failed`` or ``error``) or a job that died.

    ``machine`` is the machine that made the transition, or the one that last held the
    dead job; ``at`` is when the transition happened or the job died.
    """

    kind: str
    at: float
    machine: str | None
    job_id: str | None
    event: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


class WakeAddress(NamedTuple):
    """Where a running machine listens for wake-ups: a datagram socket on ``host``."""

    path: str
    host: str
