"""Tracing: what the engine tells of its jobs, actions and transitions, as OpenTelemetry
spans when the ``otel`` extra is installed and ``OTEL_TRACES_EXPORTER`` names an exporter
(docs/observability.md).

The engine talks to a :class:`MachineTrace` per machine, bound to the machine's task
(:func:`bind`; its actions' tasks inherit it), and reads it back with :func:`current`.
Unless :func:`configure` turned tracing on, that is :data:`NO_TRACE`, whose methods do
nothing, and nothing from ``opentelemetry`` is imported: the spans themselves live in
:mod:`._otel`, loaded by :func:`configure`.

A trace crosses machines and processes in the store: a job added or an event sent while a
span is active keeps the span's W3C ``traceparent`` (:func:`current_traceparent`), and the
span of its claim or handling continues that trace. A stored ``traceparent`` is untrusted
text: one that is not well formed (:func:`valid_traceparent`) is ignored.
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ._otel import Backend

__all__ = [
    "NO_TRACE",
    "MachineTrace",
    "TracedJob",
    "bind",
    "configure",
    "current",
    "current_traceparent",
    "deferred",
    "shutdown",
    "unbind",
    "valid_traceparent",
]

logger = logging.getLogger("statemachine_engine.tracing")

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
_MACHINE: contextvars.ContextVar[MachineTrace] = contextvars.ContextVar(
    "statemachine_trace", default=NO_TRACE
)
_BACKEND: list[Backend] = []


def configure(exporters: Sequence[str], *, processors: Sequence[object] = ()) -> bool:
    """Trace to ``exporters`` (names of OpenTelemetry span exporters, as
    ``OTEL_TRACES_EXPORTER`` gives them) and to ``processors`` (OpenTelemetry span
    processors: a test's in-memory exporter); whether tracing is on. Without either, or
    without the ``otel`` extra (a warning says so), tracing stays off.

    Raises:
        StateMachineError: an exporter name is not installed.
    """
    if not (exporters or processors) or _BACKEND:
        return bool(_BACKEND)
    try:
        from ._otel import Backend
    except ImportError as exc:
        logger.warning(
            "OTEL_TRACES_EXPORTER is set but OpenTelemetry is not installed (%s): no "
            "tracing; install statemachine-engine[otel]",
            exc,
            extra={"action": "tracing_unavailable"},
        )
        return False
    _BACKEND.append(Backend(exporters, processors))  # type: ignore[arg-type]
    return True


def shutdown() -> None:
    """Export the spans still waiting and turn tracing off (the process ends)."""
    while _BACKEND:
        _BACKEND.pop().shutdown()


def bind(machine: str) -> contextvars.Token[MachineTrace]:
    """Make a new trace of ``machine`` the current one in this task (and in the tasks it
    starts); pass the token to :func:`unbind` when the machine ends."""
    trace = _BACKEND[0].machine(machine) if _BACKEND else NO_TRACE
    return _MACHINE.set(trace)


def unbind(token: contextvars.Token[MachineTrace]) -> None:
    """End the trace :func:`bind` made (its open spans end) and restore the previous one."""
    _MACHINE.get().close()
    _MACHINE.reset(token)


def current() -> MachineTrace:
    """The trace of the machine running in this task (:data:`NO_TRACE` outside one)."""
    return _MACHINE.get()


def deferred(notice: Callable[[], None]) -> Callable[[], None]:
    """``notice`` (a log line told later, once steps commit) run in the action's span
    active now, if any, so that its record carries that span's ids."""
    return _BACKEND[0].deferred(notice) if _BACKEND else notice


def current_traceparent() -> str | None:
    """The ``traceparent`` of the span active here (an action's, else its machine's), to
    keep with a job or event; None without one."""
    return _BACKEND[0].traceparent(_MACHINE.get()) if _BACKEND else None
