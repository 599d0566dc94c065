"""The charts' time series (monitoring/_series.py): samples from metrics snapshots in
bounded rings, counts from counters, back-filled slots, and the answer of /api/series."""

from __future__ import annotations

from collections import Counter

import pytest

from statemachine_engine.monitoring._metrics import Histogram, MetricsSnapshot
from statemachine_engine.monitoring._series import (
    COUNTERS,
    Reading,
    SeriesBook,
    Slot,
    answer,
    reading_of,
    slots_from_rows,
)


def runs(**outcomes: int) -> dict[tuple[str, ...], Histogram]:
    found = {}
    for outcome, n in outcomes.items():
        histogram = Histogram()
        histogram.add(2, n, 1.0)
        found[("render", outcome)] = histogram
    return found


def reading(
    transitions: float = 0, completed: float = 0, failed: float = 0, **gauges: float
) -> Reading:
    counters = {"transitions": transitions, "completed": completed, "failed": failed}
    queues = {("render", part): n for part, n in gauges.items()}
    return Reading(counters, queues, {})


def test_a_reading_adds_counters_and_takes_gauges_from_a_snapshot() -> None:
    snapshot = MetricsSnapshot(
        transitions=Counter({("w", "a", "b", "go"): 3, ("w", "b", "a", "back"): 2}),
        job_runs=runs(completed=4, failed=1, dead=2, cancelled=5, returned=1),
        jobs=Counter({("render", "pending"): 15, ("render", "completed"): 9,
                      ("old", "completed"): 3}),
        consumers=Counter({("render",): 0, ("old",): 0, ("upload",): 2}),
        machines=Counter({("crawler", "fetch", "running"): 5, ("crawler", "fetch", "dead"): 1,
                          ("crawler", "done", "finished"): 40, ("worker", "idle", "stale"): 1}),
    )  # fmt: skip
    found = reading_of(snapshot)
    assert found.counters == {"transitions": 5, "completed": 4, "failed": 3}
    # "old" has only finished jobs and no consumer: no series.
    assert found.queues == {
        ("render", "pending"): 15, ("render", "processing"): 0, ("render", "consumers"): 0,
        ("upload", "pending"): 0, ("upload", "processing"): 0, ("upload", "consumers"): 2,
    }  # fmt: skip
    assert found.states == {("crawler", "fetch"): 6, ("worker", "idle"): 1}


def test_counts_are_what_each_counter_made_since_the_sample_before() -> None:
    book = SeriesBook(10)
    book.start(100.0, reading(transitions=50, completed=3))
    book.record(110.0, reading(transitions=70, completed=5, failed=1))
    book.record(130.0, reading(transitions=70, completed=5, failed=1))
    book.record(140.0, reading(transitions=4, completed=5, failed=1))  # history purged
    got = answer(book, interval=10.0)
    assert got["times"] == [100.0, 110.0, 130.0, 140.0]
    assert got["events_per_second"] == [None, 2.0, 0.0, 0.4]
    # Per whole minute: each sample in the minute its middle falls in (105 s; 120 and 135 s).
    assert got["jobs_per_minute"] == {"minutes": [60.0, 120.0], "completed": [2.0, 0.0],
                                      "failed": [1.0, 0.0]}  # fmt: skip
    assert got["totals"] == {"transitions": 24, "completed": 2, "failed": 1}
    assert got["backfilled"] is False


def test_rings_keep_the_last_samples_and_a_since_cuts_the_answer() -> None:
    book = SeriesBook(3)
    book.start(0.0, reading(pending=1))
    for at in (10.0, 20.0, 30.0, 40.0):
        book.record(at, reading(transitions=at, pending=at))
    got = answer(book, interval=10.0)
    assert got["times"] == [20.0, 30.0, 40.0]
    assert got["queues"]["render"]["pending"] == [20.0, 30.0, 40.0]
    assert got["window"] == 30.0
    assert answer(book, interval=10.0, since=25.0)["times"] == [30.0, 40.0]
    assert answer(book, interval=10.0, since=99.0)["events_per_second"] == []


def test_a_series_that_appears_later_is_padded_and_one_gone_for_the_window_is_dropped() -> None:
    book = SeriesBook(3)
    book.start(0.0, reading())
    book.record(10.0, reading(pending=4))
    assert answer(book, interval=10.0)["queues"]["render"]["pending"] == [None, 4.0]
    for at in (20.0, 30.0):
        book.record(at, reading())
    assert answer(book, interval=10.0)["queues"]["render"]["pending"] == [4.0, 0.0, 0.0]
    book.record(40.0, reading())
    assert answer(book, interval=10.0)["queues"] == {}


def test_series_per_family_are_bounded_and_the_rest_counted() -> None:
    book = SeriesBook(5, max_keys=3)
    book.start(
        0.0, Reading(dict.fromkeys(COUNTERS, 0.0), {}, {("c", f"s{i}"): 1 for i in range(5)})
    )
    assert len(book.states.rings) == 3
    assert answer(book, interval=1.0)["dropped_series"] == 2


def test_instances_per_state_of_the_config_asked_for_else_the_biggest() -> None:
    book = SeriesBook(5)
    states = {("crawler", "fetch"): 150.0, ("crawler", "parse"): 50.0, ("worker", "idle"): 3.0}
    book.start(0.0, Reading(dict.fromkeys(COUNTERS, 0.0), {}, states))
    got = answer(book, interval=10.0)
    assert (got["config"], got["configs"]) == ("crawler", ["crawler", "worker"])
    assert got["states"] == {"fetch": [150.0], "parse": [50.0]}
    assert answer(book, interval=10.0, config="worker")["states"] == {"idle": [3.0]}
    assert answer(book, interval=10.0, config="none")["states"] == {}


def test_slots_from_rows_cover_the_window_with_zeros_between() -> None:
    slots = slots_from_rows(
        [{"slot": 10, "n": 30}, {"slot": 12, "n": 5}],
        [{"slot": 12, "outcome": "completed", "n": 2}, {"slot": 12, "outcome": "dead", "n": 1},
         {"slot": 12, "outcome": "failed", "n": 1}],
        since=105.0, until=123.0, slot_seconds=10.0,
    )  # fmt: skip
    assert [(s.end, s.span) for s in slots] == [(110.0, 5.0), (120.0, 10.0), (123.0, 3.0)]
    assert slots[0].counts["transitions"] == 30
    assert slots[1].counts == {"transitions": 0, "completed": 0, "failed": 0}
    assert slots[2].counts == {"transitions": 5, "completed": 2, "failed": 2}


def test_a_back_filled_book_ends_with_the_first_reading() -> None:
    book = SeriesBook(10)
    history = [Slot(110.0, 10.0, {"transitions": 20, "completed": 1, "failed": 0}),
               Slot(115.0, 5.0, {"transitions": 5, "completed": 0, "failed": 1})]  # fmt: skip
    book.start(115.0, reading(transitions=500, completed=9, failed=4, pending=15), history)
    book.record(125.0, reading(transitions=510, completed=9, failed=4, pending=15))
    got = answer(book, interval=10.0)
    assert got["backfilled"] is True
    assert got["times"] == [110.0, 115.0, 125.0]
    assert got["events_per_second"] == [2.0, 1.0, 1.0]
    assert got["jobs_per_minute"] == {"minutes": [60.0, 120.0], "completed": [1.0, 0.0],
                                      "failed": [1.0, 0.0]}  # fmt: skip
    assert got["totals"] == {"transitions": 35, "completed": 1, "failed": 1}
    # Gauges have no history: unknown before the first reading.
    assert got["queues"]["render"]["pending"] == [None, 15.0, 15.0]


def test_a_book_keeps_a_bounded_number_of_samples() -> None:
    with pytest.raises(ValueError, match="1 to 2160"):
        SeriesBook(2161)
