"""What OpenTelemetry tracing costs per job.

One durable worker (an engine in this process, on a SQLite file in WAL mode) runs N
pre-added jobs: waiting (check_database_queue) -> processing (a log action, then
complete_job) -> waiting; an empty queue ends it. Each job is one span of its attempt,
two action spans and a transition event. The same workload runs with tracing off and
on, alternately, and the best CPU time per job of each over the rounds is printed (CPU
time of the process, its export thread included, and the best round: the figures other
work on a busy host moves least):

- off: no ``OTEL_TRACES_EXPORTER`` (nothing from opentelemetry is imported);
- on: the SDK with a batch span processor, its exporter counting the spans and dropping
  them (what an exporter to a collector costs the machine, less the network, which the
  batch thread does);
- on, jobs traced when added: the jobs carry a ``traceparent`` already, so the first
  claim writes none (a job added outside any trace keeps its first attempt's).

Also timed: the calls a job makes into the tracing hooks when tracing is off.

    python bench/tracing.py [--jobs N] [--rounds N]

Bars (this bench's own; issue 18 asks for the figures): tracing on costs at most 400 us
of CPU a job (a job that does real work takes milliseconds or more; this one does
nothing but move through the queue); off, the hooks cost at most 5 us a job (about 1 %
of the lightest job).
"""

from __future__ import annotations

import os
import sys

# bench/queue.py is named like the standard library's `queue`, which asyncio and the
# OpenTelemetry SDK import: keep the bench directory behind the standard library.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]
sys.path.append(_HERE)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from _report import figure, header  # noqa: E402
from statemachine_engine import _tracing  # noqa: E402
from statemachine_engine.config.loader import load_config  # noqa: E402
from statemachine_engine.core.engine import StateMachineEngine  # noqa: E402
from statemachine_engine.database._new_jobs import NewJob  # noqa: E402
from statemachine_engine.database._sqlite import SqliteStore  # noqa: E402

ON_BAR_US = 400.0
OFF_BAR_US = 5.0
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
WORKER = """
name: tracing-bench worker
initial_state: waiting
transitions:
  - {from: waiting, to: processing, event: new_job}
  - {from: processing, to: waiting, event: job_done}
  - {from: waiting, to: stopped, event: no_jobs}
final: [stopped]
actions:
  waiting:
    - {type: check_database_queue, job_type: bench, wait: 0}
  processing:
    - {type: log, message: "job {job_id}", level: debug}
    - {type: complete_job, success: job_done}
"""


async def run_jobs(directory: Path, count: int, run: int, *, traced_jobs: bool) -> float:
    """CPU seconds per job (this process's threads: the SDK's export thread too) for a
    worker running ``count`` fresh jobs."""
    config_path = directory / "worker.yaml"
    if not config_path.exists():
        config_path.write_text(WORKER)
    store = SqliteStore(directory / f"run{run}.db")
    try:
        traceparent = TRACEPARENT if traced_jobs else None
        for number in range(count):
            await store.add_job("bench", {"n": number}, traceparent=traceparent)
        engine = StateMachineEngine(
            load_config(config_path), machine_name=f"worker{run}", store=store
        )
        start = time.process_time()
        await engine.run()
        elapsed = time.process_time() - start
    finally:
        await store.close()
    return elapsed / count


def hooks_off_per_job(rounds: int = 100_000) -> float:
    """Seconds a job spends in the tracing hooks with tracing off: what the engine calls
    for one job (claim, two transitions, two actions, completion, log lines told)."""
    token = _tracing.bind("m")

    def notice() -> None: ...

    job = NewJob("bench")
    try:
        start = time.process_time()
        for _ in range(rounds):
            trace = _tracing.current()
            trace.job_started(job)  # type: ignore[arg-type]
            for _ in range(2):
                trace = _tracing.current()
                trace.transition("a", "b", "e")
                _tracing.deferred(notice)
                span = _tracing.current().action_started("b", "log")
                _tracing.current().action_ended(span)
            trace.settled()
            _tracing.current_traceparent()
            _tracing.current().job_ended("j", "completed")
        return (time.process_time() - start) / rounds
    finally:
        _tracing.unbind(token)


class Counting:
    """A span exporter that counts the spans and drops them (as a collector far away
    would take them: their memory is not the bench's)."""

    def __init__(self) -> None:
        self.count = 0

    def export(self, spans: Any) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        self.count += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    header(f"tracing: per-job CPU, {args.jobs} jobs, best of {args.rounds} rounds")
    samples: dict[str, list[float]] = {"off": [], "on": [], "on_traced": []}
    exported = 0
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        run = 0
        for _ in range(args.rounds):
            for kind in samples:
                run += 1
                exporter = Counting()
                if kind != "off":
                    _tracing.configure((), processors=[BatchSpanProcessor(exporter)])
                try:
                    per_job = await run_jobs(
                        directory, args.jobs, run, traced_jobs=kind == "on_traced"
                    )
                finally:
                    _tracing.shutdown()
                samples[kind].append(per_job)
                exported += exporter.count
    off, on, on_traced = (min(samples[kind]) * 1e6 for kind in samples)
    figure("per job, tracing off", off, "us")
    figure("per job, tracing on (batch processor)", on, "us")
    figure("per job, tracing on, jobs added traced", on_traced, "us")
    overhead = on - off
    figure(
        "tracing overhead per job",
        overhead,
        "us",
        bar=f"<= {ON_BAR_US:.0f} us",
        ok=overhead <= ON_BAR_US,
    )
    figure("tracing overhead per job, jobs added traced", on_traced - off, "us")
    hooks = hooks_off_per_job() * 1e6
    figure(
        "tracing hooks per job, tracing off",
        hooks,
        "us",
        bar=f"<= {OFF_BAR_US:.0f} us",
        ok=hooks <= OFF_BAR_US,
        digits=2,
    )
    spans_per_job = exported / (2 * args.rounds * args.jobs)
    figure("spans exported per job (on)", spans_per_job, "", digits=1)


if __name__ == "__main__":
    asyncio.run(main())
