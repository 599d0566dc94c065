"""The door actions go through: each verb of the engine's ActionPort on a real SQLite store,
and the engine reading what action classes declare (their traits)."""

from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Any

import pytest

from statemachine_engine.actions.base import ActionRuntime, JobClaim
from statemachine_engine.core._action_port import ActionPort
from statemachine_engine.core._jobs import JobTracker
from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.database.models.job import Job, JobStatus, NewJob
from statemachine_engine.errors import ActionError
from tests.support.engines import Machines, run_to_end
from tests.support.files import write


class Holder:
    """The machine side of a port, as far as these tests use it: a real store, and the
    jobs it adopts and releases written down."""

    def __init__(self, store: SqliteStore, name: str = "holder") -> None:
        self.store = store
        self.machine_name = name
        self.state: str | None = "working"
        self.worker_id = f"{name}@test"
        self.adopted: list[str] = []
        self.jobs = JobTracker(self.worker_id)

    def adopt_job(self, job: Job) -> None:
        self.adopted.append(job.job_id)

    async def claim_next_job(self, claim: JobClaim) -> Job | None:
        job = await self.jobs.claim_next(self.store, claim)
        if job is not None:
            self.adopt_job(job)
        return job

    # The machine's own verbs, which the port hands through (see the test below).
    settings = None
    delivery_mark = 0

    def log_activity(self, message: str, level: str = "info") -> None: ...

    def emit(self, event_type: str, payload: dict[str, Any]) -> None: ...

    def send_event(self, name: str, payload: Any = None, **origin: Any) -> None: ...

    async def record_process_group(self, pgid: int) -> None: ...

    async def wait_for_delivery(self, since: int, timeout: float) -> bool:
        return False

    async def release_job(
        self,
        job_id: str,
        *,
        result: Any = None,
        error: str | None = None,
        retry: bool = True,
        output: Any = None,
    ) -> bool:
        if error is None:
            return await self.store.complete_job(job_id, result=result, worker=self.worker_id)
        failed = await self.store.fail_job(
            job_id, error, worker=self.worker_id, retry=retry, output=output
        )
        return failed is not None


@pytest.fixture
def holder(store: SqliteStore) -> Holder:
    return Holder(store)


def port_of(holder: Holder, starter: Any = None) -> ActionPort:
    return ActionPort(holder, starter)  # type: ignore[arg-type]


def protocol_verbs() -> set[str]:
    """ActionRuntime's verbs, its own and those of the protocols it extends."""
    ours = [cls for cls in ActionRuntime.__mro__ if cls.__module__.startswith("statemachine_")]
    return {name for cls in ours for name in vars(cls) if not name.startswith("_")}


# -- the door is narrow -----------------------------------------------------------------


def test_the_port_offers_exactly_the_verbs_of_the_action_runtime() -> None:
    offered = {name for name in vars(ActionPort) if not name.startswith("_")}
    assert offered == protocol_verbs()
    for name in offered:
        member = getattr(ActionPort, name)
        if inspect.isfunction(member):
            expected = inspect.signature(getattr(ActionRuntime, name))
            assert inspect.signature(member) == expected, name


def test_the_port_hands_the_machines_own_verbs_through(holder: Holder) -> None:
    port = port_of(holder)
    for name in ("log_activity", "emit", "send_event", "record_process_group", "wait_for_delivery"):
        assert getattr(port, name) == getattr(holder, name), name
    assert (port.machine_name, port.state, port.delivery_mark) == ("holder", "working", 0)


async def test_an_engines_actions_get_its_port_not_the_engine(machines: Machines) -> None:
    engine, _ = machines.build(
        """
        initial_state: waiting
        transitions:
          - {from: waiting, to: completed, event: continue}
        actions:
          waiting:
            - {type: log, message: hi}
        """
    )
    port = engine.action_runtime
    assert port.machine_name == engine.machine_name
    for wide in ("store", "host", "context", "config", "worker_id", "adopt_job"):
        assert not hasattr(port, wide), wide
    assert await run_to_end(engine) == "completed"


# -- jobs -----------------------------------------------------------------------------


async def test_add_job_queues_and_says_none_for_an_id_already_queued(
    store: SqliteStore, holder: Holder
) -> None:
    port = port_of(holder)
    job = NewJob("task", {"n": 1}, "once", priority=4, source_job_id="parent")

    added = await port.add_job(job)
    again = await port.add_job(job._replace(data={"n": 2}))

    assert added is not None
    assert (added.job_id, added.data, added.priority, added.source_job_id) == (
        "once",
        {"n": 1},
        4,
        "parent",
    )
    assert again is None
    assert await store.get_job("once") == added
    assert holder.adopted == []  # queued, not claimed


async def test_claims_are_made_for_the_machine_and_adopted(
    store: SqliteStore, holder: Holder
) -> None:
    await store.add_job("task", {"n": 1}, job_id="j1")
    await store.add_job("task", {"n": 2}, job_id="j2")
    await store.add_job("other", job_id="o1")
    port = port_of(holder)

    first = await port.claim_next_job(job_type="task", lease_seconds=5)
    by_id = await port.claim_job("o1")

    assert first is not None
    assert by_id is not None
    assert holder.adopted == [first.job_id, "o1"]
    job = await store.get_job(first.job_id)
    assert job is not None
    assert (job.status, job.lease_owner) == (JobStatus.PROCESSING, holder.worker_id)
    assert (job.lease_expires or 0) - (job.started_at or 0) == pytest.approx(5, abs=0.5)
    assert await port.claim_job("o1") is None  # not ready: it is ours already
    assert await port.claim_next_job(job_type="missing") is None
    assert len(holder.adopted) == 2


async def test_complete_and_fail_release_the_machines_jobs(
    store: SqliteStore, holder: Holder
) -> None:
    for job_id in ("done", "retried", "dead"):
        await store.add_job("task", job_id=job_id)
        await store.claim_job_by_id(job_id, holder.worker_id)
    port = port_of(holder)

    assert await port.complete_job("done", result={"ok": True})
    assert await port.fail_job("retried", "flaky")
    assert await port.fail_job("dead", "broken", retry=False)

    statuses = {job_id: (await store.get_job(job_id)) for job_id in ("done", "retried", "dead")}
    assert {job_id: job.status for job_id, job in statuses.items() if job} == {
        "done": JobStatus.COMPLETED,
        "retried": JobStatus.FAILED,
        "dead": JobStatus.DEAD,
    }
    assert await port.finished_jobs(["done", "retried", "dead", "unknown"]) == {
        "done": True,
        "dead": False,
    }


async def test_cancelled_jobs_are_finished_and_not_done(store: SqliteStore, holder: Holder) -> None:
    await store.add_job("task", job_id="c")
    await store.cancel_job("c")
    assert await port_of(holder).finished_jobs(["c"]) == {"c": False}


async def test_pending_jobs_come_in_claim_order_up_to_the_limit(
    store: SqliteStore, holder: Holder
) -> None:
    await store.add_job("task", job_id="old")
    await store.add_job("task", job_id="urgent", priority=5)
    await store.add_job("task", job_id="new")
    await store.add_job("task", job_id="addressed", machine_type="gpu")
    await store.add_job("other", job_id="else")
    await store.add_job("task", job_id="taken")
    await store.claim_job_by_id("taken", "someone")
    port = port_of(holder)

    jobs = await port.pending_jobs(job_type="task")
    assert [job.job_id for job in jobs] == ["urgent", "old", "new", "addressed"]
    two = await port.pending_jobs(job_type="task", limit=2)
    assert [job.job_id for job in two] == ["urgent", "old"]
    assert await port.pending_jobs(job_type="task", limit=0) == []
    gpu = await port.pending_jobs(machine_type="gpu")
    assert [job.job_id for job in gpu] == ["addressed"]


async def test_the_job_queue_mark_moves_when_a_job_is_added(
    store: SqliteStore, holder: Holder
) -> None:
    port = port_of(holder)
    mark = await port.job_queue_mark()
    assert await port.wait_for_job_queue(mark, 0.01) is False
    await store.add_job("task", job_id="woken")
    assert await port.wait_for_job_queue(mark, 5.0) is True
    assert await port.job_queue_mark() > mark
    assert await port.next_job_ready_at("missing") is None
    ready_at = await port.next_job_ready_at("task")
    assert ready_at is not None
    assert ready_at <= time.time()


# -- events ------------------------------------------------------------------------------


async def test_events_are_delivered_from_the_machine(store: SqliteStore, holder: Holder) -> None:
    await port_of(holder).deliver_event("other", "ping", {"n": 1}, job_id="j9")
    [event] = await store.pending_events("other")
    assert (event.event_type, event.payload, event.source_machine, event.job_id) == (
        "ping",
        {"n": 1},
        "holder",
        "j9",
    )


async def test_take_event_takes_the_oldest_wanted_event_once(
    store: SqliteStore, holder: Holder
) -> None:
    for event_type, n in (("noise", 0), ("task", 1), ("task", 2), ("mail", 3)):
        await store.send_event("inbox", event_type, {"n": n})
    port = port_of(holder)

    first = await port.take_event("inbox", {"task", "mail"})
    second = await port.take_event("inbox", {"task", "mail"})
    third = await port.take_event("inbox", {"task", "mail"})

    assert [e.payload["n"] for e in (first, second, third) if e is not None] == [1, 2, 3]
    assert await port.take_event("inbox", {"task", "mail"}) is None
    assert [e.event_type for e in await store.pending_events("inbox")] == ["noise"]


async def test_drop_events_discards_only_the_given_types(
    store: SqliteStore, holder: Holder
) -> None:
    for event_type in ("task", "noise", "noise", "keep"):
        await store.send_event("inbox", event_type, {})
    port = port_of(holder)

    assert await port.drop_events("inbox", {"noise", "absent"}) == 2
    assert await port.drop_events("inbox", {"noise"}) == 0
    assert [e.event_type for e in await store.pending_events("inbox")] == ["task", "keep"]


# -- other machines ----------------------------------------------------------------------


async def test_machine_record_is_what_the_store_holds(store: SqliteStore, holder: Holder) -> None:
    port = port_of(holder)
    assert await port.machine_record("never_ran") is None
    await store.register_machine("seen", config_name="c", config_path=None, pid=1, host="elsewhere")
    await store.save_transition(
        "seen", from_state=None, to_state="busy", event="start", context={}, timers=()
    )
    record = await port.machine_record("seen")
    assert record is not None
    assert (record.machine_name, record.current_state, record.host) == ("seen", "busy", "elsewhere")


def test_starting_a_machine_here_needs_a_host(holder: Holder) -> None:
    with pytest.raises(ActionError, match="in_process: true needs"):
        port_of(holder).start_machine("child.yaml", machine_name="c", initial_context={})


def test_starting_a_machine_here_goes_to_the_host(holder: Holder) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def starter(config: str, **kwargs: Any) -> None:
        calls.append((config, kwargs))

    port_of(holder, starter).start_machine(
        "child.yaml",
        machine_name="c",
        initial_context={"job_id": "j"},
        actions_dir="acts",
        handed_jobs=[("j", 1, 30.0)],
    )
    assert calls == [
        (
            "child.yaml",
            {
                "machine_name": "c",
                "initial_context": {"job_id": "j"},
                "actions_dir": "acts",
                "handed_jobs": [("j", 1, 30.0)],
            },
        )
    ]


# -- the engine reads the traits of custom actions ---------------------------------------

TAKE_MAIL_ACTION = """
from statemachine_engine.actions import BaseAction


class TakeMailAction(BaseAction):
    default_success = "got_mail"
    other_events = {"empty": "no_mail"}
    writes = frozenset({"mail"})

    @classmethod
    def consumed_events(cls, options):
        return frozenset({"mail"})

    async def execute(self, context):
        event = await self.runtime.take_event(self.runtime.machine_name, {"mail"})
        if event is None:
            return self.result_event("empty")
        context["mail"] = event.payload
        return self.success_event
"""

MAILBOX = """
initial_state: waiting
transitions:
  - {from: waiting, to: completed, event: got_mail}
  - {from: waiting, to: failed, event: no_mail}
final: [failed]
actions:
  waiting:
    - {type: take_mail}
"""


async def test_events_a_custom_action_takes_itself_wait_for_it(
    store: SqliteStore, tmp_path: Path
) -> None:
    actions = tmp_path / "actions"
    write(actions / "take_mail_action.py", TAKE_MAIL_ACTION)
    await store.send_event("mailbox", "mail", {"from": "ada"})
    async with Machines(actions, store=store, machine_name="mailbox") as machines:
        engine, _ = machines.build(MAILBOX)
        assert await run_to_end(engine) == "completed"
    assert engine.context["mail"] == {"from": "ada"}
    [event] = await store.list_events(target="mailbox")
    assert event.status == "processed"
