"""The job explorer's reads and bulk changes: search, sort, pages with totals, the
workers a job had, retry and cancel by filter, failing jobs and error events."""

from __future__ import annotations

import pytest

from statemachine_engine.database._job_search import JobSearch
from statemachine_engine.database.store import OperatorStore, Store, StoreError


@pytest.fixture
def operator(store: Store) -> OperatorStore:
    assert isinstance(store, OperatorStore)
    return store


async def run(store: OperatorStore, job_id: str, worker: str, *, error: str | None = None) -> None:
    """``worker`` claims the job and completes it (or fails it with ``error``)."""
    assert await store.claim_job_by_id(job_id, worker) is not None
    if error is None:
        assert await store.complete_job(job_id, result={"ok": 1}, worker=worker)
    else:
        assert await store.fail_job(job_id, error, worker=worker) is not None


@pytest.fixture
async def jobs(operator: OperatorStore) -> OperatorStore:
    """Six jobs: two renders (one dead, one done), three crawls, one mail."""
    await operator.add_job("render", {"file": "a_100%.png"}, job_id="r1", max_attempts=1)
    await operator.add_job("render", {"file": "b.png"}, job_id="r2", priority=5)
    await operator.add_job("crawl", {"url": "https://example.org/x"}, job_id="c1")
    await operator.add_job("crawl", {"url": "https://example.org/y"}, job_id="c2")
    await operator.add_job("crawl", {"url": "https://Example.org/z"}, job_id="c3")
    await operator.add_job("mail", {"to": "ops"}, job_id="m1")
    await run(operator, "r1", "renderer-1", error="disk full on /var/x")
    await run(operator, "r2", "renderer-2")
    await run(operator, "c1", "crawler-1", error="timeout after 30s")
    return operator


def ids(page: object) -> list[str]:
    return [job.job_id for job in page.jobs]  # type: ignore[attr-defined]


async def test_search_finds_text_in_id_data_and_error_and_counts_per_status(
    jobs: OperatorStore,
) -> None:
    assert ids(await jobs.search_jobs(JobSearch(text="c2"))) == ["c2"]
    page = await jobs.search_jobs(JobSearch(text="example.org"))
    assert sorted(ids(page)) == ["c1", "c2"]  # as written: not c3's "Example.org"
    assert page.total == 2
    assert page.by_status == {"failed": 1, "pending": 1}
    assert ids(await jobs.search_jobs(JobSearch(text="disk full"))) == ["r1"]
    # Nothing is a wildcard.
    assert ids(await jobs.search_jobs(JobSearch(text="100%"))) == ["r1"]
    assert ids(await jobs.search_jobs(JobSearch(text="a_1"))) == ["r1"]
    assert ids(await jobs.search_jobs(JobSearch(text="b_p"))) == []


async def test_filters_by_type_status_worker_and_time(jobs: OperatorStore) -> None:
    crawls = await jobs.search_jobs(JobSearch(job_types=("crawl",), statuses=("pending",)))
    assert sorted(ids(crawls)) == ["c2", "c3"]
    assert crawls.total == 2
    # The status counts leave the status filter out (they label the status chips).
    assert crawls.by_status == {"failed": 1, "pending": 2}
    several = await jobs.search_jobs(JobSearch(job_types=("render", "mail")))
    assert sorted(ids(several)) == ["m1", "r1", "r2"]
    # A finished job is found by the worker that ran it, and shows it.
    by_worker = await jobs.search_jobs(JobSearch(worker="renderer-2"))
    assert ids(by_worker) == ["r2"]
    assert by_worker.workers == {"r2": "renderer-2"}
    r2 = await jobs.get_job("r2")
    assert r2 is not None
    assert ids(await jobs.search_jobs(JobSearch(since=r2.updated_at))) == ["c1", "r2"]
    before = await jobs.search_jobs(JobSearch(until=r2.updated_at, time_field="updated_at"))
    assert "r2" not in ids(before)
    assert "r1" in ids(before)
    assert await jobs.job_workers() == ["crawler-1", "renderer-1", "renderer-2"]
    assert (await jobs.job_type_counts())["render"] == {"completed": 1, "dead": 1}


async def test_sorts_and_pages_with_totals(jobs: OperatorStore) -> None:
    newest = await jobs.search_jobs(JobSearch(limit=2))
    assert ids(newest) == ["m1", "c3"]
    assert newest.total == 6
    second = await jobs.search_jobs(JobSearch(limit=2, offset=2))
    assert ids(second) == ["c2", "c1"]
    last = await jobs.search_jobs(JobSearch(limit=4, offset=4))
    assert ids(last) == ["r2", "r1"]
    beyond = await jobs.search_jobs(JobSearch(offset=6))
    assert (ids(beyond), beyond.total) == ([], 6)
    by_id = await jobs.search_jobs(JobSearch(sort="job_id", descending=False))
    assert ids(by_id) == ["c1", "c2", "c3", "m1", "r1", "r2"]
    by_priority = await jobs.search_jobs(JobSearch(sort="priority", limit=1))
    assert ids(by_priority) == ["r2"]
    by_status = await jobs.search_jobs(JobSearch(sort="status", descending=False, limit=1))
    assert ids(by_status) == ["r2"]  # completed


async def test_a_search_refuses_what_it_cannot_do() -> None:
    with pytest.raises(StoreError, match="cannot sort by 'data'"):
        JobSearch(sort="data")
    with pytest.raises(StoreError, match="unknown job status nope"):
        JobSearch(statuses=("nope",))
    with pytest.raises(StoreError, match="a page holds"):
        JobSearch(limit=0)


async def test_retry_and_cancel_by_filter_touch_only_what_they_may(jobs: OperatorStore) -> None:
    # Completed and pending jobs are not retried; the failed and the dead one are.
    assert await jobs.retry_matching(JobSearch()) == 2
    r1 = await jobs.get_job("r1")
    assert r1 is not None
    assert (r1.status, r1.attempts, r1.error) == ("pending", 0, None)
    assert (await jobs.job_history("r1"))[-1]["message"] == "retry_job"
    assert await jobs.retry_matching(JobSearch(statuses=("completed",))) == 0
    assert await jobs.cancel_matching(JobSearch(job_types=("crawl",))) == 3
    assert await jobs.job_counts() == {
        "pending": 2,
        "processing": 0,
        "completed": 1,
        "failed": 0,
        "dead": 0,
        "cancelled": 3,
    }
    assert (await jobs.job_history("c3"))[-1]["status"] == "cancelled"
    assert await jobs.retry_matching(JobSearch(job_ids=("c2", "r2"))) == 1


async def test_failing_jobs_and_error_events_newest_first(jobs: OperatorStore) -> None:
    failing = await jobs.failing_jobs()
    assert [(job.job_id, job.status) for job in failing] == [("c1", "failed"), ("r1", "dead")]
    assert failing[0].error == "timeout after 30s"
    assert await jobs.failing_jobs(since=failing[0].at + 1) == []
    await jobs.record_realtime_events(
        [
            ("w1", "error", {"action": "bash", "message": "boom 1"}),
            ("w1", "state_change", {"to_state": "x"}),
            ("w2", "error", {"action": "bash", "message": "boom 2"}),
        ]
    )
    found = await jobs.error_events()
    assert [(event.machine, event.payload["message"]) for event in found] == [
        ("w2", "boom 2"),
        ("w1", "boom 1"),
    ]
    assert [event.machine for event in await jobs.error_events(machine="w1")] == ["w1"]
    assert await jobs.error_events(since=found[0].at + 1) == []
    assert len(await jobs.error_events(until=found[0].at)) == 2
