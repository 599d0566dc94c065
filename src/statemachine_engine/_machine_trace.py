"""What the engine tells its tracing (:class:`MachineTrace`), the no-op trace of tracing
off (:data:`NO_TRACE`), the trace of the machine running in a task (:func:`current`), and
the check of a stored ``traceparent``. Shared by :mod:`._tracing` and :mod:`._otel`."""

from __future__ import annotations

import contextvars
import re
from typing import Protocol

#: Version 00 of the W3C Trace Context header: an all-zero trace or span id is invalid.
_TRACEPARENT = re.compile(r"00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}")
TRACEPARENT_LENGTH = 55


def valid_traceparent(value: object) -> str | None:
    """``value`` if it is a well-formed ``traceparent`` (version ``00``, lower-case hex,
    non-zero ids), else None."""
    if isinstance(value, str) and len(value) == TRACEPARENT_LENGTH:
        return value if _TRACEPARENT.fullmatch(value) else None
    return None


class TracedJob(Protocol):
    """What a span of a job attempt reads of the job (a stored ``Job``)."""

    @property
    def job_id(self) -> str: ...

    @property
    def job_type(self) -> str: ...

    @property
    def attempts(self) -> int: ...

    @property
    def traceparent(self) -> str | None: ...


class MachineTrace:
    """What one machine tells of its work. This class does nothing (tracing off); the
    OpenTelemetry one (:mod:`._otel`) makes spans of it."""

    __slots__ = ()

    def job_started(self, job: TracedJob) -> str | None:
        """The machine holds ``job`` (claimed or handed over) in attempt ``job.attempts``:
        a span begins, continuing the job's trace. Returns the span's ``traceparent`` for
        the store to keep when the job had none (None: nothing to keep)."""
        return None

    def job_ended(self, job_id: str, outcome: str, error: str | None = None) -> None:
        """The attempt's span ends: ``completed``, ``failed``, ``dead``, ``handed_over``
        or ``given_back`` (with the failure's ``error``)."""

    def job_ending(self, job_id: str) -> object:
        """The attempt's work is done and its outcome comes later (a completion that
        commits with the store's next write): nothing after this belongs to its span.
        Returns what :meth:`job_outcome` takes."""
        return None

    def job_outcome(self, ending: object, outcome: str) -> None:
        """The outcome of the attempt :meth:`job_ending` returned ``ending`` for
        (``completed``, or ``refused``): its span ends."""

    def event_taken(self, event: str, traceparent: str | None) -> None:
        """A stored event carrying ``traceparent`` moves the machine: a span continuing
        the sender's trace covers what follows until the machine settles."""

    def settled(self) -> None:
        """The machine waits for its next event: the span of the event that moved it
        ends."""

    def transition(self, source: str | None, target: str, event: str) -> None:
        """A transition, told as an event of the machine's current span."""

    def action_started(self, state: str, action: str) -> object:
        """An action of ``state`` runs: a child span of the current one, active in this
        task until :meth:`action_ended`. Returns what :meth:`action_ended` takes."""
        return None

    def action_ended(self, started: object, error: str | None = None) -> None:
        """The action :meth:`action_started` returned ``started`` for is done."""

    def close(self) -> None:
        """The machine has ended: its spans still open end."""


NO_TRACE = MachineTrace()
MACHINE: contextvars.ContextVar[MachineTrace] = contextvars.ContextVar(
    "statemachine_trace", default=NO_TRACE
)


def current() -> MachineTrace:
    """The trace of the machine running in this task (:data:`NO_TRACE` outside one)."""
    return MACHINE.get()
