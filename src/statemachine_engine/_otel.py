"""The OpenTelemetry side of :mod:`._tracing`: a tracer provider set up from the standard
``OTEL_*`` variables, and the spans of each machine (imported only when tracing is on).

The SDK reads its own variables (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER``, ``OTEL_EXPORTER_OTLP_*``...); the exporters named in
``OTEL_TRACES_EXPORTER`` are found as the SDK finds them, through the
``opentelemetry_traces_exporter`` entry points (``otlp`` is the HTTP/protobuf exporter the
extra installs). ``console`` writes one JSON object per span and line on stdout.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import IO, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ._machine_trace import MachineTrace, TracedJob, current, valid_traceparent
from .errors import StateMachineError

_GROUP = "opentelemetry_traces_exporter"
#: ``otlp`` when no package registers that name: the exporter the extra installs.
_OTLP_FALLBACK = "otlp_proto_http"
_DEFAULT_SERVICE = "statemachine-engine"
_PROPAGATOR = TraceContextTextMapPropagator()
_FAILED = ("failed", "dead")


class _Lines:
    """Writes each span as one line with one ``write(2)``: lines of the processes sharing
    a stdout (a machine and those it starts) never mix."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def write(self, text: str) -> int:
        data = text.encode()
        while data:
            data = data[os.write(self._fd, data) :]
        return len(text)

    def flush(self) -> None:
        pass


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        sys.stdout.flush()
        out: Any = _Lines(sys.stdout.fileno())
        lines: IO[str] = out
        return ConsoleSpanExporter(out=lines, formatter=lambda span: span.to_json(None) + "\n")
    found = list(entry_points(group=_GROUP, name=name))
    if not found and name == "otlp":
        found = list(entry_points(group=_GROUP, name=_OTLP_FALLBACK))
    if not found:
        known = sorted({point.name for point in entry_points(group=_GROUP)} | {"otlp"})
        raise StateMachineError(
            f"OTEL_TRACES_EXPORTER names {name!r}, which is not installed; "
            f"installed: {', '.join(known)}"
        )
    try:
        exporter: SpanExporter = found[0].load()()
    except Exception as exc:  # an exporter's own dependency missing or misconfigured
        raise StateMachineError(f"cannot start the {name} span exporter: {exc}") from exc
    return exporter


class Backend:
    """The process's tracer provider and what reads span contexts."""

    def __init__(self, exporters: Sequence[str], processors: Sequence[SpanProcessor] = ()) -> None:
        resource = Resource.create()
        if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
            resource = resource.merge(Resource({SERVICE_NAME: _DEFAULT_SERVICE}))
        self.provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        for name in exporters:
            self.provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
        for processor in processors:
            self.provider.add_span_processor(processor)
        self.tracer = self.provider.get_tracer("statemachine_engine")
        self._factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(self._record)

    def machine(self, name: str) -> MachineTrace:
        return OtelMachineTrace(self.tracer, name)

    def traceparent(self, machine: MachineTrace) -> str | None:
        span = _active(machine)
        return None if span is None else _traceparent(span)

    def deferred(self, notice: Callable[[], None]) -> Callable[[], None]:
        # Only an action's line needs its span kept: told from the machine's own task,
        # a line finds the machine's span when it is written.
        span = trace.get_current_span()
        if not span.get_span_context().is_valid:
            return notice
        context = trace.set_span_in_context(span)

        def in_span() -> None:
            token = otel_context.attach(context)
            try:
                notice()
            finally:
                otel_context.detach(token)

        return in_span

    def _record(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self._factory(*args, **kwargs)
        span = _active(current())
        if span is not None:
            found = span.get_span_context()
            record.trace_id = format(found.trace_id, "032x")
            record.span_id = format(found.span_id, "016x")
        return record

    def shutdown(self) -> None:
        logging.setLogRecordFactory(self._factory)
        self.provider.shutdown()


def _active(machine: MachineTrace) -> Span | None:
    """The span active here: an action's, else the machine's current one."""
    span = trace.get_current_span()
    if span.get_span_context().is_valid:
        return span
    return machine.span if isinstance(machine, OtelMachineTrace) else None


def _traceparent(span: Span) -> str | None:
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, trace.set_span_in_context(span))
    return carrier.get("traceparent")


def _parent(traceparent: str | None) -> otel_context.Context | None:
    valid = valid_traceparent(traceparent)
    if valid is None:
        return None
    context = _PROPAGATOR.extract({"traceparent": valid})
    return context if trace.get_current_span(context).get_span_context().is_valid else None


class OtelMachineTrace(MachineTrace):
    """One machine's spans: a span per job attempt, one per event from another traced
    machine, a child span per action of either (see :class:`MachineTrace`)."""

    __slots__ = ("_event", "_jobs", "_tracer", "machine", "span")

    def __init__(self, tracer: trace.Tracer, machine: str) -> None:
        self._tracer = tracer
        self.machine = machine
        self._jobs: dict[str, Span] = {}
        self._event: Span | None = None
        #: The span actions and transitions belong to (the newest of those open).
        self.span: Span | None = None

    def _start(self, name: str, parent: otel_context.Context | None, **attrs: Any) -> Span:
        """A span of this machine that becomes its current one: a child of ``parent``,
        else of the event being handled (not of another job: each job its own)."""
        if parent is None and self._event is not None:
            parent = trace.set_span_in_context(self._event)
        attributes = {"statemachine.machine": self.machine, **attrs}
        span = self._tracer.start_span(
            name,
            context=parent or otel_context.Context(),
            kind=SpanKind.CONSUMER,
            attributes=attributes,
        )
        self.span = span
        return span

    def job_started(self, job: TracedJob) -> str | None:
        self.job_ended(job.job_id, "restarted")
        parent = _parent(job.traceparent)
        span = self._start(
            f"job {job.job_type}",
            parent,
            **{
                "statemachine.job_id": job.job_id,
                "statemachine.job_type": job.job_type,
                "statemachine.attempt": job.attempts,
            },
        )
        self._jobs[job.job_id] = span
        return None if parent is not None else _traceparent(span)

    def job_ended(self, job_id: str, outcome: str, error: str | None = None) -> None:
        span = self._jobs.pop(job_id, None)
        if span is None:
            return
        span.set_attribute("statemachine.outcome", outcome)
        if outcome in _FAILED:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()
        self._fall_back(span)

    def job_ending(self, job_id: str) -> object:
        span = self._jobs.pop(job_id, None)
        if span is not None:
            self._fall_back(span)
        return span

    def job_outcome(self, ending: object, outcome: str) -> None:
        if isinstance(ending, Span):
            ending.set_attribute("statemachine.outcome", outcome)
            ending.end()

    def event_taken(self, event: str, traceparent: str | None) -> None:
        parent = _parent(traceparent)
        if parent is None:
            return
        self.settled()
        self._event = self._start(f"event {event}", parent, **{"statemachine.event": event})

    def settled(self) -> None:
        span, self._event = self._event, None
        if span is not None:
            span.end()
            self._fall_back(span)

    def _fall_back(self, ended: Span) -> None:
        if self.span is ended:
            self.span = next(reversed(self._jobs.values()), None) or self._event

    def transition(self, source: str | None, target: str, event: str) -> None:
        if self.span is not None:
            attributes = {"statemachine.to_state": target, "statemachine.event": event}
            if source is not None:
                attributes["statemachine.from_state"] = source
            self.span.add_event("transition", attributes)

    def action_started(self, state: str, action: str) -> object:
        if self.span is None:
            return None
        span = self._tracer.start_span(
            action,
            context=trace.set_span_in_context(self.span),
            attributes={
                "statemachine.machine": self.machine,
                "statemachine.state": state,
                "statemachine.action": action,
            },
        )
        return span, otel_context.attach(trace.set_span_in_context(span))

    def action_ended(self, started: object, error: str | None = None) -> None:
        if not isinstance(started, tuple):
            return
        span, token = started
        otel_context.detach(token)
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()

    def close(self) -> None:
        for job_id in list(self._jobs):
            self.job_ended(job_id, "machine_ended")
        self.settled()
