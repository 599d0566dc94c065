"""The job an ``add_job`` action or a line of ``add-job --from`` describes: its fields
checked and converted (pure), and what the action declares to the linter."""

from __future__ import annotations

import re
from typing import Any

import pytest

from statemachine_engine.actions._queued_job import job_from_options
from statemachine_engine.actions.builtin.add_job_action import AddJobAction
from statemachine_engine.database._new_jobs import NewJob, new_job
from statemachine_engine.errors import ActionError


def options(**given: Any) -> Any:
    """An action's option getter over ``given`` (absent: None)."""
    return lambda name: given.get(name)


def test_only_a_type_is_needed() -> None:
    assert new_job({"job_type": "render"}) == NewJob("render")


def test_every_field_is_converted() -> None:
    job = new_job(
        {
            "job_type": "render",
            "job_id": 17,
            "data": {"file": "a.png"},
            "priority": "-2",
            "delay": "5m",
            "machine_type": "gpu",
            "max_attempts": "4",
        }
    )
    assert job == NewJob("render", {"file": "a.png"}, "17", -2, 4, 300.0, "gpu")


@pytest.mark.parametrize(
    ("delay", "seconds"),
    [(0, 0.0), (2.5, 2.5), ("90", 90.0), ("500ms", 0.5), ("90s", 90.0), ("2h", 7200.0)],
)
def test_a_delay_is_seconds_or_a_duration(delay: Any, seconds: float) -> None:
    assert new_job({"job_type": "t", "delay": delay}).delay == seconds


def test_none_means_the_default() -> None:
    fields = dict.fromkeys(("job_id", "data", "priority", "delay", "machine_type"))
    assert new_job({"job_type": "t", **fields, "max_attempts": None}) == NewJob("t")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "job_type is missing: every job needs a type"),
        ({"job_type": ""}, "job_type is missing: every job needs a type"),
        ({"job_type": "  "}, "job_type must not be blank"),
        ({"job_type": ["a"]}, "job_type must be text, not a list"),
        ({"job_type": True}, "job_type must be text, not true"),
        ({"job_type": "t", "job_id": {"a": 1}}, "job_id must be text, not a dict"),
        ({"job_type": "t", "data": [1, 2]}, "data must be a mapping (a JSON object), not a list"),
        (
            {"job_type": "t", "data": "{payload}"},
            "data must be a mapping (a JSON object), not '{payload}'",
        ),
        ({"job_type": "t", "priority": "high"}, "priority must be a whole number, not 'high'"),
        ({"job_type": "t", "priority": 1.5}, "priority must be a whole number, not 1.5"),
        ({"job_type": "t", "priority": False}, "priority must be a whole number, not false"),
        ({"job_type": "t", "max_attempts": 0}, "max_attempts must be from 1 to 2147483647, not 0"),
        (
            {"job_type": "t", "max_attempts": "2.0"},
            "max_attempts must be a whole number, not '2.0'",
        ),
        (
            {"job_type": "t", "delay": -1},
            "delay must be a number of seconds of 0 or more, or a duration such as 500ms, "
            "90s, 5m or 2h, not -1",
        ),
        ({"job_type": "t", "delay": "soon"}, "not 'soon'"),
        ({"job_type": "t", "delay": float("nan")}, "not nan"),
        ({"job_type": "t", "delay": True}, "not true"),
    ],
)
def test_unusable_fields_are_named(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        new_job(fields)


def test_a_long_value_is_cut_in_the_message() -> None:
    with pytest.raises(ValueError, match="priority must be a whole number") as raised:
        new_job({"job_type": "t", "priority": "x" * 1000})
    assert len(str(raised.value)) < 120


# -- as the action reads its options -------------------------------------------------------


def test_the_action_reads_its_options_and_the_current_job() -> None:
    job = job_from_options(
        options(job_type="render", data={"a": 1}, priority=3), {"job_id": "parent-1"}
    )
    assert job == NewJob("render", {"a": 1}, priority=3, source_job_id="parent-1")
    assert job_from_options(options(job_type="render"), {}).source_job_id is None


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "add_job: job_type is missing: every job needs a type"),
        (
            {"job_type": "t", "priority": "{prio}"},
            "add_job: priority must be a whole number, not '{prio}'",
        ),
        (
            {"job_type": "t", "max_attempts": 0},
            "add_job: max_attempts must be from 1 to 2147483647, not 0",
        ),
        ({"job_type": "t", "delay": "-5s"}, "add_job: delay must be a number of seconds"),
        (
            {"job_type": "{kind}"},
            "add_job: job_type '{kind}' holds a placeholder nothing filled: check that the "
            "context has that key",
        ),
        (
            {"job_type": "t", "job_id": "order-{event_data.payload.id}"},
            "add_job: job_id 'order-{event_data.payload.id}' holds a placeholder",
        ),
    ],
)
def test_the_action_refuses_unusable_options_before_queueing(
    given: dict[str, Any], message: str
) -> None:
    with pytest.raises(ActionError) as raised:
        job_from_options(options(**given), {})
    assert str(raised.value).startswith(message)


async def test_an_unusable_option_fails_before_the_store_is_needed() -> None:
    with pytest.raises(ActionError, match="max_attempts must be from 1 to"):
        await AddJobAction({"job_type": "t", "max_attempts": 0}).execute({})


# -- what it declares ----------------------------------------------------------------------


def test_it_declares_its_events_and_the_key_it_writes() -> None:
    assert AddJobAction.emitted_events({}) == {"job_added", "job_exists", "error"}
    assert AddJobAction.emitted_events({"success": "queued", "exists": "dup"}) == {
        "queued",
        "dup",
        "error",
    }
    assert AddJobAction.written_keys({}) == frozenset()
    assert AddJobAction.written_keys({"store_as": "last_job"}) == {"last_job"}
    assert AddJobAction.store_only
    assert not AddJobAction.claims_jobs
    assert AddJobAction({}).result_event("exists") == "job_exists"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"job_type": "a\x00b"}, "job_type holds a NUL character or a lone surrogate"),
        ({"job_type": "t", "job_id": "x\ud800"}, "job_id holds a NUL character or a lone"),
        ({"job_type": "t", "data": {"k": ["\udfff"]}}, "data holds text that is not valid"),
        ({"job_type": "t", "priority": 2**31}, "priority must be from -2147483648 to"),
        ({"job_type": "t", "max_attempts": "99999999999"}, "max_attempts must be from"),
        (
            {"job_type": "t", "priority": "9" * 5000},  # refused without converting it
            "priority must be from -2147483648 to 2147483647, not 99999",
        ),
        (
            {"job_type": "t", "delay": 1e300},
            "delay must be at most 100 years ahead (3155760000 seconds)",
        ),
        ({"job_type": "t", "delay": "877000h"}, "delay must be at most 100 years ahead"),
        ({"job_type": "x" * 201}, "job_type must be at most 200 characters, not 201"),
        (
            {"job_type": "t", "machine_type": "x" * 201},
            "machine_type must be at most 200 characters, not 201",
        ),
    ],
)
def test_what_no_store_can_hold_is_refused_before_it_is_queued(
    fields: dict[str, Any], message: str
) -> None:
    """What a database would refuse halfway through a bulk add is refused up front."""
    with pytest.raises(ValueError, match=re.escape(message)):
        new_job(fields)


def test_the_edges_of_the_bounds_are_taken() -> None:
    job = new_job(
        {
            "job_type": "x" * 200,
            "job_id": "thumbnail:/" + "d/" * 1000,  # ids are often made of a path: any length
            "priority": -(2**31),
            "max_attempts": 2**31 - 1,
            "delay": "876000h",  # 99.9 years
        }
    )
    assert (job.priority, job.max_attempts, job.delay) == (-(2**31), 2**31 - 1, 876000 * 3600.0)


def test_a_nul_in_data_is_kept_as_json_keeps_it() -> None:
    assert new_job({"job_type": "t", "data": {"k": "a\x00b"}}).data == {"k": "a\x00b"}
