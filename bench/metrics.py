"""What a Prometheus scrape of ``statemachine-ui``'s ``/metrics`` costs on a big store.

The store is seeded through its own API (no machine processes, for speed): 10,000
machine instances of four configs, each registered and moved once (a row of state
history each), and 100,000 jobs of five types, of which 60,000 were claimed, 50,000
completed and 10,000 failed for good. Then a real ``statemachine-ui`` serves it and the
bench times ``GET /metrics``:

- cold: the first scrape of a server just started (the caches are empty and every
  history row is read and counted once; on PostgreSQL it first waits the 2 s the
  history reads settle for, see monitoring/_metrics.py);
- steady: a scrape after the one-second cache has expired (the gauges read again, the
  histories read after the last row counted: nothing new here);
- cached: a scrape within the second (answered from the last read).

    python bench/metrics.py [--instances N] [--jobs N] [--db PATH | URL]

No bar in DESIGN.md; issue 18 asks for the figures. With ``--db postgresql://...`` the
store is a fresh schema of that database.
"""

from __future__ import annotations

import os
import sys

# bench/queue.py is named like the standard library's `queue`, which psycopg imports:
# keep the bench directory behind the standard library on the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]
sys.path.append(_HERE)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402

from _report import figure, header, median_ms  # noqa: E402
from _stores import bench_database  # noqa: E402
from statemachine_engine.database._new_jobs import NewJob  # noqa: E402
from statemachine_engine.database.store import OperatorStore  # noqa: E402
from statemachine_engine.monitoring._metrics import POSTGRES_SETTLE_SECONDS  # noqa: E402

UI = [sys.executable, "-m", "statemachine_engine.ui.cli"]
CONFIGS = ("ingest", "render", "transcribe", "publish")
STATES = ("waiting", "processing", "uploading", "done")
JOB_TYPES = ("render", "transcribe", "thumbnail", "upload", "notify")
BATCH = 1000
#: Each config's file: a worker claiming jobs of its own type (so consumers are counted).
CONFIG = """
name: {name}
initial_state: waiting
transitions:
  - {{from: waiting, to: processing, event: new_job}}
  - {{from: waiting, to: waiting, event: no_jobs}}
  - {{from: processing, to: uploading, event: job_done}}
  - {{from: uploading, to: done, event: uploaded}}
  - {{from: done, to: waiting, event: again}}
actions:
  waiting:
    - {{type: check_database_queue, job_type: {name}}}
"""


async def seed(store: OperatorStore, instances: int, jobs: int, workdir: Path) -> None:
    """Machines, their state history and jobs in every status, through the store's API."""
    # Instances of 100 processes on 10 other hosts (their liveness: their heartbeats).
    for config in CONFIGS:
        (workdir / f"{config}.yaml").write_text(CONFIG.format(name=config))
    for n in range(instances):
        config = CONFIGS[n % len(CONFIGS)]
        name = f"{config}_{n:05d}"
        await store.register_machine(
            name,
            config_name=config,
            config_path=str(workdir / f"{config}.yaml"),
            pid=1000 + n % 100,
            host=f"bench-host-{n % 10}",
        )
        state = STATES[n % len(STATES)]
        await store.save_transition(
            name, from_state=None, to_state=state, event="start", context={}, timers=()
        )
    for start in range(0, jobs, BATCH):
        await store.add_jobs(
            [
                NewJob(JOB_TYPES[n % len(JOB_TYPES)], {"n": n}, f"job-{n:06d}")
                for n in range(start, min(start + BATCH, jobs))
            ]
        )
    claimed = jobs * 6 // 10
    failed_from = jobs // 2
    for job_type in JOB_TYPES:
        taken = await store.claim_jobs(job_type, "bench", limit=claimed // len(JOB_TYPES))
        for job in taken:
            index = int(job.job_id.split("-")[1])
            if index < failed_from:
                await store.complete_job(job.job_id, worker="bench")
            else:
                await store.fail_job(job.job_id, "bench failure", worker="bench", retry=False)


def scrape_seconds(client: httpx.Client) -> float:
    start = time.perf_counter()
    response = client.get("/metrics")
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.text
    return elapsed


def serve(location: str, workdir: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [*UI, "--port", "0", "--db", location, "--no-websocket"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"serving (http://\S+?)/? ", line)
        if found:
            return process, found.group(1)
    raise SystemExit(f"statemachine-ui did not start (exit {process.wait()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5, help="scrapes timed per figure")
    parser.add_argument("--db", help="a PostgreSQL URL (default: a SQLite file)")
    args = parser.parse_args()
    header(f"/metrics scrape: {args.instances:,} instances, {args.jobs:,} jobs")
    with tempfile.TemporaryDirectory() as tmp, bench_database(args.db, Path(tmp) / "m.db") as db:
        workdir = Path(tmp)
        store = db.open()
        start = time.perf_counter()

        async def seeded() -> None:
            try:
                await seed(store, args.instances, args.jobs, workdir)  # type: ignore[arg-type]
            finally:
                await store.close()

        asyncio.run(seeded())
        figure("seeding the store (not part of a scrape)", time.perf_counter() - start, "s")
        firsts, steadies, cached = [], [], []
        for _ in range(args.runs):
            process, url = serve(db.location, workdir)
            try:
                with httpx.Client(base_url=url, timeout=120) as client:
                    firsts.append(scrape_seconds(client))
                    cached.append(scrape_seconds(client))
                    time.sleep(1.1)  # past the cache's second
                    steadies.append(scrape_seconds(client))
            finally:
                process.terminate()
                process.wait(30)
        kind = db.kind
        figure(f"{kind}: cold scrape (counts all history), median", median_ms(firsts), "ms")
        if kind == "postgres":
            reading = median_ms(firsts) - POSTGRES_SETTLE_SECONDS * 1000
            figure(f"{kind}:   of which reading (not the settle wait)", reading, "ms")
        figure(f"{kind}: steady scrape (cache expired), median", median_ms(steadies), "ms")
        figure(f"{kind}: cached scrape (within 1 s), median", median_ms(cached), "ms")


if __name__ == "__main__":
    main()
