"""A helper process for the contract suite, run as ``python _store_worker.py COMMAND ...``.

Each command first prints ``ready`` and waits for a line on stdin, so that the test can
start several processes at the same moment.

``open LOCATION NAME``
    open the store (creating and migrating a fresh database), count the jobs, print ``ok``.
``drain LOCATION JOB_TYPE NAME``
    claim and complete jobs as worker NAME until none is left; print ``done <job_id>`` for
    each completed job and ``lost <job_id>`` for one the store refused to complete.
``drain-batches LOCATION JOB_TYPE NAME``
    the same, claiming up to 8 jobs at a time (``claim_jobs``), as a worker that claims
    ahead does.
"""

from __future__ import annotations

import asyncio
import sys

from statemachine_engine.database import open_store


def _wait_for_go() -> None:
    print("ready", flush=True)
    sys.stdin.readline()


async def _open(location: str) -> None:
    _wait_for_go()
    store = open_store(location)
    try:
        counts = await store.job_counts()
        print("ok", sum(counts.values()))
    finally:
        await store.close()


async def _drain(location: str, job_type: str, worker: str, batch: int = 1) -> None:
    store = open_store(location)
    try:
        _wait_for_go()
        lines = []
        while jobs := await store.claim_jobs(job_type, worker, limit=batch):
            for job in jobs:
                done = await store.complete_job(job.job_id, worker=worker)
                lines.append(f"{'done' if done else 'lost'} {job.job_id}")
        print("\n".join(lines))
    finally:
        await store.close()


def main(argv: list[str]) -> None:
    command, location, *rest = argv
    if command == "open":
        asyncio.run(_open(location))
    elif command in ("drain", "drain-batches"):
        job_type, worker = rest
        asyncio.run(_drain(location, job_type, worker, 8 if command == "drain-batches" else 1))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
