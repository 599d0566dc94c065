"""OpenTelemetry spans of real machines on a real SQLite file, read from an in-memory
exporter: one span per job attempt, a child span per action, transitions as span events,
and a trace continued by an event between machines and by a job handed over."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from statemachine_engine import _tracing
from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.database.models.job import JobStatus
from tests.support.engines import Machines
from tests.support.recorder import LogWatcher


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """Tracing on for the test, every span ending in the returned exporter."""
    memory = InMemorySpanExporter()
    assert _tracing.configure((), processors=[SimpleSpanProcessor(memory)])
    try:
        yield memory
    finally:
        _tracing.shutdown()


@pytest.fixture
async def machines(store: SqliteStore) -> AsyncIterator[Machines]:
    async with Machines(store=store, machine_name="m") as factory:
        yield factory


def named(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


WORKER = """
    initial_state: waiting
    transitions:
      - {from: waiting, to: processing, event: new_job}
      - {from: processing, to: done, event: finished}
    final: [done]
    actions:
      waiting:
        - {type: check_database_queue, job_type: task, wait: 5}
      processing:
        - {type: log, message: "working on {job_id}"}
        - {type: complete_job, success: finished}
    """


async def test_a_job_attempt_is_one_span_with_a_child_per_action_and_its_transitions(
    store: SqliteStore, machines: Machines, exporter: InMemorySpanExporter
) -> None:
    await store.add_job("task", {"n": 1}, job_id="j1")
    await machines.run(WORKER, machine_name="worker")

    spans = exporter.get_finished_spans()
    [job] = named(spans, "job task")
    assert job.kind is SpanKind.CONSUMER
    assert dict(job.attributes or {}) == {
        "statemachine.machine": "worker",
        "statemachine.job_id": "j1",
        "statemachine.job_type": "task",
        "statemachine.attempt": 1,
        "statemachine.outcome": "completed",
    }
    assert job.parent is None, "a job added outside any trace starts one"
    assert job.status.status_code is StatusCode.UNSET
    [transition] = job.events
    assert transition.name == "transition"
    assert dict(transition.attributes or {}) == {
        "statemachine.from_state": "waiting",
        "statemachine.to_state": "processing",
        "statemachine.event": "new_job",
    }
    children = [span for span in spans if parent_of(span) == job.context.span_id]
    assert [span.name for span in children] == ["log", "complete_job"]
    assert dict(children[0].attributes or {}) == {
        "statemachine.machine": "worker",
        "statemachine.state": "processing",
        "statemachine.action": "log",
    }
    assert {span.context.trace_id for span in spans} == {job.context.trace_id}
    # The job keeps the trace of its first attempt, for later attempts and hand-overs.
    stored = await store.get_job("j1")
    assert stored is not None
    assert stored.traceparent is not None
    assert stored.traceparent.startswith(
        f"00-{job.context.trace_id:032x}-{job.context.span_id:016x}-"
    )


async def test_each_attempt_of_a_retried_job_is_a_span_of_the_same_trace(
    store: SqliteStore, machines: Machines, exporter: InMemorySpanExporter
) -> None:
    await store.add_job("task", {}, job_id="j1", max_attempts=2)
    text = """
        initial_state: waiting
        transitions:
          - {from: waiting, to: processing, event: new_job}
          - {from: waiting, to: waiting, event: no_jobs}
          - {from: processing, to: waiting, event: job_failed}
        actions:
          waiting:
            - {type: check_database_queue, job_type: task, wait: 30}
          processing:
            - {type: set_context, key: last_error, value: "boom {current_job.attempts}"}
            - {type: fail_job}
        """
    _, recorder, _ = machines.start(text, machine_name="worker")
    failures = ("processing", "waiting", "job_failed")
    await recorder.until(lambda: recorder.changes.count(failures) == 2, timeout=8.0)
    dead = await store.get_job("j1")
    assert dead is not None
    assert dead.status == JobStatus.DEAD

    first, second = named(exporter.get_finished_spans(), "job task")
    assert [span.attributes["statemachine.attempt"] for span in (first, second)] == [1, 2]
    assert [span.attributes["statemachine.outcome"] for span in (first, second)] == [
        "failed",
        "dead",
    ]
    assert [span.status.status_code for span in (first, second)] == [StatusCode.ERROR] * 2
    assert [span.status.description for span in (first, second)] == ["boom 1", "boom 2"]
    assert second.context.trace_id == first.context.trace_id
    assert parent_of(second) == first.context.span_id


async def test_an_event_from_a_traced_machine_continues_its_trace(
    store: SqliteStore,
    machines: Machines,
    exporter: InMemorySpanExporter,
    log_watcher: LogWatcher,
) -> None:
    if True:
        receiver, recorder, _ = machines.start(
            """
            initial_state: idle
            transitions:
              - {from: idle, to: greeted, event: hello}
              - {from: greeted, to: done, event: logged}
            final: [done]
            actions:
              greeted:
                - {type: log, message: "hello from {event_data.payload.from}", success: logged}
            """,
            machine_name="receiver",
        )
        await store.add_job("task", {}, job_id="j1")
        await machines.run(
            """
            initial_state: waiting
            transitions:
              - {from: waiting, to: telling, event: new_job}
              - {from: telling, to: done, event: event_sent}
            final: [done]
            actions:
              waiting:
                - {type: check_database_queue, job_type: task, wait: 5}
              telling:
                - {type: send_event, target_machine: receiver, event_type: hello,
                   payload: {from: sender}}
            """,
            machine_name="sender",
        )
        await receiver.pull_events()  # (what its host does when woken)
        await recorder.entered("done")

    spans = exporter.get_finished_spans()
    [send] = named(spans, "send_event")
    [handled] = named(spans, "event hello")
    assert handled.context.trace_id == send.context.trace_id
    assert parent_of(handled) == send.context.span_id
    assert handled.attributes["statemachine.machine"] == "receiver"
    [transition, _] = handled.events
    assert transition.attributes["statemachine.event"] == "hello"
    [log] = [span for span in named(spans, "log") if parent_of(span) == handled.context.span_id]
    # The receiver's log line, written in that span, carries its ids.
    [line] = [r for r in log_watcher.actions("activity_log") if "hello from" in r.getMessage()]
    assert line.trace_id == f"{handled.context.trace_id:032x}"
    assert line.span_id in {f"{log.context.span_id:016x}", f"{handled.context.span_id:016x}"}
    assert receiver.context["event_data"]["payload"] == {"from": "sender"}
