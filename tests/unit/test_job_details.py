"""A job as the API shows it and its attempts read from its history (pure)."""

from __future__ import annotations

from statemachine_engine.database._job_search import JobSearch
from statemachine_engine.database.cli._jobs import last_failure_output, output_lines
from statemachine_engine.database.models.job import Job
from statemachine_engine.monitoring._job_details import attempts_of, failed_attempt, job_object


def test_a_job_shows_its_duration_next_retry_and_last_worker() -> None:
    done = Job("j1", "render", "completed", started_at=10.0, completed_at=12.5, run_after=5.0)
    shown = job_object(done, worker="w1", now=100.0)
    assert (shown["duration"], shown["next_retry"], shown["worker"]) == (2.5, None, "w1")
    assert "id" not in shown
    waiting = Job("j2", "render", "failed", run_after=130.0, lease_owner=None, error="boom")
    shown = job_object(waiting, now=100.0)
    assert (shown["next_retry"], shown["duration"], shown["last_error"]) == (130.0, None, "boom")
    held = Job("j3", "render", "processing", lease_owner="w2", run_after=130.0)
    assert job_object(held, worker="w1", now=100.0)["worker"] == "w2"
    assert job_object(held, now=100.0)["next_retry"] is None


def test_attempts_are_claims_and_what_ended_them() -> None:
    history = [
        {"status": "pending", "attempt": 0, "worker": None, "message": None, "at": 1.0},
        {"status": "processing", "attempt": 1, "worker": "w1", "message": None, "at": 2.0},
        {
            "status": "failed",
            "attempt": 1,
            "worker": "w1",
            "message": "boom",
            "at": 5.0,
            "output": {"stderr": "boom", "stdout": "", "exit_code": 1},
        },
        {"status": "processing", "attempt": 2, "worker": "w2", "message": None, "at": 9.0},
        {"status": "processing", "attempt": 3, "worker": "w3", "message": None, "at": 70.0},
    ]
    first, lost, running = attempts_of(history)
    assert first == {
        "attempt": 1,
        "worker": "w1",
        "started_at": 2.0,
        "ended_at": 5.0,
        "seconds": 3.0,
        "outcome": "failed",
        "message": "boom",
        "output": {"stderr": "boom", "stdout": "", "exit_code": 1},
    }
    assert (lost["outcome"], lost["ended_at"], lost["seconds"]) == ("lost", 70.0, 61.0)
    assert (running["outcome"], running["ended_at"], running["output"]) == (None, None, None)
    assert [failed_attempt(a) for a in (first, lost, running)] == [True, True, True]
    assert not failed_attempt({"outcome": "completed"})
    assert attempts_of([]) == []


def test_a_search_gives_its_filters_and_order_as_query_parameters() -> None:
    search = JobSearch(text=" disk ", statuses=("dead",), since=5.0, sort="job_id")
    params = search.page_params()
    assert params["text"] == "disk"
    assert (params["statuses"], params["job_types"], params["worker"]) == (["dead"], None, None)
    assert (params["updated_from"], params["created_from"]) == (5.0, None)
    assert params["by_job_id_desc"] is True
    assert [key for key, value in params.items() if key.startswith("by_") and value] == [
        "by_job_id_desc"
    ]
    assert params["ascending"] is None
    # Created order is id order: no sort column, the id breaks the tie.
    newest = JobSearch().page_params()
    assert [key for key, value in newest.items() if key.startswith("by_") and value] == []
    created = JobSearch(since=1.0, until=2.0, time_field="created_at").match_params()
    assert (created["created_from"], created["created_to"], created["updated_from"]) == (
        1.0,
        2.0,
        None,
    )
    assert search.match_params(with_statuses=False)["statuses"] is None
    assert JobSearch(statuses=("completed",)).only(("failed", "dead")) is None
    kept = JobSearch().only(("failed", "dead"))
    assert kept is not None
    assert kept.statuses == ("failed", "dead")
    assert JobSearch(statuses=("pending",)).by_status_only
    assert not JobSearch(worker="w1").by_status_only


def test_details_show_the_output_of_the_newest_failure_that_kept_one() -> None:
    output = {"stderr": "disk full\nno space", "stdout": "frame 1", "exit_code": 3}
    history = [
        {"status": "failed", "attempt": 1, "output": output},
        {"status": "dead", "attempt": 2, "output": None},
    ]
    failure = last_failure_output(history)
    assert failure == {**output, "attempt": 1}
    assert output_lines(failure) == [
        "output (attempt 1, exit status 3):",
        "  stderr:",
        "    disk full",
        "    no space",
        "  stdout:",
        "    frame 1",
    ]
    assert last_failure_output([{"status": "dead", "attempt": 1, "output": None}]) is None
