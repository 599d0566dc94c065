"""The store's logic, written once for every dialect, on an in-memory SQLite store.

``open_store(":memory:")`` opens in microseconds and leaves no file behind: these tests
check what the one implementation (``database/_sql_store.py`` and its parts) and the
named queries decide. What every backend must do is ``tests/contract``'s job.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from statemachine_engine.database import OperatorStore, StoreError, open_store
from statemachine_engine.database import _queue as queue_operations
from statemachine_engine.database._queries import PROBE, load_queries
from statemachine_engine.database._wakeup import JOBS, REALTIME
from statemachine_engine.database.store import RETRY_BACKOFF_CAP_SECONDS, RETRY_BACKOFF_SECONDS

#: Queries only PostgreSQL has: its migration lock and its wake-up registrations.
POSTGRES_ONLY = {
    "migration_lock",
    "version_table",
    "schema_version",
    "set_schema_version",
    "watch",
    "unwatch",
    "unwatch_session",
}

#: Queries only SQLite has: where its identity lies in the file (_sqlite_identity.py).
SQLITE_ONLY = {"store_identity", "insert_realtime_row"}


@pytest.fixture
async def store() -> AsyncIterator[OperatorStore]:
    handle = open_store(":memory:")
    yield handle
    await handle.close()


def test_every_dialect_has_the_same_operations() -> None:
    sqlite, postgres = load_queries("sqlite"), load_queries("postgres")
    probes = {name for name in postgres if name.endswith(PROBE)}  # asked after a lost reply
    assert set(sqlite) - SQLITE_ONLY == set(postgres) - POSTGRES_ONLY - probes


def test_a_probe_reads_what_its_write_wrote_with_the_write_s_parameters() -> None:
    postgres = load_queries("postgres")
    probes = [name for name in postgres if name.endswith(PROBE)]
    assert "insert_event.committed" in probes
    for name in probes:
        probe, write = postgres[name], postgres[name.removesuffix(PROBE)]
        assert probe.reads, name
        assert not write.reads, name
        used = set(re.findall(r"%\((\w+)\)s", " ".join(probe.statements)))
        assert "now" in used, name  # found by the time it was stamped with
        assert used <= set(re.findall(r"%\((\w+)\)s", " ".join(write.statements))), name


def test_a_postgres_query_is_one_statement() -> None:
    for name, query in load_queries("postgres").items():
        assert len(query.statements) == 1, name


def test_shared_queries_read_their_parameters_in_each_dialects_style() -> None:
    sqlite, postgres = load_queries("sqlite")["get_job"], load_queries("postgres")["get_job"]
    assert ":job_id" in sqlite.statements[0]
    assert "%(job_id)s" in postgres.statements[0]


def test_optional_lines_follow_their_parameter() -> None:
    claim = load_queries("sqlite")["claim_job"]
    typed = "\n".join(claim.render({"job_type": "task"})[0])
    any_type = "\n".join(claim.render({"job_type": None})[0])
    assert "job_type = :job_type" in typed
    assert "INDEXED BY" not in typed
    assert "job_type = :job_type" not in any_type
    assert "INDEXED BY jobs_ready_any" in any_type


def test_a_statement_whose_lines_are_all_optional_is_left_out() -> None:
    save = load_queries("sqlite")["save_steps"]
    one_step = {"state": "b", "to_state": "b", "consumed": [1], "dropped": [[2, "why"]]}
    assert len(save.render(one_step)[0]) == 4
    history_only = {"state": None, "to_state": None, "consumed": None, "dropped": None}
    statements, each_row = save.render({**history_only, "transitions": [["a", "b"]]})
    assert len(statements) == len(each_row) == 1
    assert "json_each(:transitions)" in statements[0]


def test_fragments_are_written_into_the_queries_that_include_them() -> None:
    for dialect in ("sqlite", "postgres"):
        for query in load_queries(dialect).values():
            assert "{{" not in " ".join(query.statements), (dialect, query.name)
    assert "CAST(1 AS BIGINT)" in load_queries("postgres")["fail_job"].statements[0]


def test_a_sqlite_history_row_is_written_for_each_row_its_change_returned() -> None:
    claim = load_queries("sqlite")["claim_job"]
    assert claim.each_row == (False, True, False, True)  # expiry, its rows; claim, its row
    for statement, each in zip(claim.statements, claim.each_row, strict=True):
        assert statement.startswith("INSERT INTO job_history") == each


def test_a_memory_store_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    async def use() -> None:
        store = open_store(":memory:")
        await store.add_job("task")
        await store.close()

    asyncio.run(use())
    assert list(tmp_path.iterdir()) == []


async def test_the_retry_backoff_doubles_up_to_its_cap(
    store: OperatorStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue_operations, "backoff_jitter", lambda: 1.0)
    await store.add_job("task", job_id="j", max_attempts=20)
    waits = []
    for _ in range(14):
        assert await store.claim_job("task", "w1", lease_seconds=60) is not None
        failed = await store.fail_job("j", "boom", worker="w1")
        assert failed is not None
        waits.append(failed.run_after - failed.updated_at)
        _end_backoff(store, "j")
    expected = [
        min(RETRY_BACKOFF_CAP_SECONDS, RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1))
        for attempt in range(1, 15)
    ]
    assert waits == pytest.approx(expected)
    assert waits[-1] == RETRY_BACKOFF_CAP_SECONDS


def _end_backoff(store: OperatorStore, job_id: str) -> None:
    """The failed job becomes claimable at once (the only reach under the interface)."""
    connection = store.connector._conn  # type: ignore[attr-defined]
    connection.execute("UPDATE jobs SET run_after = 0 WHERE job_id = ?", (job_id,))


async def test_every_status_change_writes_its_history_row(store: OperatorStore) -> None:
    await store.add_job("task", job_id="j")
    claimed = await store.claim_job(None, "w1")
    assert claimed is not None
    assert await store.hand_over_job("j", attempt=1, worker="child", lease_seconds=60)
    assert await store.release_job_unused("j", worker="child", attempt=1)
    assert await store.claim_job_by_id("j", "w2") is not None
    assert await store.fail_job("j", "boom", worker="w2", retry=False)
    assert await store.retry_job("j")
    assert await store.cancel_job("j")
    history = [
        (h["status"], h["attempt"], h["worker"], h["message"]) for h in await store.job_history("j")
    ]
    assert history == [
        ("pending", 0, None, "added"),
        ("processing", 1, "w1", None),
        ("processing", 1, "child", "handed over"),
        ("pending", 1, "child", "given back unused"),
        ("processing", 1, "w2", None),
        ("dead", 1, "w2", "boom"),
        ("pending", 0, None, "retry_job"),
        ("cancelled", 0, None, "cancel_job"),
    ]
    await store.add_job("task", job_id="k")
    assert await store.claim_job("task", "w3") is not None
    assert await store.complete_job("k", worker="w3", attempt=1)
    assert [h["status"] for h in await store.job_history("k")][-1] == "completed"


async def test_a_change_that_changes_nothing_writes_no_history(store: OperatorStore) -> None:
    await store.add_job("task", job_id="j")
    assert not await store.complete_job("j")  # not processing
    assert await store.fail_job("j", "boom", worker="someone-else") is None
    assert not await store.cancel_job("no-such-job")
    with pytest.raises(StoreError, match="already exists"):
        await store.add_job("task", job_id="j")
    assert [h["message"] for h in await store.job_history("j")] == ["added"]


async def test_listing_filters_are_optional(store: OperatorStore) -> None:
    for n in range(3):
        await store.add_job("a" if n < 2 else "b", job_id=f"j{n}", machine_type="m")
    await store.claim_job("a", "w1")
    assert [job.job_id for job in await store.list_jobs()] == ["j2", "j1", "j0"]
    assert [job.job_id for job in await store.list_jobs(job_type="a")] == ["j1", "j0"]
    assert [job.job_id for job in await store.list_jobs(status="processing")] == ["j0"]
    assert [job.job_id for job in await store.list_jobs(status=[], limit=None)] == []
    listed = await store.list_jobs(status=["pending", "processing"], machine_type="m", limit=2)
    assert [job.job_id for job in listed] == ["j2", "j1"]


async def test_a_memory_store_wakes_its_own_waiters(store: OperatorStore) -> None:
    listener = await store.listener()
    jobs, realtime = listener.mark(JOBS), listener.mark(REALTIME)
    await store.add_job("task", job_id="j")
    assert await listener.wait(JOBS, jobs, 0)
    assert not await listener.wait(REALTIME, realtime, 0)
    jobs = listener.mark(JOBS)
    await store.claim_job("task", "w1")  # a claim makes nothing claimable
    assert not await listener.wait(JOBS, jobs, 0)
    await store.record_realtime_events([("m", "state_change", {"to_state": "b"})])
    assert await listener.wait(REALTIME, realtime, 0)


async def test_realtime_batches_keep_their_order(store: OperatorStore) -> None:
    await store.record_realtime_events(
        [("m1", "a", {"n": 1}), ("m2", "b", None), ("m1", "c", {"text": 'it\'s "quoted"'})]
    )
    events = await store.list_realtime()
    assert [(e.machine_name, e.event_type, e.payload) for e in events] == [
        ("m1", "a", {"n": 1}),
        ("m2", "b", {}),
        ("m1", "c", {"text": 'it\'s "quoted"'}),
    ]
    assert [e.event_type for e in await store.list_realtime(machine="m1")] == ["a", "c"]
    assert await store.last_realtime_id() == events[-1].id


async def test_marking_events_checks_the_status_and_takes_no_empty_list(
    store: OperatorStore,
) -> None:
    first = await store.send_event("m", "go")
    second = await store.send_event("m", "go")
    with pytest.raises(StoreError, match="unknown event status"):
        await store.mark_events([first], "eaten")
    assert await store.mark_events([], "dropped") == 0
    assert await store.mark_events([first, second, 999], "dropped", reason="no transition") == 2
    assert await store.mark_events([first], "processed") == 0  # no longer pending
