"""Context updates from events and jobs (context/_entries.py)."""

from __future__ import annotations

from typing import Any

import pytest

from statemachine_engine.context._entries import (
    ENGINE_KEYS,
    event_data,
    forget_job_data,
    merge_job,
    promoted_fields,
)


def spec(**context_map: str) -> dict[str, str]:
    return context_map


DATA = event_data(
    "transcribed",
    {"user_utterance": "hello", "user": {"name": "Ada", "tags": ["a", "b"]}, "n": 0, "z": None},
    source="phone",
    job_id="job-1",
)


# --- event_data ---------------------------------------------------------------------------


def test_event_data_with_source_and_job() -> None:
    assert event_data("go", {"a": 1}, source="cli", job_id="j") == {
        "type": "go",
        "event_name": "go",
        "payload": {"a": 1},
        "source": "cli",
        "job_id": "j",
    }


def test_event_data_leaves_out_unknown_source_and_job() -> None:
    assert event_data("go", None) == {"type": "go", "event_name": "go", "payload": None}


def test_event_data_keeps_a_non_mapping_payload() -> None:
    assert event_data("go", "text")["payload"] == "text"


# --- promoted_fields ------------------------------------------------------------------------


def test_paths_are_relative_to_event_data() -> None:
    promoted = promoted_fields(
        spec(utterance="payload.user_utterance", who="payload.user.name", origin="source"),
        DATA,
    )
    assert promoted == {"utterance": "hello", "who": "Ada", "origin": "phone"}


def test_bare_name_is_looked_up_in_the_payload() -> None:
    assert promoted_fields(spec(utterance="user_utterance", who="user.name"), DATA) == {
        "utterance": "hello",
        "who": "Ada",
    }


def test_event_data_keys_win_over_payload_keys_for_bare_names() -> None:
    data = event_data("e", {"type": "from payload"})
    assert promoted_fields(spec(kind="type"), data) == {"kind": "e"}


def test_list_indexes_and_falsy_values_are_promoted() -> None:
    promoted = promoted_fields(spec(tag="payload.user.tags.1", n="n", z="payload.z"), DATA)
    assert promoted == {"tag": "b", "n": 0, "z": None}


def test_missing_fields_are_left_out() -> None:
    promoted = promoted_fields(
        spec(a="payload.nope", b="nope", c="payload.user.tags.9", ok="user_utterance"), DATA
    )
    assert promoted == {"ok": "hello"}


def test_payload_prefixed_path_is_not_looked_up_twice() -> None:
    data = event_data("e", {"payload": {"x": "nested"}})
    assert promoted_fields(spec(x="payload.x"), data) == {}


@pytest.mark.parametrize("key", sorted(ENGINE_KEYS))
def test_engine_keys_are_never_overwritten(key: str) -> None:
    assert promoted_fields(spec(**{key: "user_utterance", "safe": "n"}), DATA) == {"safe": 0}


def test_no_spec_or_no_map_promotes_nothing() -> None:
    assert promoted_fields(None, DATA) == {}
    assert promoted_fields({}, DATA) == {}


def test_non_mapping_payload_promotes_nothing() -> None:
    assert promoted_fields(spec(x="x", y="payload.y"), event_data("e", "text")) == {}


def test_engine_keys() -> None:
    assert {"machine_name", "current_state", "event_data", "job_id", "id"} <= ENGINE_KEYS


# --- merge_job ------------------------------------------------------------------------------


def test_merge_job_exposes_job_and_its_data() -> None:
    context: dict[str, Any] = {"machine_name": "w", "current_state": "waiting", "kept": 1}
    job = {"job_id": "j1", "job_type": "task", "data": {"input": "a.txt", "size": 3}}
    merge_job(context, job)
    assert context == {
        "machine_name": "w",
        "current_state": "waiting",
        "kept": 1,
        "current_job": job,
        "job_id": "j1",
        "id": "j1",
        "input": "a.txt",
        "size": 3,
        "job_keys": ["input", "size"],
    }
    assert context["current_job"] is not job  # a copy


def test_merge_job_never_overwrites_engine_keys() -> None:
    context: dict[str, Any] = {
        "machine_name": "w",
        "current_state": "processing",
        "event_data": {"type": "new_job"},
    }
    data = {key: "from job" for key in ENGINE_KEYS} | {"mine": "yes"}
    merge_job(context, {"job_id": "j2", "data": data})
    assert context["machine_name"] == "w"
    assert context["current_state"] == "processing"
    assert context["event_data"] == {"type": "new_job"}
    assert context["job_id"] == "j2"
    assert context["id"] == "j2"
    assert context["current_job"]["data"] == data
    assert context["mine"] == "yes"
    for key in ENGINE_KEYS - {"machine_name", "current_state", "event_data", "current_job"}:
        assert context.get(key) != "from job", key


def test_merge_job_data_never_overwrites_keys_someone_else_set() -> None:
    context: dict[str, Any] = {"input": "operator's", "opts": "-l"}
    merge_job(context, {"job_id": "j", "data": {"input": "job's", "opts": "; x", "new": 1}})
    assert context["input"] == "operator's"
    assert context["opts"] == "-l"
    assert context["new"] == 1
    assert context["current_job"]["data"]["opts"] == "; x"
    assert context["job_keys"] == ["new"]


def test_forget_job_data_removes_only_what_the_job_introduced() -> None:
    context: dict[str, Any] = {"opts": "-l", "edited": "by an action"}
    merge_job(context, {"job_id": "j", "data": {"opts": "-l", "file": "a", "edited": "x"}})
    assert context["job_keys"] == ["file"]
    forget_job_data(context)
    assert context["opts"] == "-l"  # same value as the job's, but the operator's key
    assert "file" not in context
    assert "job_keys" not in context
    assert context["edited"] == "by an action"


def test_forget_job_data_keeps_a_key_an_action_changed() -> None:
    context: dict[str, Any] = {}
    merge_job(context, {"job_id": "j", "data": {"file": "a"}})
    context["file"] = "b"
    forget_job_data(context)
    assert context["file"] == "b"


def test_forget_job_data_of_a_context_saved_before_job_keys() -> None:
    context: dict[str, Any] = {"current_job": {"job_id": "j", "data": {"file": "a"}}, "file": "a"}
    forget_job_data(context)
    assert "file" not in context


@pytest.mark.parametrize("data", [None, "text", [1, 2]])
def test_merge_job_without_mapping_data(data: Any) -> None:
    context: dict[str, Any] = {}
    merge_job(context, {"job_id": "j", "data": data})
    assert context == {
        "current_job": {"job_id": "j", "data": data},
        "job_id": "j",
        "id": "j",
        "job_keys": [],
    }


def test_merge_job_skips_non_string_keys() -> None:
    context: dict[str, Any] = {}
    merge_job(context, {"job_id": "j", "data": {1: "one", "two": 2}})
    assert 1 not in context
    assert context["two"] == 2
