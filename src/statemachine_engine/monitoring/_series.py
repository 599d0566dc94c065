"""The charts' time series (``GET /api/series``, docs/ui.md): pure, no I/O.

A :class:`SeriesBook` keeps one sample per interval for a bounded window, each series in
a ring of the same length as the sample times. A sample is a :class:`Reading` of a
``/metrics`` snapshot: counters (transitions made, job attempts completed and failed)
become the count made since the sample before, gauges (jobs per type pending and
processing, live consumers per type, instances per state of each config) are taken as
they are. History back-fills the counts of the window before the first sample
(:func:`slots_from_rows`); gauges have no history and start empty.

Label sets are bounded: each family keeps at most :data:`MAX_KEYS` series, a series that
has been absent or zero for the whole window goes, and one more than the bound is
counted in :attr:`SeriesBook.dropped` instead of kept.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from ._metrics import MetricsSnapshot

#: Seconds between two samples.
SAMPLE_SECONDS = 10.0
#: Seconds of samples kept.
WINDOW_SECONDS = 3600.0
#: The longest window kept (6 h at the default interval): memory stays bounded.
MAX_SAMPLES = 2160
#: Series kept per family (job types x 3, configs x states).
MAX_KEYS = 300
#: The counters, as :class:`Reading` names them.
TRANSITIONS, COMPLETED, FAILED = "transitions", "completed", "failed"
COUNTERS = (TRANSITIONS, COMPLETED, FAILED)
#: Job attempt outcomes (``statemachine_job_run_seconds``) each counter adds up.
_OUTCOMES = {"completed": COMPLETED, "failed": FAILED, "dead": FAILED}
#: What the queue chart shows per job type.
QUEUE_PARTS = ("pending", "processing", "consumers")
#: Instances in these statuses are not counted per state (they ended).
_ENDED = {"finished"}
#: Decimals of the rates answered.
_DECIMALS = 3

Key = tuple[str, str]
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Reading:
    """What one sample takes from a metrics snapshot.

    Attributes:
        counters: totals so far, by :data:`COUNTERS` name.
        queues: ``(job_type, part)`` -> count, ``part`` one of :data:`QUEUE_PARTS`.
        states: ``(config, state)`` -> instances not finished.
    """

    counters: Mapping[str, float]
    queues: Mapping[Key, float] = field(default_factory=dict)
    states: Mapping[Key, float] = field(default_factory=dict)


def reading_of(snapshot: MetricsSnapshot) -> Reading:
    """The sample a ``/metrics`` snapshot gives."""
    counters = dict.fromkeys(COUNTERS, 0.0)
    counters[TRANSITIONS] = float(sum(snapshot.transitions.values()))
    for (_, outcome), histogram in snapshot.job_runs.items():
        name = _OUTCOMES.get(outcome)
        if name is not None:
            counters[name] += sum(histogram.counts)
    queues: dict[Key, float] = {}
    types = {job_type for job_type, _ in snapshot.jobs} | {key[0] for key in snapshot.consumers}
    for job_type in types:
        parts = {
            "pending": snapshot.jobs.get((job_type, "pending"), 0),
            "processing": snapshot.jobs.get((job_type, "processing"), 0),
            "consumers": snapshot.consumers.get((job_type,), 0),
        }
        if any(parts.values()):  # a type with only finished jobs and no consumer: left out
            queues.update({(job_type, part): float(n) for part, n in parts.items()})
    states: dict[Key, float] = {}
    for (config, state, status), count in snapshot.machines.items():
        if status not in _ENDED and count:
            states[config, state] = states.get((config, state), 0.0) + count
    return Reading(counters, queues, states)


@dataclass(frozen=True)
class Slot:
    """Counts of a span of time (a back-filled sample): it ends at ``end`` and covers
    ``span`` seconds."""

    end: float
    span: float
    counts: Mapping[str, float]


def slots_from_rows(
    transitions: Iterable[Mapping[str, Any]],
    job_ends: Iterable[Mapping[str, Any]],
    *,
    since: float,
    until: float,
    slot_seconds: float,
) -> list[Slot]:
    """The back-fill's samples from the store's slotted rows (``series_transitions``,
    ``series_job_ends``): one per slot from the one holding ``since`` to the one holding
    ``until``, each cut to ``[since, until]`` (slots without rows count 0)."""
    counts: dict[int, dict[str, float]] = {}
    for row in transitions:
        slot = counts.setdefault(int(row["slot"]), dict.fromkeys(COUNTERS, 0.0))
        slot[TRANSITIONS] += int(row["n"])
    for row in job_ends:
        name = _OUTCOMES.get(row["outcome"])
        if name is not None:
            slot = counts.setdefault(int(row["slot"]), dict.fromkeys(COUNTERS, 0.0))
            slot[name] += int(row["n"])
    slots = []
    for number in range(math.floor(since / slot_seconds), math.floor(until / slot_seconds) + 1):
        start = max(number * slot_seconds, since)
        end = min((number + 1) * slot_seconds, until)
        if end > start:
            slots.append(Slot(end, end - start, counts.get(number, dict.fromkeys(COUNTERS, 0.0))))
    return slots


class _Family(Generic[K]):
    """Series of one kind, each a ring as long as the book's times."""

    def __init__(self, capacity: int, max_keys: int, *, prune: bool = True) -> None:
        self.capacity = capacity
        self.max_keys = max_keys
        self.prune = prune
        self.rings: dict[K, deque[float | None]] = {}
        self.dropped: set[K] = set()

    def add(self, length_before: int, values: Mapping[K, float] | None) -> None:
        """Append one sample (None: not known in it; a key absent from a known one: 0)."""
        for key, ring in self.rings.items():
            ring.append(None if values is None else float(values.get(key, 0.0)))
        for key, value in (values or {}).items():
            if key in self.rings:
                continue
            if len(self.rings) >= self.max_keys:
                self.dropped.add(key)
                continue
            ring = deque([None] * min(length_before, self.capacity), maxlen=self.capacity)
            ring.append(float(value))
            self.rings[key] = ring
        gone = [
            key
            for key, ring in self.rings.items()
            if self.prune and (values is None or key not in values) and not any(ring)
        ]
        for key in gone:  # absent or 0 the whole window: nothing to draw
            del self.rings[key]


class SeriesBook:
    """The samples of the last ``capacity`` intervals.

    Args:
        capacity: samples kept (at most :data:`MAX_SAMPLES`).
        max_keys: series kept per family.
    """

    def __init__(self, capacity: int, *, max_keys: int = MAX_KEYS) -> None:
        if not 1 <= capacity <= MAX_SAMPLES:
            raise ValueError(f"a series keeps 1 to {MAX_SAMPLES} samples, not {capacity}")
        self.capacity = capacity
        self.times: deque[float] = deque(maxlen=capacity)
        self.spans: deque[float | None] = deque(maxlen=capacity)
        self.counts: _Family[str] = _Family(capacity, len(COUNTERS), prune=False)  # 0 is a rate too
        self.queues: _Family[Key] = _Family(capacity, max_keys)
        self.states: _Family[Key] = _Family(capacity, max_keys)
        self.backfilled = False
        self._last: tuple[float, Mapping[str, float]] | None = None

    @property
    def dropped(self) -> int:
        """Series not kept: their family had :data:`MAX_KEYS` already."""
        return len(self.queues.dropped) + len(self.states.dropped)

    def start(self, at: float, reading: Reading, history: Iterable[Slot] = ()) -> None:
        """The first sample, after the back-filled ones (``history``, oldest first, the
        last ending at ``at`` when it holds the counts up to this reading)."""
        slots = [slot for slot in history if slot.end <= at]
        for slot in slots[:-1]:
            self._append(slot.end, slot.span, slot.counts, None)
        last = slots[-1] if slots else None
        if last is not None and last.end == at:
            self._append(at, last.span, last.counts, reading)
        else:
            if last is not None:
                self._append(last.end, last.span, last.counts, None)
            self._append(at, None, None, reading)
        self.backfilled = bool(slots)
        self._last = (at, dict(reading.counters))

    def record(self, at: float, reading: Reading) -> None:
        """A sample: the counts since the one before (a counter that went down, as when
        history was purged, counts what it has now), the gauges as they are."""
        if self._last is None:
            self.start(at, reading)
            return
        before, totals = self._last
        if at <= before:
            return  # a clock step back: the next sample spans the gap
        counts = {}
        for name, total in reading.counters.items():
            made = total - totals.get(name, 0.0)
            counts[name] = made if made >= 0 else total
        self._append(at, at - before, counts, reading)
        self._last = (at, dict(reading.counters))

    def _append(
        self,
        at: float,
        span: float | None,
        counts: Mapping[str, float] | None,
        reading: Reading | None,
    ) -> None:
        length = len(self.times)
        self.times.append(at)
        self.spans.append(span)
        self.counts.add(length, counts)
        self.queues.add(length, None if reading is None else reading.queues)
        self.states.add(length, None if reading is None else reading.states)


def answer(
    book: SeriesBook,
    *,
    interval: float,
    since: float | None = None,
    config: str | None = None,
) -> dict[str, Any]:
    """The JSON ``/api/series`` answers: the samples from ``since`` (None: all kept),
    rates per sample, totals, each job type's queue beside its consumers, and the
    instances per state of ``config`` (None: the config with most instances now)."""
    first = next((i for i, at in enumerate(book.times) if since is None or at >= since), None)
    start = len(book.times) if first is None else first

    def cut(ring: Iterable[float | None]) -> list[float | None]:
        return list(ring)[start:]

    def counted(ring: Iterable[float | None]) -> list[float | None]:
        """A gauge's values, whole numbers as such (shorter JSON)."""
        return [v if v is None or not v.is_integer() else int(v) for v in cut(ring)]

    spans = cut(book.spans)
    times = list(book.times)[start:]

    def rate(name: str, per: float) -> list[float | None]:
        ring = book.counts.rings.get(name)
        made = cut(ring) if ring is not None else [None] * len(spans)
        return [
            None if n is None or not span else round(n * per / span, _DECIMALS)
            for n, span in zip(made, spans, strict=True)
        ]

    def total(name: str) -> int:
        ring = book.counts.rings.get(name)
        return int(sum(n for n in cut(ring) if n)) if ring is not None else 0

    queues: dict[str, dict[str, list[float | None]]] = {}
    for key, ring in sorted(book.queues.rings.items(), key=lambda item: str(item[0])):
        job_type, part = key
        parts = queues.setdefault(job_type, {p: [0.0] * len(spans) for p in QUEUE_PARTS})
        parts[part] = counted(ring)
    now_by_config: dict[str, float] = {}
    for key, ring in book.states.rings.items():
        name, _ = key
        now_by_config[name] = now_by_config.get(name, 0.0) + (ring[-1] or 0.0)
    configs = sorted(now_by_config, key=lambda name: (-now_by_config[name], name))
    chosen = config if config is not None else (configs[0] if configs else None)
    states = {
        state: counted(ring)
        for (name, state), ring in sorted(book.states.rings.items())
        if name == chosen
    }
    return {
        "interval": interval,
        "window": book.capacity * interval,
        "times": times,
        "backfilled": book.backfilled,
        "events_per_second": rate(TRANSITIONS, 1.0),
        "jobs_per_minute": per_minute(
            times,
            spans,
            {name: cut(book.counts.rings.get(name, ())) for name in (COMPLETED, FAILED)},
        ),
        "totals": {name: total(name) for name in COUNTERS},
        "queues": queues,
        "configs": sorted(configs),
        "config": chosen,
        "states": states,
        "dropped_series": book.dropped,
    }


def per_minute(
    times: list[float], spans: list[float | None], counts: Mapping[str, list[float | None]]
) -> dict[str, list[float]]:
    """Counts per whole minute (``minutes``: each one's start, epoch seconds): a sample
    counts in the minute its middle falls in; minutes no known sample falls in are left
    out."""
    totals: dict[int, dict[str, float]] = {}
    for index, (end, span) in enumerate(zip(times, spans, strict=True)):
        known = {name: values[index] for name, values in counts.items() if index < len(values)}
        if span is None or any(value is None for value in known.values()):
            continue
        minute = totals.setdefault(math.floor((end - span / 2) / 60), dict.fromkeys(counts, 0.0))
        for name, value in known.items():
            minute[name] += value or 0.0
    minutes = sorted(totals)
    return {
        "minutes": [minute * 60.0 for minute in minutes],
        **{name: [totals[minute][name] for minute in minutes] for name in counts},
    }
