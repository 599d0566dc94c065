"""Machines on two "hosts" that share nothing but the database URL.

Each host has its own working and socket directories, so no Unix socket joins them:
events, wake-ups and the realtime stream all travel through PostgreSQL.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from statemachine_engine.database._postgres import PostgresStore
from statemachine_engine.database.models.job import JobStatus
from tests.support.files import write
from tests.support.processes import console_script, moved, wait_until

from .conftest import Host

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Unix processes")

EVENTS = console_script("statemachine-events")

PLAYER = """
    name: Player
    initial_state: waiting
    transitions:
      - {from: waiting, to: serving, event: ball}
      - {from: serving, to: waiting, event: event_sent}
      - {from: "*", to: stopped, event: stop}
    actions:
      serving:
        - type: send_event
          target_machine: "{event_data.payload.back_to}"
          event_type: ball
          payload: {back_to: "{machine_name}"}
    """

DRAIN = """
    name: Drain worker
    initial_state: waiting
    transitions:
      - {from: waiting, to: processing, event: new_job}
      - {from: waiting, to: waiting, event: no_jobs}
      - {from: processing, to: waiting, event: job_completed}
      - {from: "*", to: stopped, event: stop}
    actions:
      waiting:
        - {type: check_database_queue, job_type: task, wait: 30}
      processing:
        - {type: complete_job, success: job_completed}
    """

RALLY = 20
JOBS = 400


async def test_machines_on_two_hosts_rally_events_and_drain_one_queue(
    tmp_path: Path, hosts: Callable[[str], Host], store: PostgresStore
) -> None:
    assert EVENTS is not None, "statemachine-events is not installed"
    a, b, monitor_host = hosts("a"), hosts("b"), hosts("c")
    monitor = monitor_host.run("--format", "json", argv=EVENTS)
    monitor.expect("following")
    player = write(tmp_path / "player.yaml", PLAYER)
    drain = write(tmp_path / "drain.yaml", DRAIN)

    alice = a.run(player, "--machine-name", "alice")
    bob = b.run(player, "--machine-name", "bob")
    workers = {
        name: host.run(drain, "--machine-name", name)
        for host, name in ((a, "a-w1"), (a, "a-w2"), (b, "b-w1"), (b, "b-w2"))
    }
    for name, worker in workers.items():
        worker.expect(moved(name, None, "start", "waiting"))
    alice.expect(moved("alice", None, "start", "waiting"))
    bob.expect(moved("bob", None, "start", "waiting"))

    # The rally: each ball goes from one host to the other through the database only.
    await store.send_event("alice", "ball", {"back_to": "bob"}, source="test")
    served = [moved(name, "waiting", "ball", "serving") for name in ("alice", "bob")]
    wait_until(
        lambda: alice.count(served[0]) >= RALLY and bob.count(served[1]) >= RALLY,
        timeout=30.0,
        what=f"{RALLY} balls served by each player",
    )

    # One queue, drained by the workers of both hosts, woken by NOTIFY.
    for n in range(JOBS):
        await store.add_job("task", {"n": n}, job_id=f"job-{n:04d}")
    done = {name: moved(name, "processing", "job_completed", "waiting") for name in workers}
    wait_until(
        lambda: sum(worker.count(done[name]) for name, worker in workers.items()) >= JOBS,
        timeout=60.0,
        what=f"{JOBS} jobs completed",
    )
    counts = await store.job_counts()
    assert counts[JobStatus.COMPLETED] == JOBS
    jobs = await store.list_jobs(limit=None)
    assert all(job.attempts == 1 for job in jobs), "a job was claimed twice"
    by_host = {"a": 0, "b": 0}
    for job in jobs:
        claims = [h for h in await store.job_history(job.job_id) if h["status"] == "processing"]
        assert len(claims) == 1
        by_host[claims[0]["worker"][0]] += 1
    assert by_host["a"] > 0, f"host a's workers took no job: {by_host}"
    assert by_host["b"] > 0, f"host b's workers took no job: {by_host}"

    # A third host sees every machine's realtime events.
    def seen(machine: str) -> bool:
        for line in monitor.stdout_lines:
            event = json.loads(line)
            if event["machine_name"] == machine and event["type"] == "state_change":
                return True
        return False

    wait_until(
        lambda: all(seen(name) for name in ("alice", "bob", *workers)),
        timeout=15.0,
        what="state changes of every machine seen by statemachine-events on host c",
    )

    for name in ("alice", "bob", *workers):
        await store.send_event(name, "stop", source="test")
    for process in (alice, bob, *workers.values()):
        assert process.wait(30.0) == 0
    assert not list((a.root / "s").glob("control-bob*")), "bob's socket on host a"
