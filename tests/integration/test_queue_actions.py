"""The queue actions through a real engine on a real SQLite file.

Each test builds a durable machine from YAML text (``StateMachineEngine(...,
store=SqliteStore(path))``) and awaits what it does: its state changes (an observer) or
the debug record an action writes just before it starts to wait. Nothing sleeps.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import AsyncIterator

import pytest

from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.database.models.job import JobStatus
from tests.support.engines import Machines, finish
from tests.support.files import statuses
from tests.support.pids import exited_pid
from tests.support.recorder import LogWatcher


@pytest.fixture
async def machines(store: SqliteStore) -> AsyncIterator[Machines]:
    """Durable engines on the test's store (named ``m`` unless a test names them)."""
    async with Machines(store=store, machine_name="m") as factory:
        yield factory


# -- check_database_queue ----------------------------------------------------------------

CLAIMER = """
    initial_state: waiting
    transitions:
      - {from: waiting, to: working, event: new_job}
      - {from: waiting, to: idle, event: no_jobs}
    actions:
      waiting:
        - {type: check_database_queue, job_type: task, wait: 0.2}
      working:
        - {type: log, message: "working on {file} as job {job_id} in {current_state}"}
    """


async def test_check_database_queue_claims_a_job_into_the_context(
    store: SqliteStore, machines: Machines
) -> None:
    data = {"file": "a.txt", "size": 3, "machine_name": "intruder", "current_state": "nowhere"}
    await store.add_job("task", data, job_id="j1")

    engine, recorder, _ = machines.start(CLAIMER, machine_name="claimer")
    await recorder.until(lambda: len(recorder.messages) >= 1)

    context = engine.context
    assert recorder.states == ["waiting", "working"]
    assert context["current_job"]["job_id"] == "j1"
    assert context["current_job"]["job_type"] == "task"
    assert context["current_job"]["data"] == data
    assert context["job_id"] == context["id"] == "j1"
    # The job's data is readable at the top level but never replaces the engine's keys.
    assert context["file"] == "a.txt"
    assert context["size"] == 3
    assert context["machine_name"] == "claimer"
    assert context["current_state"] == "working"
    assert recorder.messages == ["working on a.txt as job j1 in working"]

    job = await store.get_job("j1")
    assert job is not None
    assert job.status == JobStatus.PROCESSING
    assert job.lease_owner == engine.worker_id
    assert job.attempts == 1


async def test_check_database_queue_filters_by_job_type_and_machine_type(
    store: SqliteStore, machines: Machines
) -> None:
    await store.add_job("other", {}, job_id="o1")
    await store.add_job("task", {}, job_id="gpu1", machine_type="gpu")
    await store.add_job("task", {}, job_id="cpu1", machine_type="cpu")

    cpu, cpu_recorder, _ = machines.start(
        CLAIMER.replace("job_type: task", "job_type: task, machine_type: cpu"), machine_name="cpu"
    )
    await cpu_recorder.entered("working")
    assert cpu.context["job_id"] == "cpu1"

    other, other_recorder, _ = machines.start(
        CLAIMER.replace("job_type: task", "job_type: other"), machine_name="other"
    )
    await other_recorder.entered("working")
    assert other.context["job_id"] == "o1"

    gpu_job = await store.get_job("gpu1")
    assert gpu_job is not None
    assert gpu_job.status == JobStatus.PENDING  # no machine of its type asked


async def test_check_database_queue_returns_no_jobs_after_its_wait(
    store: SqliteStore, machines: Machines
) -> None:
    await store.add_job("other", {}, job_id="o1")  # not ours: the queue is empty for us

    _, recorder, _ = machines.start(CLAIMER)
    await recorder.entered("idle")

    waited = recorder.entered_at("idle") - recorder.entered_at("waiting")
    assert 0.19 <= waited < 2.0
    assert recorder.changes[-1] == ("waiting", "idle", "no_jobs")


async def test_a_job_added_while_the_check_waits_wakes_it_at_once(
    store: SqliteStore, machines: Machines, log_watcher: LogWatcher
) -> None:
    engine, recorder, _ = machines.start(CLAIMER.replace("wait: 0.2", "wait: 30"))
    await log_watcher.until("queue_wait")  # it found nothing and now waits (up to 30 s)

    added = time.monotonic()
    await store.add_job("task", {"file": "late.txt"}, job_id="late")
    await recorder.entered("working", timeout=5.0)

    assert recorder.entered_at("working") - added < 1.0
    assert engine.context["job_id"] == "late"
    assert log_watcher.count("queue_wait") == 1  # woken by the add, not by a re-check


async def test_a_delayed_job_is_taken_when_it_ripens(
    store: SqliteStore, machines: Machines
) -> None:
    await store.add_job("task", {}, job_id="later", delay=0.3)
    started = time.monotonic()
    engine, recorder, _ = machines.start(CLAIMER.replace("wait: 0.2", "wait: 30"))
    await recorder.entered("working")
    assert 0.25 <= time.monotonic() - started < 3.0
    assert engine.context["job_id"] == "later"


# -- implicit completion ---------------------------------------------------------------------

LOOPER = """
    initial_state: waiting
    transitions:
      - {from: waiting, to: processing, event: new_job}
      - {from: waiting, to: idle, event: no_jobs}
      - {from: processing, to: waiting, event: processed}
    actions:
      waiting:
        - {type: check_database_queue, job_type: task, wait: 0.2}
      processing:
        - {type: log, message: "job {job_id}", success: processed}
    """


async def test_a_job_never_completed_is_completed_at_the_next_check(
    store: SqliteStore, machines: Machines
) -> None:
    for job_id in ("j1", "j2"):
        await store.add_job("task", {}, job_id=job_id)

    engine, recorder, _ = machines.start(LOOPER)
    await recorder.entered("idle")

    assert recorder.messages == ["job j1", "job j2"]
    for job_id in ("j1", "j2"):
        job = await store.get_job(job_id)
        assert job is not None
        assert job.status == JobStatus.COMPLETED
        history = await store.job_history(job_id)
        assert statuses(history) == [("pending", 0), ("processing", 1), ("completed", 1)]
        assert history[-1]["worker"] == engine.worker_id


async def test_a_job_s_data_keys_do_not_leak_into_the_next_job(
    store: SqliteStore, machines: Machines
) -> None:
    await store.add_job("task", {"file": "a.txt", "kept": 1}, job_id="j1")
    await store.add_job("task", {}, job_id="j2")

    engine, recorder, _ = machines.start(LOOPER.replace('"job {job_id}"', '"{job_id}: {file}"'))
    await recorder.entered("idle")

    assert recorder.messages == ["j1: a.txt", "j2: {file}"]  # unknown placeholders stay
    assert "kept" not in engine.context


async def test_a_held_job_is_completed_when_the_machine_ends_in_a_terminal_state(
    store: SqliteStore, machines: Machines
) -> None:
    await store.add_job("task", {}, job_id="j1")
    text = """
        initial_state: waiting
        transitions:
          - {from: waiting, to: completed, event: new_job}
        actions:
          waiting:
            - {type: check_database_queue, job_type: task, wait: 0.2}
        """
    engine, _, task = machines.start(text)
    assert await finish(task) == "completed"
    assert engine.finish_reason == "final"
    job = await store.get_job("j1")
    assert job is not None
    assert job.status == JobStatus.COMPLETED


# -- complete_job / fail_job ------------------------------------------------------------------


async def test_complete_job_completes_with_a_result_and_refuses_a_second_time(
    store: SqliteStore, machines: Machines
) -> None:
    await store.add_job("task", {"n": 7}, job_id="j1")
    text = """
        initial_state: waiting
        transitions:
          - {from: waiting, to: processing, event: new_job}
          - {from: processing, to: again, event: done}
          - {from: again, to: refused, event: not_processing}
        actions:
          waiting:
            - {type: check_database_queue, job_type: task, wait: 0.2}
          processing:
            - {type: complete_job, result: {doubled: "{n}"}, success: done}
          again:
            - {type: complete_job, error: not_processing}
        """
    engine, recorder, _ = machines.start(text)
    await recorder.entered("refused")

    job = await store.get_job("j1")
    assert job is not None
    assert job.status == JobStatus.COMPLETED
    assert job.result == {"doubled": 7}
    assert "not being processed" in engine.context["last_error"]


async def test_fail_job_retries_with_backoff_then_the_job_is_dead(
    store: SqliteStore, machines: Machines
) -> None:
    await store.add_job("task", {}, job_id="j1", max_attempts=2)
    text = """
        initial_state: waiting
        transitions:
          - {from: waiting, to: processing, event: new_job}
          - {from: waiting, to: waiting, event: no_jobs}
          - {from: processing, to: waiting, event: job_failed}
        actions:
          waiting:
            - {type: check_database_queue, job_type: task, wait: 30}
          processing:
            - {type: set_context, key: last_error, value: "boom {current_job.attempts}"}
            - {type: fail_job}
        """
    _, recorder, _ = machines.start(text)
    await recorder.entered("processing")
    failures = ("processing", "waiting", "job_failed")
    await recorder.until(lambda: recorder.changes.count(failures) == 1)
    failed = await store.get_job("j1")
    assert failed is not None
    assert failed.status == JobStatus.FAILED
    assert failed.error == "boom 1"
    backoff = failed.run_after - time.time()
    assert 0.0 < backoff <= 2.0  # 2 s * 2^0, with jitter

    # The waiting worker wakes when the backoff ends (not after its 30 s wait).
    await recorder.until(lambda: recorder.changes.count(failures) == 2, timeout=8.0)
    dead = await store.get_job("j1")
    assert dead is not None
    assert dead.status == JobStatus.DEAD
    assert dead.error == "boom 2"
    assert statuses(await store.job_history("j1")) == [
        ("pending", 0),
        ("processing", 1),
        ("failed", 1),
        ("processing", 2),
        ("dead", 2),
    ]


async def test_fail_job_without_retry_is_dead_at_once(
    store: SqliteStore, machines: Machines
) -> None:
    await store.add_job("task", {}, job_id="j1", max_attempts=5)
    text = """
        initial_state: waiting
        transitions:
          - {from: waiting, to: processing, event: new_job}
          - {from: processing, to: gave_up, event: failed_for_good}
        actions:
          waiting:
            - {type: check_database_queue, job_type: task, wait: 0.2}
          processing:
            - {type: fail_job, reason: "unusable input", retry: false, success: failed_for_good}
        """
    _, recorder, _ = machines.start(text)
    await recorder.entered("gave_up")
    job = await store.get_job("j1")
    assert job is not None
    assert (job.status, job.error, job.attempts) == (JobStatus.DEAD, "unusable input", 1)


# -- claim_job --------------------------------------------------------------------------------

CLAIM_BY_ID = """
    initial_state: claiming
    transitions:
      - {from: claiming, to: got_it, event: claimed}
      - {from: claiming, to: too_late, event: taken}
      - {from: claiming, to: broken, event: error}
    actions:
      claiming:
        - {type: claim_job, job_id: "{wanted}", already_claimed: taken}
    """


async def test_claim_job_claims_by_id_and_reports_already_claimed(
    store: SqliteStore, machines: Machines
) -> None:
    for job_id in ("j1", "j2"):
        await store.add_job("task", {"which": job_id}, job_id=job_id)

    first, first_recorder, _ = machines.start(
        CLAIM_BY_ID, machine_name="first", initial_context={"wanted": "j2"}
    )
    await first_recorder.entered("got_it")
    assert first.context["job_id"] == "j2"
    assert first.context["current_job"]["data"] == {"which": "j2"}
    j2 = await store.get_job("j2")
    assert j2 is not None
    assert (j2.status, j2.lease_owner) == (JobStatus.PROCESSING, first.worker_id)
    j1 = await store.get_job("j1")
    assert j1 is not None
    assert j1.status == JobStatus.PENDING

    _, second_recorder, _ = machines.start(
        CLAIM_BY_ID, machine_name="second", initial_context={"wanted": "j2"}
    )
    await second_recorder.entered("too_late")

    # No `wanted` in its context:
    _, third_recorder, _ = machines.start(CLAIM_BY_ID, machine_name="third")
    await third_recorder.entered("broken")


# -- get_pending_jobs ----------------------------------------------------------------------------

PENDING = """
    initial_state: looking
    transitions:
      - {from: looking, to: found, event: jobs_found}
      - {from: looking, to: none, event: nothing_waiting}
    actions:
      looking:
        - {type: get_pending_jobs, job_type: task, limit: 2, store_as: queue,
           empty: nothing_waiting}
    """


async def test_get_pending_jobs_lists_the_next_jobs_without_claiming(
    store: SqliteStore, machines: Machines
) -> None:
    for job_id in ("t1", "t2", "t3"):
        await store.add_job("task", {"id": job_id}, job_id=job_id)
    await store.add_job("other", {}, job_id="o1")
    await store.add_job("task", {}, job_id="urgent", priority=5)

    engine, recorder, _ = machines.start(PENDING)
    await recorder.entered("found")

    queue = engine.context["queue"]
    assert [job["job_id"] for job in queue] == ["urgent", "t1"]  # claim order, limit 2
    assert queue[1]["data"] == {"id": "t1"}
    assert queue[1]["job_type"] == "task"
    counts = await store.job_counts()
    assert counts[JobStatus.PENDING] == 5
    assert counts[JobStatus.PROCESSING] == 0


async def test_get_pending_jobs_on_an_empty_queue(store: SqliteStore, machines: Machines) -> None:
    await store.add_job("other", {}, job_id="o1")
    engine, recorder, _ = machines.start(PENDING)
    await recorder.entered("none")
    assert engine.context["queue"] == []


# -- wait_for_jobs --------------------------------------------------------------------------------

WAITER = """
    initial_state: watching
    transitions:
      - {from: watching, to: all_done, event: all_jobs_complete}
      - {from: watching, to: gave_up, event: too_slow}
      - {from: watching, to: nothing, event: no_jobs_tracked}
    actions:
      watching:
        - {type: wait_for_jobs, tracked_jobs_key: batch, wait: 30, timeout: 60,
           timeout_event: too_slow}
    """


async def _finish_job(store: SqliteStore, job_id: str, *, fail: bool = False) -> None:
    job = await store.claim_job_by_id(job_id, "tester")
    assert job is not None
    if fail:
        await store.fail_job(job_id, "no", worker="tester", retry=False)
    else:
        assert await store.complete_job(job_id, worker="tester")


async def test_wait_for_jobs_when_all_have_finished(store: SqliteStore, machines: Machines) -> None:
    for job_id in ("a", "b"):
        await store.add_job("task", {}, job_id=job_id)
    await _finish_job(store, "a")
    await _finish_job(store, "b", fail=True)

    engine, recorder, _ = machines.start(WAITER, initial_context={"batch": ["a", "b"]})
    await recorder.entered("all_done")
    assert engine.context["completed_jobs"] == ["a"]
    assert engine.context["failed_jobs"] == ["b"]
    assert engine.context["pending_jobs"] == []


async def test_wait_for_jobs_is_woken_when_a_tracked_job_finishes(
    store: SqliteStore, machines: Machines, log_watcher: LogWatcher
) -> None:
    for job_id in ("a", "b"):
        await store.add_job("task", {}, job_id=job_id)
    await _finish_job(store, "a")

    engine, recorder, _ = machines.start(WAITER, initial_context={"batch": ["a", "b"]})
    await log_watcher.until("jobs_wait")
    assert engine.context["pending_jobs"] == ["b"]

    finished = time.monotonic()
    await _finish_job(store, "b")
    await recorder.entered("all_done")
    assert recorder.entered_at("all_done") - finished < 1.0
    assert engine.context["completed_jobs"] == ["a", "b"]


async def test_wait_for_jobs_gives_up_after_its_timeout(
    store: SqliteStore, machines: Machines
) -> None:
    await store.add_job("task", {}, job_id="slow")
    engine, recorder, _ = machines.start(
        WAITER.replace("timeout: 60", "timeout: 0.3"), initial_context={"batch": ["slow"]}
    )
    await recorder.entered("gave_up")
    waited = recorder.entered_at("gave_up") - recorder.entered_at("watching")
    assert 0.25 <= waited < 3.0
    assert engine.context["pending_jobs"] == ["slow"]


async def test_wait_for_jobs_with_nothing_tracked(store: SqliteStore, machines: Machines) -> None:
    _, recorder, _ = machines.start(WAITER, initial_context={"batch": []})
    await recorder.entered("nothing")


# -- check_machine_state ------------------------------------------------------------------------

CHECKER = """
    initial_state: checking
    transitions:
      - {from: checking, to: is_running, event: running}
      - {from: checking, to: is_down, event: not_running}
      - {from: checking, to: elsewhere, event: wrong_state}
    actions:
      checking:
        - {type: check_machine_state, target_machine: "{target}", expected_state: "{expected}",
           store_as: seen}
    """

IDLER = """
    initial_state: resting
    transitions:
      - {from: resting, to: stopped, event: stop}
    """


@pytest.mark.parametrize(
    ("target", "expected", "outcome", "seen"),
    [
        pytest.param("idler", "resting", "is_running", "resting", id="running"),
        pytest.param("idler", "busy", "elsewhere", "resting", id="wrong-state"),
        pytest.param("ghost", "resting", "is_down", None, id="unknown-machine"),
        pytest.param("crashed", "resting", "is_down", "resting", id="dead-process"),
    ],
)
async def test_check_machine_state(
    store: SqliteStore,
    machines: Machines,
    target: str,
    expected: str,
    outcome: str,
    seen: str | None,
) -> None:
    _, idler, _ = machines.start(IDLER, machine_name="idler")
    await idler.entered("resting")
    # A machine whose record says running but whose process is gone.
    await store.register_machine(
        "crashed", config_name="x", config_path=None, pid=exited_pid(), host=socket.gethostname()
    )
    await store.save_transition(
        "crashed", from_state=None, to_state="resting", event="start", context={}, timers=[]
    )

    checker, recorder, _ = machines.start(
        CHECKER, machine_name="checker", initial_context={"target": target, "expected": expected}
    )
    await recorder.entered(outcome)
    assert checker.context["seen"] == seen


async def test_check_machine_state_sees_a_machine_that_stopped(
    store: SqliteStore, machines: Machines
) -> None:
    idler_engine, idler, idler_task = machines.start(IDLER, machine_name="idler")
    await idler.entered("resting")
    idler_engine.request_stop()
    await finish(idler_task)

    _, recorder, _ = machines.start(
        CHECKER, machine_name="checker", initial_context={"target": "idler", "expected": "resting"}
    )
    await recorder.entered("is_down")


# -- clear_events ------------------------------------------------------------------------------

CLEARER = """
    initial_state: clearing
    transitions:
      - {from: clearing, to: cleared, event: events_cleared}
      - {from: clearing, to: nothing, event: no_events_to_clear}
    actions:
      clearing:
        - {type: clear_events, target_machine: sleeper, event_types: [poke, prod]}
    """


async def test_clear_events_drops_waiting_events_of_the_given_types(
    store: SqliteStore, machines: Machines
) -> None:
    poke = await store.send_event("sleeper", "poke", {"n": 1})
    prod = await store.send_event("sleeper", "prod")
    keep = await store.send_event("sleeper", "wake_up")
    mine = await store.send_event("clearer", "poke")

    engine, recorder, _ = machines.start(CLEARER, machine_name="clearer")
    await recorder.entered("cleared")
    assert engine.context["cleared_events"] == 2

    events = {event.id: event.status for event in await store.list_events(target="sleeper")}
    assert events == {poke: "dropped", prod: "dropped", keep: "pending"}
    left = await store.list_events(target="clearer")
    assert [(event.id, event.status) for event in left] == [(mine, "dropped")]  # unhandled


async def test_clear_events_with_nothing_to_clear(store: SqliteStore, machines: Machines) -> None:
    await store.send_event("sleeper", "wake_up")
    engine, recorder, _ = machines.start(CLEARER, machine_name="clearer")
    await recorder.entered("nothing")
    assert engine.context["cleared_events"] == 0


async def test_empty_checks_in_a_row_back_off_until_a_job_comes(
    store: SqliteStore, machines: Machines, log_watcher: LogWatcher
) -> None:
    _, recorder, _ = machines.start(
        """
        initial_state: waiting
        transitions:
          - {from: waiting, to: waiting, event: no_jobs}
          - {from: waiting, to: working, event: new_job}
          - {from: working, to: waiting, event: continue}
        actions:
          waiting:
            - {type: check_database_queue, job_type: task, wait: 0.02, max_wait: 0.08}
          working:
            - {type: log, message: "got {job_id}"}
        """
    )
    await log_watcher.until("queue_wait", count=5)
    waits = [record.args[1] for record in log_watcher.actions("queue_wait")]  # type: ignore[index]
    # 0.02, 0.04, 0.08, then capped at 0.08 (each a little less: time has passed).
    assert [round(w, 2) for w in waits[:5]] == pytest.approx(
        [0.02, 0.04, 0.08, 0.08, 0.08], abs=0.011
    )
    await store.add_job("task", {}, job_id="j1")
    await recorder.until(lambda: "got j1" in recorder.messages)
    job = await store.get_job("j1")
    assert job is not None
    assert job.started_at is not None
    claimed_at = job.started_at

    def after_claim() -> list[logging.LogRecord]:
        return [r for r in log_watcher.actions("queue_wait") if r.created > claimed_at]

    # A job resets the backoff: the next empty check waits the first `wait` again.
    while not after_claim():
        await log_watcher.until("queue_wait", count=log_watcher.count("queue_wait") + 1)
    assert after_claim()[0].args[1] == pytest.approx(0.02, abs=0.011)  # type: ignore[index]


async def test_job_and_error_events_reach_the_observers(
    store: SqliteStore, machines: Machines
) -> None:
    await store.add_job("task", {}, job_id="j1")
    engine, recorder = await machines.run(
        """
        initial_state: waiting
        final: [failed]
        transitions:
          - {from: waiting, to: working, event: new_job}
          - {from: working, to: failed, event: error}
        actions:
          waiting:
            - {type: check_database_queue, job_type: task, wait: 0.2}
          working:
            - {type: complete_job}
            - {type: set_context, key: machine_name, value: nope}
        """,
        store=store,
    )
    assert engine.state == "failed"
    others = [(kind, payload) for kind, payload in recorder.others if kind != "action_finished"]
    assert [kind for kind, _ in others] == ["job_started", "job_completed", "error"]
    assert others[0][1] == {"job_id": "j1", "job_type": "task", "attempt": 1}
    assert others[1][1] == {"job_id": "j1"}
    # Each action run ends with its duration and outcome (what /metrics counts).
    finished = [payload for kind, payload in recorder.others if kind == "action_finished"]
    assert [(p["action"], p["state"], p["failed"]) for p in finished] == [
        ("check_database_queue", "waiting", False),
        ("complete_job", "working", False),
        ("set_context", "working", True),
    ]
    assert all(p["seconds"] >= 0 for p in finished)
    error = others[2][1]
    assert error["action"] == "set_context"
    assert error["state"] == "working"
    assert "machine_name" in str(error["message"])
