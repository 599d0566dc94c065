"""What the UI's charts (``GET /api/series``) cost on a big store and at their bounds.

(a) The back-fill a ``statemachine-ui`` runs once at its start: the hour before it of a
    store holding 24 h of history, 2,000,000 transitions and 400,000 job history rows
    (200,000 attempts; the rows are written with SQL for speed, as a day of machines
    would have left them): the seconds each of the two slotted reads takes.
(b) The series at their bound: 300 job-type series and 300 state series, an hour of
    10 s samples (360): the time to take a sample, to answer ``/api/series`` (one
    config's states), the answer's size, and the memory the book holds.

    python bench/series.py [--transitions N]

Bars (issue 19, part 6, no figure in DESIGN.md): a back-fill under 1 s, so a server
starts showing its charts at once; an answer under 100 ms at the bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
import tracemalloc
from pathlib import Path

from _report import figure, header, median_ms
from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.monitoring._series import COUNTERS, Reading, SeriesBook, answer

DAY = 86400.0
HOUR = 3600.0


def seed(path: Path, transitions: int, attempts: int, now: float) -> None:
    db = sqlite3.connect(path)
    db.executemany(
        "INSERT INTO state_history (machine_name, from_state, to_state, event, at) "
        "VALUES (?, 'a', 'b', 'go', ?)",
        ((f"m{i % 200}", now - DAY + i * DAY / transitions) for i in range(transitions)),
    )
    rows = []
    for j in range(attempts):
        at = now - DAY + j * DAY / attempts
        rows += [(f"j{j}", "processing", at), (f"j{j}", "completed" if j % 7 else "failed", at)]
    db.executemany(
        "INSERT INTO job_history (job_id, status, attempt, at) VALUES (?, ?, 1, ?)", rows
    )
    db.commit()
    db.close()


async def backfill(transitions: int, attempts: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.db"
        store = SqliteStore(path)
        await store.metric_heads()  # the schema
        now = time.time()
        await store.close()
        seed(path, transitions, attempts, now)
        store = SqliteStore(path)
        try:
            heads = await store.metric_heads()
            for name, head in (("series_transitions", "transitions"), ("series_job_ends", "jobs")):
                began = time.perf_counter()
                await store.metric_slots(
                    name, since=now - HOUR, slot_seconds=10.0, upto_id=heads[head]
                )
                took = time.perf_counter() - began
                figure(f"(a) back-fill {name}", took, "s", bar="< 1 s", ok=took < 1.0, digits=3)
        finally:
            await store.close()


def filled() -> tuple[SeriesBook, list[float]]:
    """A book at the bound, and how long each sample took."""
    book = SeriesBook(360)
    took = []
    parts = ("pending", "processing", "consumers")
    for i in range(360):
        queues = {(f"type{k}", part): float(k + i % 3) for k in range(100) for part in parts}
        states = {(f"config{k % 10}", f"state{k}"): float(1 + i % 5) for k in range(300)}
        reading = Reading({name: i * 10.0 for name in COUNTERS}, queues, states)
        began = time.perf_counter()
        book.record(i * 10.0, reading)
        took.append(time.perf_counter() - began)
    return book, took


def bound() -> None:
    book, took = filled()
    began = time.perf_counter()
    answered = answer(book, interval=10.0)
    answer_ms = (time.perf_counter() - began) * 1000
    figure("(b) a sample, 600 series", median_ms(took), "ms (median)", digits=2)
    figure("(b) /api/series answer, 600 series", answer_ms, "ms", bar="< 100 ms",
           ok=answer_ms < 100)  # fmt: skip
    figure("(b) answer size", len(json.dumps(answered)) / 1000, "kB (before gzip)")
    tracemalloc.start()
    kept = filled()
    memory = tracemalloc.get_traced_memory()[0]
    del kept
    tracemalloc.stop()
    figure("(b) memory of the book", memory / 1e6, "MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transitions", type=int, default=2_000_000)
    parser.add_argument("--attempts", type=int, default=200_000)
    args = parser.parse_args()
    header("the charts' series")
    asyncio.run(backfill(args.transitions, args.attempts))
    bound()


if __name__ == "__main__":
    main()
