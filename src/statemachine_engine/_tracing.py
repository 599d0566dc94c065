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
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ._machine_trace import (
    MACHINE,
    NO_TRACE,
    MachineTrace,
    TracedJob,
    current,
    valid_traceparent,
)

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
    return MACHINE.set(trace)


def unbind(token: contextvars.Token[MachineTrace]) -> None:
    """End the trace :func:`bind` made (its open spans end) and restore the previous one."""
    MACHINE.get().close()
    MACHINE.reset(token)


def deferred(notice: Callable[[], None]) -> Callable[[], None]:
    """``notice`` (a log line told later, once steps commit) run in the action's span
    active now, if any, so that its record carries that span's ids."""
    return _BACKEND[0].deferred(notice) if _BACKEND else notice


def current_traceparent() -> str | None:
    """The ``traceparent`` of the span active here (an action's, else its machine's), to
    keep with a job or event; None without one."""
    return _BACKEND[0].traceparent(MACHINE.get()) if _BACKEND else None
