"""``/metrics``: the store's metrics in Prometheus' text format (docs/observability.md).

A custom collector over a private registry turns one :class:`~._metrics.MetricsSnapshot`
into metric families: no metric object lives between scrapes, and nothing registers in
``prometheus_client``'s global registry. ``prometheus_client`` loads with the first
scrape, so neither a machine nor ``--help`` imports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from ._metrics import ACTION_BUCKETS, RUN_BUCKETS, WAIT_BUCKETS, Histogram, Labels

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from ._metrics import MetricsSnapshot
    from ._monitor import Monitor

#: The text exposition format every Prometheus reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: name, help, label names, snapshot field (gauges and counters).
_GAUGES: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    (
        "statemachine_machines",
        "Machine instances by config, state and status (running, stale, dead, finished).",
        ("config", "state", "status"),
        "machines",
    ),
    ("statemachine_jobs", "Jobs in the store by type and status.", ("job_type", "status"), "jobs"),
    (
        "statemachine_consumers",
        "Live machines whose config claims jobs of the type.",
        ("job_type",),
        "consumers",
    ),
    (
        "statemachine_inbox_pending",
        "Events waiting in a machine's inbox that it may take now.",
        ("machine",),
        "inbox_pending",
    ),
)
_COUNTERS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    (
        "statemachine_transitions",
        "Transitions made, by the machine's config, states and event.",
        ("config", "from_state", "to_state", "event"),
        "transitions",
    ),
    (
        "statemachine_action_failures",
        "Action runs that failed, by config and action type.",
        ("config", "action"),
        "action_failures",
    ),
    (
        "statemachine_events_dropped",
        "Events dropped from a machine's inbox (kept in the store).",
        ("machine",),
        "events_dropped",
    ),
)
_HISTOGRAMS = (
    (
        "statemachine_job_wait_seconds",
        "Seconds from a job being due (created, or its retry's time) to its claim.",
        ("job_type",),
        "job_waits",
        WAIT_BUCKETS,
    ),
    (
        "statemachine_job_run_seconds",
        "Seconds from a job's claim to the end of that attempt, by outcome.",
        ("job_type", "outcome"),
        "job_runs",
        RUN_BUCKETS,
    ),
    (
        "statemachine_action_seconds",
        "Seconds an action run took, by config and action type.",
        ("config", "action"),
        "actions",
        ACTION_BUCKETS,
    ),
)


class SnapshotCollector:
    """A ``prometheus_client`` collector (``registry.Collector``, a protocol) yielding
    one snapshot's metric families."""

    def __init__(self, snapshot: MetricsSnapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        for name, text, labels, attribute in _GAUGES:
            gauge = GaugeMetricFamily(name, text, labels=labels)
            for key, value in _sorted(getattr(self.snapshot, attribute)):
                gauge.add_metric(key, value)
            yield gauge
        for name, text, labels, attribute in _COUNTERS:
            counter = CounterMetricFamily(name, text, labels=labels)
            for key, value in _sorted(getattr(self.snapshot, attribute)):
                counter.add_metric(key, value)
            yield counter
        for name, text, labels, attribute, bounds in _HISTOGRAMS:
            histogram = HistogramMetricFamily(name, text, labels=labels)
            histograms: dict[Labels, Histogram] = getattr(self.snapshot, attribute)
            for key, found in _sorted(histograms):
                histogram.add_metric(list(key), found.cumulative(bounds), found.total)
            yield histogram


def _sorted(values: Any) -> Iterable[tuple[Labels, Any]]:
    return sorted(values.items())


def render(snapshot: MetricsSnapshot) -> bytes:
    """One snapshot in the text format."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    return generate_latest(registry)


async def metrics(request: Request) -> Response:
    """``GET /metrics``: the store's metrics (read at most once a second)."""
    monitor: Monitor = request.app.state.monitor
    snapshot = await monitor.metrics.snapshot()
    return Response(render(snapshot), media_type=None, headers={"content-type": CONTENT_TYPE})
