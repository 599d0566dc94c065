"""A worker whose connections are cut (``pg_terminate_backend``) mid-job loses nothing.

The worker's connections carry ``application_name = statemachine-engine[<pid>]``, so
the test cuts exactly that process's backends: the store's and the LISTEN one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from statemachine_engine.database._postgres import PostgresStore
from statemachine_engine.database.models.job import JobStatus
from tests.support.fifo import Fifo
from tests.support.files import write
from tests.support.postgres import terminate_backends
from tests.support.processes import moved

from .conftest import Host

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses FIFOs")

# Each job tells the test it started, then waits for the test's go.
WORKER = """
    name: Gated worker
    initial_state: waiting
    transitions:
      - {from: waiting, to: processing, event: new_job}
      - {from: waiting, to: waiting, event: no_jobs}
      - {from: processing, to: waiting, event: job_done}
      - {from: "*", to: stopped, event: stop}
    actions:
      waiting:
        - {type: check_database_queue, job_type: task, wait: 30}
      processing:
        - type: bash
          command: "echo {job_id} > STARTED; read go < GATE"
          timeout: 30
          success: gate_opened  # no transition: complete_job runs next
        - {type: complete_job, success: job_done}
    """
JOBS = 3


async def test_cut_connections_mid_job_lose_nothing(
    tmp_path: Path, hosts: Callable[[str], Host], store: PostgresStore
) -> None:
    started, gate = Fifo(tmp_path / "started"), Fifo(tmp_path / "gate")
    try:
        config = write(
            tmp_path / "worker.yaml",
            WORKER.replace("STARTED", str(started)).replace("GATE", str(gate)),
        )
        for n in range(JOBS):
            await store.add_job("task", {"n": n}, job_id=f"job-{n}")
        worker = hosts("a").run(config, "--machine-name", "gated")
        name = f"statemachine-engine[{worker.pid}]"

        first = await started.wait_line()
        assert terminate_backends(name) >= 1  # mid-job: its connections are gone
        gate.write("go")
        worker.expect("lost the connection to PostgreSQL")
        for _ in range(JOBS - 1):
            await started.wait_line()
            gate.write("go")
        done = moved("gated", "processing", "job_done", "waiting")
        for _ in range(JOBS):
            worker.expect(done, timeout=30.0)

        jobs = await store.list_jobs(limit=None)
        assert sorted(job.job_id for job in jobs) == [f"job-{n}" for n in range(JOBS)]
        assert first in {job.job_id for job in jobs}
        for job in jobs:
            assert (job.status, job.attempts) == (JobStatus.COMPLETED, 1)
            history = [h["status"] for h in await store.job_history(job.job_id)]
            assert history == ["pending", "processing", "completed"]

        # Cut again while it waits for work: the stop it is sent meanwhile still reaches it.
        assert terminate_backends(name) >= 1
        await store.send_event("gated", "stop", source="test")
        assert worker.wait(30.0) == 0
        record = await store.load_machine("gated")
        assert record is not None
        assert record.current_state == "stopped"
    finally:
        started.close()
        gate.close()
