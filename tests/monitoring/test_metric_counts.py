"""How the server's counters follow the store: each history row counted once, reads
cached for a second, and on PostgreSQL a lag so that rows committed late are not missed
(exercised here on SQLite with the lag set, and a clock the test moves)."""

from __future__ import annotations

from pathlib import Path

from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.monitoring._metrics import CACHE_SECONDS, StoreMetrics


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def move(store: SqliteStore, source: str | None, target: str, event: str) -> None:
    await store.save_transition(
        "m1", from_state=source, to_state=target, event=event, context={}, timers=[]
    )


def started(metrics_transitions: dict[tuple[str, ...], int]) -> int:
    return sum(metrics_transitions.values())


async def test_each_row_counts_once_and_reads_are_cached_for_a_second(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "m.db")
    clock = Clock()
    try:
        metrics = StoreMetrics(store, lambda path: None, clock=clock)
        await move(store, None, "idle", "start")
        first = await metrics.snapshot()
        assert started(first.transitions) == 1
        await move(store, "idle", "busy", "go")
        assert await metrics.snapshot() is first  # within the second: the same read
        clock.now += CACHE_SECONDS
        assert started((await metrics.snapshot()).transitions) == 2
        clock.now += CACHE_SECONDS
        assert started((await metrics.snapshot()).transitions) == 2  # nothing new
    finally:
        await store.close()


async def test_with_a_lag_reads_stop_at_a_head_seen_that_long_before(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "m.db")
    clock = Clock()
    try:
        metrics = StoreMetrics(store, lambda path: None, settle_seconds=0.01, clock=clock)
        await move(store, None, "idle", "start")
        # The first read waits the lag itself: its counters are the full totals at once.
        assert started((await metrics.snapshot()).transitions) == 1
        await move(store, "idle", "busy", "go")
        clock.now += CACHE_SECONDS
        # The newest head was seen just now: not read up to yet.
        assert started((await metrics.snapshot()).transitions) == 1
        clock.now += CACHE_SECONDS
        assert started((await metrics.snapshot()).transitions) == 2
    finally:
        await store.close()
