"""What a claim costs the PostgreSQL server once completed jobs pile up between VACUUMs.

Every job a claim takes leaves a dead entry at the head of the ready index, and one in
the lease index, that only VACUUM removes (autovacuum waits for a fifth of the table to
change by default; it is off on some servers). The bench puts N completed jobs in a
fresh schema as claims and completions leave them (each claimed, its lease long past,
then completed), adds 3,000 ready ones, and times R claims of 8 (``claim_jobs``: the
lease-expiry check, the walk of the ready index, the rows updated and logged): the
server backend's CPU per claim, read from ``/proc`` (the server must run on this host),
with none piled up, with N, and with N after ``VACUUM jobs``. ``--explain`` prints the
plan of one claim with N piled up.

    python bench/pg_claims.py --db postgresql://... [--completed N] [--claims R] [--explain]

No bar: the figures are the cost of the claim's scans, for docs/performance.md.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]
sys.path.append(_HERE)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from _report import figure, header  # noqa: E402
from _stores import BenchDatabase, bench_database, is_postgres  # noqa: E402
from statemachine_engine.database._postgres import PostgresStore  # noqa: E402

BATCH = 8
READY = 3_000
#: Completed jobs as claims and completions leave them: each claimed, its lease long
#: past (so the expiry check reads its entry), then completed.
PILE = """
INSERT INTO jobs (job_id, job_type, status, run_after, created_at, updated_at)
SELECT 'done-' || g, 'bench', 'pending', %(then)s, %(then)s, %(then)s
FROM generate_series(1, %(count)s) AS g;
UPDATE jobs SET status = 'processing', attempts = 1, lease_owner = 'gone',
                lease_expires = %(then)s + 60 WHERE job_id LIKE 'done-%%';
UPDATE jobs SET status = 'completed', lease_owner = NULL, lease_expires = NULL
WHERE job_id LIKE 'done-%%';
"""
READY_JOBS = """
INSERT INTO jobs (job_id, job_type, status, run_after, created_at, updated_at)
SELECT 'ready-' || g, 'bench', 'pending', %(now)s, %(now)s, %(now)s
FROM generate_series(1, %(count)s) AS g
"""


def backend_seconds(pid: int) -> float:
    """User + system CPU of server process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(") ")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def claim_cost(
    url: str, completed: int, claims: int, *, vacuum: bool, explain: bool
) -> float:
    """The server's CPU per claim of :data:`BATCH`, in microseconds."""
    store = PostgresStore(url)
    try:
        run = store.connector.run_sql
        now = time.time()
        for statement in PILE.split(";"):
            if completed and statement.strip():
                await run(statement, {"then": now - 1_000, "count": completed})
        await run(READY_JOBS, {"now": now, "count": READY})
        if vacuum:
            await run("VACUUM jobs")
        if explain:
            await print_plan(store, now)
        pid = int((await run("SELECT pg_backend_pid() AS pid")).rows[0]["pid"])
        before = backend_seconds(pid)
        for _ in range(claims):
            await store.claim_jobs("bench", "bench-worker", limit=BATCH, lease_seconds=60)
        await asyncio.sleep(0.05)  # the last tick's accounting
        return (backend_seconds(pid) - before) / claims * 1e6
    finally:
        await store.close()


async def print_plan(store: PostgresStore, now: float) -> None:
    connector = store.connector
    params = {
        "now": now,
        "worker": "explain",
        "lease": 60.0,
        "job_type": "bench",
        "machine_type": None,
        "ahead": BATCH - 1,
    }
    statement, bound = connector._prepared("claim_jobs", params)
    plan = await connector.run_sql(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {statement}", bound)
    for row in plan.rows:
        print("     ", row["QUERY PLAN"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, metavar="URL", help="a postgresql:// URL")
    parser.add_argument("--completed", type=int, default=100_000)
    parser.add_argument("--claims", type=int, default=300)
    parser.add_argument("--explain", action="store_true", help="print one claim's plan")
    args = parser.parse_args()
    if not is_postgres(args.db):
        parser.error("--db: give a postgresql:// URL (SQLite has no dead index entries)")
    header("claims on PostgreSQL with completed jobs piled up")
    cases = [
        ("none completed", 0, False),
        (f"{args.completed:,} completed", args.completed, False),
        ("the same after VACUUM", args.completed, True),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for label, completed, vacuum in cases:
            db: BenchDatabase
            with bench_database(args.db, Path(tmp) / "unused.db") as db:
                explain = args.explain and completed > 0 and not vacuum
                cost = asyncio.run(
                    claim_cost(db.location, completed, args.claims, vacuum=vacuum, explain=explain)
                )
            figure(f"server CPU a claim of {BATCH}, {label}", cost, "us", digits=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
