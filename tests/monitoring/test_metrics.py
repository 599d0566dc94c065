"""``/metrics`` after a known workload of real machine processes on a real SQLite file.

Two workers take six ``render`` jobs (five run, one fails for good), a holder machine
sits in a known state with one event it dropped, and an inbox of a machine that is not
running holds an event. The metrics must then hold exactly what happened.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from statemachine_engine.database import open_store
from tests.support.files import write
from tests.support.processes import MachineProcess, moved, run_cli, wait_until

from .conftest import Server, StartServer

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Unix processes")

DB_CLI = [sys.executable, "-m", "statemachine_engine.database.cli"]
StartMachine = Callable[..., MachineProcess]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

WORKER = """
name: Render worker
initial_state: waiting
transitions:
  - {from: waiting, to: processing, event: new_job}
  - {from: waiting, to: waiting, event: no_jobs}
  - {from: processing, to: done, event: ran}
  - {from: processing, to: failing, event: broke}
  - {from: done, to: waiting, event: job_completed}
  - {from: failing, to: waiting, event: job_failed}
actions:
  waiting:
    - {type: check_database_queue, job_type: render, wait: 60, prefetch: 0}
  processing:
    - {type: bash, command: "exit {code}", success: ran, error: broke}
  done:
    - {type: complete_job, success: job_completed}
  failing:
    - {type: fail_job, reason: "exit code {code}"}
"""

HOLDER = """
name: Holder
initial_state: idle
events: [ping, stop]
transitions:
  - {from: idle, to: busy, event: ping}
  - {from: busy, to: idle, event: ping}
  - {from: "*", to: stopped, event: stop}
"""


def scrape(url: str, **options: object) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=15) as client:
        return client.get("/metrics", **options)  # type: ignore[arg-type]


def samples(text: str) -> Samples:
    """Every sample of the text format, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def of(found: Samples, name: str, **labels: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return {key: value for (n, key), value in found.items() if n == name and wanted <= set(key)}


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


@dataclass
class Workload:
    """Where the workload runs: the store, and how to start its processes there."""

    location: str
    #: ``machine(config, name)`` starts a machine.
    machine: Callable[[Path, str], MachineProcess]
    #: ``ui()`` starts ``statemachine-ui`` and returns its URL.
    ui: Callable[[], str]
    #: ``db_cli(*args)`` runs ``statemachine-db`` to its end.
    db_cli: Callable[..., subprocess.CompletedProcess[str]]


async def run_known_workload(tmp_path: Path, on: Workload) -> tuple[str, Samples]:
    """Run the workload; the server's URL and its metrics once all is counted."""
    store = open_store(on.location)
    try:
        for n in range(5):
            await store.add_job("render", {"code": 0}, job_id=f"ok-{n}")
        await store.add_job("render", {"code": 3}, job_id="bad", max_attempts=1)
        await store.send_event("ghost", "wake_up")
    finally:
        await store.close()
    url = on.ui()
    worker = write(tmp_path / "worker.yaml", WORKER)
    workers = [on.machine(worker, f"w{i}") for i in (1, 2)]
    holder = on.machine(write(tmp_path / "holder.yaml", HOLDER), "holder")
    holder.expect(moved("holder", None, "start", "idle"))
    sent = on.db_cli("send-event", "--target", "holder", "--type", "bogus")
    assert sent.returncode == 0, sent.stderr
    holder.expect("bogus")

    finished = [moved(w, "done", "job_completed", "waiting") for w in ("w1", "w2")]
    failed = [moved(w, "failing", "job_failed", "waiting") for w in ("w1", "w2")]
    wait_until(
        lambda: (
            sum(p.count(f) for p in workers for f in finished) == 5
            and sum(p.count(f) for p in workers for f in failed) == 1
        ),
        timeout=30.0,
        what="five jobs completed and one failed",
    )

    def counted() -> bool:
        # Realtime events are recorded in batches a moment after they happen; on
        # PostgreSQL the history reads lag a little behind the newest rows.
        found = scraped(url)
        runs = of(found, "statemachine_job_run_seconds_count").values()
        bash = value(found, "statemachine_action_seconds_count", config="worker", action="bash")
        return bash == 6 and sum(runs) == 6

    wait_until(counted, timeout=15.0, what="every run in /metrics")
    return url, scraped(url)


def scraped(url: str) -> Samples:
    response = scrape(url)
    assert response.status_code == 200, response.text
    return samples(response.text)


def check_known_workload(found: Samples) -> None:
    """The metrics hold exactly what :func:`run_known_workload` did."""
    assert of(found, "statemachine_machines") == {
        (("config", "holder"), ("state", "idle"), ("status", "live")): 1.0,
        (("config", "worker"), ("state", "waiting"), ("status", "live")): 2.0,
    }
    assert of(found, "statemachine_jobs") == {
        (("job_type", "render"), ("status", "completed")): 5.0,
        (("job_type", "render"), ("status", "dead")): 1.0,
    }
    assert of(found, "statemachine_consumers") == {(("job_type", "render"),): 2.0}
    assert of(found, "statemachine_inbox_pending") == {(("machine", "ghost"),): 1.0}
    assert of(found, "statemachine_events_dropped_total") == {(("machine", "holder"),): 1.0}

    transitions = {
        (dict(key)["config"], dict(key)["from_state"], dict(key)["to_state"], dict(key)["event"]): n
        for key, n in of(found, "statemachine_transitions_total").items()
        if dict(key)["event"] != "no_jobs"  # how often an idle worker looked is not known
    }
    assert transitions == {
        ("holder", "", "idle", "start"): 1.0,
        ("worker", "", "waiting", "start"): 2.0,
        ("worker", "waiting", "processing", "new_job"): 6.0,
        ("worker", "processing", "done", "ran"): 5.0,
        ("worker", "processing", "failing", "broke"): 1.0,
        ("worker", "done", "waiting", "job_completed"): 5.0,
        ("worker", "failing", "waiting", "job_failed"): 1.0,
    }

    assert value(found, "statemachine_job_wait_seconds_count", job_type="render") == 6
    wait_inf = value(found, "statemachine_job_wait_seconds_bucket", job_type="render", le="+Inf")
    assert wait_inf == 6
    assert of(found, "statemachine_job_run_seconds_count") == {
        (("job_type", "render"), ("outcome", "completed")): 5.0,
        (("job_type", "render"), ("outcome", "dead")): 1.0,
    }
    assert value(found, "statemachine_action_failures_total", config="worker", action="bash") == 1
    for action, runs_of_it in (("complete_job", 5), ("fail_job", 1)):
        counted = value(found, "statemachine_action_seconds_count", config="worker", action=action)
        assert counted == runs_of_it


async def test_metrics_hold_exactly_what_a_known_workload_did(
    tmp_path: Path, statemachine: StartMachine, ui_server: StartServer
) -> None:
    db = tmp_path / "metrics.db"
    servers: list[Server] = []

    def ui() -> str:
        servers.append(ui_server("--db", db))
        return servers[-1].url

    workload = Workload(
        str(db),
        machine=lambda config, name: statemachine(config, "--db", db, "--machine-name", name),
        ui=ui,
        db_cli=lambda *args: run_cli(*args, "--db", db, cwd=tmp_path, argv=DB_CLI),
    )
    _, found = await run_known_workload(tmp_path, workload)
    check_known_workload(found)

    # A restarted server counts the same history again: no counter falls back to zero.
    servers[0].process.stop()
    found_again = scraped(ui())
    for name in ("statemachine_transitions_total", "statemachine_job_run_seconds_count"):
        assert of(found_again, name, config="worker") == of(found, name, config="worker")
        assert of(found_again, name, job_type="render") == of(found, name, job_type="render")
