"""What ``/metrics`` reports, read from the store (docs/observability.md).

Gauges are what the store holds now; counters and histograms add up the store's
histories (state history, job history, the realtime log) read incrementally after the
last id counted, so machines on every host count and a server that starts again counts
the same history again (a counter resets only where history was purged). On
PostgreSQL ids of concurrent transactions may commit out of order, so those reads stop
at a head an earlier read saw at least :data:`POSTGRES_SETTLE_SECONDS` before (the
counters lag by one scrape interval; the first read waits that long instead).
Reads are cached for :data:`CACHE_SECONDS`: scrapes in a burst cost one read.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..database._metrics import BUCKET_COUNT
from ..database._names import is_local, liveness_of
from ._machines import RUNNING, shown_status

if TYPE_CHECKING:
    from ..config.model import MachineConfig
    from ..database.store import OperatorStore

#: Scrapes within this many seconds of a read answer from it.
CACHE_SECONDS = 1.0
#: How far behind the newest history id the PostgreSQL reads stop (see the docstring).
POSTGRES_SETTLE_SECONDS = 2.0
#: Bucket bounds (seconds) of each histogram; each has :data:`BUCKET_COUNT`.
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
RUN_BUCKETS = (0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 14400.0)
ACTION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0)
#: Longest label value kept (machine and action names come from configs and machines).
MAX_LABEL = 200
#: The label a job type gets from a machine that claims any type, when no job exists.
ANY_JOB_TYPE = "*"
#: Actions that claim jobs: ``check_database_queue`` names its type (none: any type);
#: ``claim_job`` claims by id, of the types its config's ``get_pending_jobs`` lists.
_QUEUE_CHECK = "check_database_queue"
_CLAIM_BY_ID = "claim_job"
_LISTING = "get_pending_jobs"
#: A job history row that ended an attempt as ``pending`` gave the job back.
_RUN_OUTCOMES = {"pending": "returned"}

Labels = tuple[str, ...]
ConfigLookup = Callable[[str], "MachineConfig | None"]


def label(value: Any) -> str:
    """A label value: text, at most :data:`MAX_LABEL` characters (None: empty)."""
    return "" if value is None else str(value)[:MAX_LABEL]


def config_label(config_path: str | None, config_name: str | None) -> str:
    """A machine's config as the UI names it: its file's stem (else its name)."""
    return label(Path(config_path).stem if config_path else config_name)


@dataclass
class Histogram:
    """Counts per bucket (the last: above every bound) and the sum of the values."""

    counts: list[int] = field(default_factory=lambda: [0] * (BUCKET_COUNT + 1))
    total: float = 0.0

    def add(self, bucket: int, count: int, total: float) -> None:
        self.counts[min(max(int(bucket), 0), BUCKET_COUNT)] += int(count)
        self.total += float(total or 0.0)

    def cumulative(self, bounds: Iterable[float]) -> list[tuple[str, int]]:
        """``(le, count)`` pairs as Prometheus wants them, ending with ``+Inf``."""
        running, pairs = 0, []
        for bound, count in zip([*map(str, bounds), "+Inf"], self.counts, strict=True):
            running += count
            pairs.append((bound, running))
        return pairs


@dataclass
class MetricsSnapshot:
    """Every value ``/metrics`` shows, by metric then label values."""

    machines: Counter[Labels] = field(default_factory=Counter)
    jobs: Counter[Labels] = field(default_factory=Counter)
    consumers: Counter[Labels] = field(default_factory=Counter)
    inbox_pending: Counter[Labels] = field(default_factory=Counter)
    events_dropped: Counter[Labels] = field(default_factory=Counter)
    transitions: Counter[Labels] = field(default_factory=Counter)
    job_waits: dict[Labels, Histogram] = field(default_factory=dict)
    job_runs: dict[Labels, Histogram] = field(default_factory=dict)
    actions: dict[Labels, Histogram] = field(default_factory=dict)
    action_failures: Counter[Labels] = field(default_factory=Counter)
    #: The newest id of each history the counters have counted (see ``metric_heads``).
    heads: dict[str, int] = field(default_factory=dict)


def claimed_types(config: MachineConfig) -> set[str | None]:
    """The job types a config's actions claim (None: any type)."""
    specs = [spec for specs in config.actions.values() for spec in specs]
    types: set[str | None] = set()
    listed = {_job_type(spec.options) for spec in specs if spec.type == _LISTING}
    for spec in specs:
        if spec.type == _QUEUE_CHECK:
            types.add(_job_type(spec.options))
        elif spec.type == _CLAIM_BY_ID:
            types |= listed or {None}
    return types


def _job_type(options: Mapping[str, Any]) -> str | None:
    value = options.get("job_type")
    if isinstance(value, str) and value and "{" not in value:
        return value
    return None  # any type, or one interpolated at run time


#: The metric's own name for a running machine, as docs/observability.md gives it (the UI
#: and CLI say "running"): alerts written on ``status="live"`` keep working.
METRIC_STATUS = {RUNNING: "live"}


def gauges(
    rows: Mapping[str, list[dict[str, Any]]], configs: ConfigLookup, into: MetricsSnapshot
) -> None:
    """Fill the gauges of ``into`` from the store's gauge rows (``metric_gauges``);
    ``configs`` reads a machine's config file, for the job types it claims."""
    any_type = 0
    configs = functools.cache(configs)  # a config file is read once per scrape
    for row in rows["metric_machines"]:
        status = shown_status(
            liveness_of(
                row["status"],
                row["pid"],
                row["host"],
                silent=bool(row["stale"] if is_local(row["host"]) else row["remote_dead"]),
            )
        )
        count = int(row["n"])
        into.machines[
            config_label(row["config_path"], row["config_name"]),
            label(row["current_state"]),
            METRIC_STATUS.get(status, status),
        ] += count
        config = configs(row["config_path"]) if status == RUNNING and row["config_path"] else None
        claims = claimed_types(config) if config else set()
        if None in claims:  # counts once for every type, whatever else it names
            any_type += count
            continue
        for job_type in claims:
            into.consumers[(label(job_type),)] += count
    for row in rows["metric_jobs"]:
        into.jobs[label(row["job_type"]), label(row["status"])] += int(row["n"])
    if any_type:
        known = {job_type for job_type, _ in into.jobs} | {key[0] for key in into.consumers}
        for job_type in known or {ANY_JOB_TYPE}:
            into.consumers[(job_type,)] += any_type
    for job_type, _ in into.jobs:  # a type nothing claims shows 0, for alerts
        into.consumers.setdefault((job_type,), 0)
    for name, target in (
        ("metric_inbox_pending", into.inbox_pending),
        ("metric_events_dropped", into.events_dropped),
    ):
        for row in rows[name]:
            target[(label(row["target_machine"]),)] += int(row["n"])


class StoreMetrics:
    """The metrics of one store, read at most once a :data:`CACHE_SECONDS`.

    Args:
        store: the store to read.
        configs: reads a config file (the monitor's catalog), for consumers.
        settle_seconds: how long a history head must have been seen before the reads
            go up to it (default: :data:`POSTGRES_SETTLE_SECONDS` on PostgreSQL, else 0).
    """

    def __init__(
        self,
        store: OperatorStore,
        configs: ConfigLookup,
        *,
        settle_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._configs = configs
        if settle_seconds is None:
            postgres = store.location.startswith(("postgresql:", "postgres:"))
            settle_seconds = POSTGRES_SETTLE_SECONDS if postgres else 0.0
        self._settle = settle_seconds
        self._clock = clock
        self._lock = asyncio.Lock()
        self._heads_seen: deque[tuple[float, dict[str, int]]] = deque()
        self._counted = {"transitions": 0, "jobs": 0, "realtime": 0}
        self._read_once = False
        self._history = MetricsSnapshot()
        self._latest: MetricsSnapshot | None = None
        self._read_at = 0.0

    async def snapshot(self) -> MetricsSnapshot:
        """The metrics as of at most :data:`CACHE_SECONDS` ago."""
        async with self._lock:
            if self._latest is None or self._clock() - self._read_at >= CACHE_SECONDS:
                self._latest = await self._read()
                self._read_at = self._clock()  # a second from the read's end
            return self._latest

    async def _read(self) -> MetricsSnapshot:
        await self._count_history(await self._settled_heads())
        snapshot = MetricsSnapshot(
            transitions=self._history.transitions,
            job_waits=self._history.job_waits,
            job_runs=self._history.job_runs,
            actions=self._history.actions,
            action_failures=self._history.action_failures,
            heads=dict(self._counted),
        )
        gauges(await self._store.metric_gauges(), self._configs, snapshot)
        return snapshot

    async def _settled_heads(self) -> dict[str, int]:
        """The heads to read up to: the newest now (SQLite), else the newest seen
        :attr:`_settle` seconds ago or more (at the first read: waiting that long, so a
        new server's first counters are its full totals, never a fall to zero)."""
        heads = await self._store.metric_heads()
        if self._settle <= 0:
            return heads
        if not self._read_once:
            self._read_once = True
            await asyncio.sleep(self._settle)
            return heads
        now = self._clock()
        self._heads_seen.append((now, heads))
        settled = dict(self._counted)
        while self._heads_seen and now - self._heads_seen[0][0] >= self._settle:
            settled = self._heads_seen.popleft()[1]
        return settled

    async def _count_history(self, upto: dict[str, int]) -> None:
        history, store = self._history, self._store

        async def rows(name: str, head: str, bounds: Iterable[float] = ()) -> list[dict[str, Any]]:
            after = self._counted[head]
            if upto[head] <= after:
                return []
            return await store.metric_history(
                name, after_id=after, upto_id=upto[head], bounds=tuple(bounds)
            )

        for row in await rows("metric_transitions", "transitions"):
            config = config_label(row["config_path"], row["config_name"])
            moved = (config, label(row["from_state"]), label(row["to_state"]), label(row["event"]))
            history.transitions[moved] += int(row["n"])
        for row in await rows("metric_job_waits", "jobs", WAIT_BUCKETS):
            _histogram(history.job_waits, (label(row["job_type"]),)).add(
                row["bucket"], row["n"], row["total"]
            )
        for row in await rows("metric_job_runs", "jobs", RUN_BUCKETS):
            outcome = _RUN_OUTCOMES.get(row["outcome"], label(row["outcome"]))
            _histogram(history.job_runs, (label(row["job_type"]), outcome)).add(
                row["bucket"], row["n"], row["total"]
            )
        for row in await rows("metric_actions", "realtime", ACTION_BUCKETS):
            key = (config_label(row["config_path"], row["config_name"]), label(row["action"]))
            _histogram(history.actions, key).add(row["bucket"], row["n"], row["total"])
            if row["failed"]:
                history.action_failures[key] += int(row["n"])
        for head in self._counted:
            self._counted[head] = max(self._counted[head], upto[head])


def _histogram(histograms: dict[Labels, Histogram], key: Labels) -> Histogram:
    found = histograms.get(key)
    if found is None:
        found = histograms[key] = Histogram()
    return found
