"""The pure parts of ``/metrics``: which job types a config claims, gauges from store
rows, histograms, and the text a snapshot renders to."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from statemachine_engine.config.loader import config_from_text
from statemachine_engine.monitoring._exposition import render
from statemachine_engine.monitoring._metrics import (
    ANY_JOB_TYPE,
    MAX_LABEL,
    WAIT_BUCKETS,
    Histogram,
    MetricsSnapshot,
    claimed_types,
    gauges,
)

WORKER = """
name: Worker
initial_state: waiting
transitions:
  - {from: waiting, to: busy, event: new_job}
  - {from: waiting, to: waiting, event: no_jobs}
  - {from: busy, to: waiting, event: done}
actions:
  waiting:
    - {type: check_database_queue, job_type: render}
    - {type: check_database_queue, job_type: "{kind}"}
  busy:
    - {type: log, message: hi, success: done}
"""

CONTROLLER = """
name: Controller
initial_state: looking
transitions:
  - {from: looking, to: claiming, event: jobs_found}
  - {from: claiming, to: looking, event: claimed}
actions:
  looking:
    - {type: get_pending_jobs, job_type: upload, success: jobs_found}
  claiming:
    - {type: claim_job, job_id: "{job_id}", success: claimed}
"""


def machine_row(config_path: str | None, state: str, **fields: Any) -> dict[str, Any]:
    row = {
        "config_path": config_path,
        "config_name": None,
        "current_state": state,
        "status": "running",
        "pid": None,
        "host": None,
        "stale": 0,
        "n": 1,
    }
    return {**row, **fields}


def test_a_config_claims_the_types_its_queue_checks_name_or_any() -> None:
    assert claimed_types(config_from_text(WORKER)) == {"render", None}
    assert claimed_types(config_from_text(CONTROLLER)) == {"upload"}


def test_gauges_count_instances_by_liveness_and_live_consumers_by_type() -> None:
    worker = config_from_text(WORKER)
    rows = {
        "metric_machines": [
            machine_row("/p/worker.yaml", "waiting", n=3),
            machine_row("/p/worker.yaml", "waiting", stale=1),
            machine_row("/p/worker.yaml", "busy", status="finished"),
            machine_row(None, "idle", config_name="Loose", pid=os.getpid()),
        ],
        "metric_jobs": [
            {"job_type": "render", "status": "pending", "n": 15},
            {"job_type": "upload", "status": "pending", "n": 4},
        ],
        "metric_inbox_pending": [{"target_machine": "a", "n": 2}],
        "metric_events_dropped": [{"target_machine": "b", "n": 1}],
    }
    snapshot = MetricsSnapshot()
    gauges(rows, lambda path: worker, snapshot)
    assert dict(snapshot.machines) == {
        ("worker", "waiting", "live"): 3,
        ("worker", "waiting", "stale"): 1,
        ("worker", "busy", "finished"): 1,
        ("Loose", "idle", "live"): 1,
    }
    # Three live workers claim render by name and any type ("{kind}"): counted once for
    # each type.
    assert dict(snapshot.consumers) == {("render",): 3, ("upload",): 3}
    assert dict(snapshot.jobs) == {("render", "pending"): 15, ("upload", "pending"): 4}
    assert dict(snapshot.inbox_pending) == {("a",): 2}
    assert dict(snapshot.events_dropped) == {("b",): 1}


def test_a_job_type_nothing_claims_has_zero_consumers() -> None:
    render_only = config_from_text(WORKER.replace('job_type: "{kind}"', "job_type: render"))
    snapshot = MetricsSnapshot()
    rows = {
        "metric_machines": [machine_row("/w.yaml", "waiting", n=2)],
        "metric_jobs": [{"job_type": "upload", "status": "pending", "n": 15}],
        "metric_inbox_pending": [],
        "metric_events_dropped": [],
    }
    gauges(rows, lambda path: render_only, snapshot)
    assert dict(snapshot.consumers) == {("render",): 2, ("upload",): 0}


def test_any_type_consumers_show_under_a_wildcard_when_no_job_exists() -> None:
    any_type = config_from_text(WORKER.replace("job_type: render", 'job_type: "{k}"'))
    snapshot = MetricsSnapshot()
    rows = {
        "metric_machines": [machine_row("/w.yaml", "waiting")],
        "metric_jobs": [],
        "metric_inbox_pending": [],
        "metric_events_dropped": [],
    }
    gauges(rows, lambda path: any_type, snapshot)
    assert dict(snapshot.consumers) == {(ANY_JOB_TYPE,): 1}


def test_histograms_are_cumulative_and_clamp_bucket_indexes() -> None:
    histogram = Histogram()
    histogram.add(0, 2, 0.01)
    histogram.add(3, 1, 0.3)
    histogram.add(99, 1, 7200.0)  # above every bound
    pairs = histogram.cumulative(WAIT_BUCKETS)
    assert pairs[0] == ("0.01", 2)
    assert pairs[3] == ("0.5", 3)
    assert pairs[-1] == ("+Inf", 4)
    assert histogram.total == 7200.31


def test_a_snapshot_renders_to_parseable_text_with_bounded_labels() -> None:
    snapshot = MetricsSnapshot()
    snapshot.machines[("worker", "waiting", "live")] = 2
    snapshot.transitions[("worker", "", "waiting", "start")] = 2
    snapshot.job_waits[("render",)] = Histogram()
    snapshot.job_waits[("render",)].add(1, 5, 0.2)
    rows = {
        "metric_machines": [],
        "metric_jobs": [],
        "metric_inbox_pending": [{"target_machine": "x" * 1000, "n": 1}],
        "metric_events_dropped": [],
    }
    gauges(rows, lambda path: None, snapshot)
    families = {f.name: f for f in text_string_to_metric_families(render(snapshot).decode())}
    assert families["statemachine_machines"].type == "gauge"
    assert families["statemachine_transitions"].type == "counter"
    (started,) = families["statemachine_transitions"].samples
    assert started.name == "statemachine_transitions_total"
    assert started.labels == {"config": "worker", "from_state": "", "to_state": "waiting",
                              "event": "start"}  # fmt: skip
    waits = {s.name: s.value for s in families["statemachine_job_wait_seconds"].samples}
    assert waits["statemachine_job_wait_seconds_count"] == 5
    assert waits["statemachine_job_wait_seconds_sum"] == 0.2
    (pending,) = families["statemachine_inbox_pending"].samples
    assert len(pending.labels["machine"]) == MAX_LABEL


def test_the_grafana_dashboard_queries_only_metrics_the_server_serves() -> None:
    import json
    import re
    from pathlib import Path

    dashboard = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
    panels = json.loads(dashboard.read_text())["panels"]
    used = {
        re.sub(r"_(bucket|count|sum|total)$", "", name)
        for panel in panels
        for target in panel["targets"]
        for name in re.findall(r"statemachine_\w+", target["expr"])
    }
    served = {
        family.name for family in text_string_to_metric_families(render(MetricsSnapshot()).decode())
    }
    assert used <= served
    assert len(used) == len(served)  # every metric has a panel
