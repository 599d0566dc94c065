"""What each action class says it does (its traits), as the engine and the linter read them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

import statemachine_engine.actions.builtin as builtin_package
from statemachine_engine.actions import BaseAction
from statemachine_engine.actions.builtin.bash_action import BashAction
from statemachine_engine.core.action_loader import ActionLoader

BUILTIN_TYPES = sorted(
    path.name.removesuffix("_action.py")
    for path in Path(builtin_package.__file__).parent.glob("*_action.py")
)


def traits(action_type: str) -> type[BaseAction]:
    return ActionLoader().load(action_type)


@pytest.mark.parametrize("action_type", BUILTIN_TYPES)
def test_every_builtin_declares_what_it_returns_and_writes(action_type: str) -> None:
    cls = traits(action_type)
    assert cls.other_events is not None
    assert cls.writes is not None
    assert cls.default_error == "error"
    assert set(cls.polling_results) <= set(cls.other_events)
    assert cls.emitted_events({}) is not None
    assert cls.written_keys({}) is not None


@pytest.mark.parametrize("action_type", BUILTIN_TYPES)
def test_a_builtins_other_events_are_what_it_returns(action_type: str) -> None:
    """The declared defaults are the ones the action uses (it reads them from its
    traits), and an option renames each."""
    cls = traits(action_type)
    assert cls.other_events is not None
    for option, default in cls.other_events.items():
        assert cls({}).result_event(option) == default
        assert cls({option: "renamed"}).result_event(option) == "renamed"
        assert cls({"params": {option: "nested"}}).result_event(option) == "nested"


def test_only_the_job_claiming_builtins_claim_jobs() -> None:
    claiming = [kind for kind in BUILTIN_TYPES if traits(kind).claims_jobs]
    assert claiming == ["check_database_queue", "claim_job"]


def test_polling_builtins_name_their_nothing_yet_results() -> None:
    polling = {kind: traits(kind).polling_results for kind in BUILTIN_TYPES}
    assert {kind: results for kind, results in polling.items() if results} == {
        "check_database_queue": ("empty",),
        "check_events": ("empty",),
        "get_pending_jobs": ("empty",),
        "wait_for_jobs": ("pending", "timeout_event"),
    }


def test_emitted_events_follow_the_options() -> None:
    bash = traits("bash")
    assert bash.emitted_events({}) == {"job_done", "error"}
    assert bash.emitted_events({"success": "ok", "error_mappings": {2: "usage"}}) == {
        "ok",
        "error",
        "usage",
    }
    assert bash.emitted_events({"success": "{next}"}) is None
    queue = traits("check_database_queue")
    assert queue.emitted_events({"empty": "idle"}) == {"new_job", "idle", "error"}
    assert traits("send_event").emitted_events({"fire_and_forget": True}) == {"error"}
    assert traits("send_event").emitted_events({"target": "x"}) == {"event_sent", "error"}
    check_events = traits("check_events")
    assert check_events.emitted_events({"event_types": ["a", "b"]}) == {
        "a",
        "b",
        "no_events",
        "error",
    }
    assert check_events.emitted_events({"event_types": ["a"], "success": "got"}) == {
        "got",
        "no_events",
        "error",
    }
    assert traits("activity_log").emitted_events({}) == {"continue", "error"}
    wait = traits("wait_for_jobs")
    assert wait.emitted_events({}) == {
        "all_jobs_complete",
        "jobs_timeout",
        "no_jobs_tracked",
        "error",
    }
    assert "still" in (wait.emitted_events({"pending": "still"}) or ())


def test_written_keys_follow_the_options() -> None:
    assert traits("set_context").written_keys({"key": "a.b", "values": {"c": 1}}) == {"a", "c"}
    assert traits("pop_from_list").written_keys({"list": "items"}) == {"popped_item"}
    assert traits("pop_from_list").written_keys({"store_as": "got.it"}) == {"got"}
    assert traits("add_to_list").written_keys({"list_key": "seen"}) == {"seen"}
    assert traits("add_to_list").written_keys({"list": "a", "key": "b"}) == {"a"}
    assert traits("bash").written_keys({"store_as": "run"}) == {
        "stdout",
        "stderr",
        "exit_code",
        "last_error",
        "last_output",
        "run",
    }
    assert traits("get_pending_jobs").written_keys({}) == {"pending_jobs"}
    assert traits("check_machine_state").written_keys({}) == {"machine_state"}


def test_check_events_consumes_the_types_it_looks_for() -> None:
    check_events = traits("check_events")
    assert check_events.consumed_events({"event_types": "ping"}) == {"ping"}
    assert check_events.consumed_events({"event_types": ["a", "b"]}) == {"a", "b"}
    assert check_events.consumed_events({}) == frozenset()
    assert all(
        traits(kind).consumed_events({"event_types": ["a"]}) == frozenset()
        for kind in BUILTIN_TYPES
        if kind != "check_events"
    )


def test_send_event_says_whom_it_sends_what() -> None:
    send = traits("send_event")
    assert send.sent_events({"target_machine": "w", "event_type": "go"}) == [("w", "go")]
    assert send.sent_events({"target": "w"}) == [("w", "generic_event")]
    assert send.sent_events({"event_type": "go"}) == []
    assert traits("log").sent_events({"target_machine": "w"}) == []


def test_bash_runs_its_command_as_shell_code_and_renders_it_itself() -> None:
    assert BashAction.shell_options == BashAction.raw_options == {"command"}
    assert all(not traits(kind).shell_options for kind in BUILTIN_TYPES if kind != "bash")


class Undeclared(BaseAction):
    """An action written before traits existed."""

    async def execute(self, context: dict[str, Any]) -> str | None:
        return self.get_config_value("success", "done")


class Declared(BaseAction):
    default_success: ClassVar[str | None] = "done"
    other_events: ClassVar[Mapping[str, str | None] | None] = {"empty": "nothing"}
    writes: ClassVar[frozenset[str] | None] = frozenset({"answer"})

    async def execute(self, context: dict[str, Any]) -> str | None:
        return self.success_event


def test_an_action_that_declares_nothing_may_return_and_write_anything() -> None:
    assert Undeclared.emitted_events({"success": "x"}) is None
    assert Undeclared.written_keys({}) is None
    assert Undeclared.consumed_events({"event_types": ["a"]}) == frozenset()
    assert Undeclared.sent_events({}) == []
    assert not Undeclared.claims_jobs
    assert Undeclared({}).result_event("empty") is None


def test_an_action_may_declare_its_traits() -> None:
    assert Declared.emitted_events({}) == {"done", "nothing", "error"}
    assert Declared.emitted_events({"empty": "idle", "error": "bad"}) == {"done", "idle", "bad"}
    assert Declared.written_keys({"store_as": "copy"}) == {"answer", "copy"}
    assert Declared({}).result_event("empty") == "nothing"


def test_a_subclass_of_a_builtin_inherits_its_traits() -> None:
    class LoudBash(BashAction):
        pass

    assert LoudBash.emitted_events({}) == {"job_done", "error"}
    assert LoudBash.written_keys({}) == traits("bash").written_keys({})
