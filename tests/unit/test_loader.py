"""YAML config -> MachineConfig, and every config error (core/loader.py)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from statemachine_engine.config._transitions import TransitionTable
from statemachine_engine.config.loader import config_from_text, load_config
from statemachine_engine.config.model import (
    DEFAULT_TERMINAL_STATES,
    WILDCARD,
    ActionSpec,
    EventSpec,
    MachineConfig,
    Position,
    Transition,
)
from statemachine_engine.errors import ConfigError, StateMachineError, UnknownActionError

CompatConfig = Callable[[str], Path]


def load(text: str, **kwargs: object) -> MachineConfig:
    return config_from_text(textwrap.dedent(text), path="m.yaml", **kwargs)  # type: ignore[arg-type]


def error(text: str, **kwargs: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(text, **kwargs)
    assert isinstance(info.value, StateMachineError)
    assert info.value.path == "m.yaml"
    return info.value


MALFORMED = (
    "write timeout(N) with N a positive number of seconds, e.g. timeout(5) or timeout(500ms)"
)


# --- config errors: message and line ---------------------------------------------------------


def test_unparsable_yaml() -> None:
    exc = error(
        """\
        initial_state: a
        transitions:
          - {from: a, to: b, event: go
        """
    )
    assert exc.message.startswith("invalid YAML: ")
    assert exc.line == 4
    assert str(exc).startswith("m.yaml:4:")


def test_duplicate_key() -> None:
    exc = error("initial_state: a\ninitial_state: b\n")
    assert exc.message == "duplicate key 'initial_state' (the later one would win)"
    assert exc.line == 2


@pytest.mark.parametrize(
    ("text", "what"), [("", "nothing"), ("- a\n", "a list"), ("x\n", "str 'x'")]
)
def test_config_must_be_a_mapping(text: str, what: str) -> None:
    exc = error(text)
    assert exc.message == (
        f"a config must be a mapping with at least initial_state and transitions, got {what}"
    )
    assert exc.line == 1


def test_missing_initial_state() -> None:
    exc = error(
        """\
        name: x
        states: [a]
        """
    )
    assert exc.message == "missing required key 'initial_state' (the state to start in)"
    assert exc.line == 1


def test_initial_state_not_in_states() -> None:
    exc = error(
        """\
        states:
          - a
          - b
        initial_state: z
        """
    )
    assert exc.message == "initial_state 'z' is not listed in states: ['a', 'b']"
    assert (exc.line, exc.column) == (4, 16)


@pytest.mark.parametrize("value", ["", "null", "true", "[a]", "{a: 1}"])
def test_initial_state_must_be_a_name(value: str) -> None:
    exc = error(f"states: [a]\ninitial_state: {value}\n")
    assert exc.message.startswith("initial_state must be a name, got ")
    assert exc.line == 2


def test_transition_from_state_not_listed() -> None:
    exc = error(
        """\
        initial_state: a
        states: [a, b]
        transitions:
          - {from: a, to: b, event: go}
          - from: c
            to: b
            event: go
        """
    )
    assert exc.message == (
        "transition c -> b on 'go': from state 'c' is not listed in states: "
        "(add it there or fix the name)"
    )
    assert (exc.line, exc.column) == (5, 5)


def test_transition_to_state_not_listed() -> None:
    exc = error(
        """\
        initial_state: a
        states: [a, b]
        transitions:
          - from: a
            to: b
            event: ok
          - {from: "*", to: stoped, event: stop}
        """
    )
    assert exc.message == (
        "transition * -> stoped on 'stop': to state 'stoped' is not listed in states: "
        "(add it there or fix the name)"
    )
    assert exc.line == 7


def test_transition_from_list_with_unlisted_state() -> None:
    exc = error(
        """\
        initial_state: a
        states: [a, b]
        transitions:
          - from: [a, typo]
            to: b
            event: go
        """
    )
    assert exc.message.startswith("transition typo -> b on 'go': from state 'typo' is not listed")
    assert exc.line == 4


def test_actions_for_unlisted_state() -> None:
    exc = error(
        """\
        initial_state: a
        states: [a]
        actions:
          b:
            - type: log
        """
    )
    assert exc.message == "actions are given for state 'b', which is not listed in states:"
    assert exc.line == 5


def test_state_listed_twice() -> None:
    exc = error(
        """\
        initial_state: a
        states:
          - a
          - b
          - a
        """
    )
    assert exc.message == "state 'a' is listed twice in states:"
    assert exc.line == 5


def test_states_must_be_a_list() -> None:
    exc = error("initial_state: a\nstates: a\n")
    assert exc.message == "states: must be a list of state names"
    assert exc.line == 2


def test_state_must_be_a_name() -> None:
    exc = error("initial_state: a\nstates:\n  - a\n  - true\n")
    assert exc.message == "each entry of states: must be a name, got the boolean true"
    assert exc.line == 4


@pytest.mark.parametrize(
    "event",
    [
        "timeout()",
        "timeout(abc)",
        "timeout(-1)",
        "timeout(5 )",
        "timeout( 5)",
        "timeout (5)",
        "timeout(5",
        "timeout(5)s",
    ],
)
def test_malformed_timeout_in_transitions(event: str) -> None:
    exc = error(
        f"""\
        initial_state: a
        transitions:
          - from: a
            to: b
            event: go
          - from: a
            to: b
            event: "{event}"
        """
    )
    assert exc.message == f"malformed timeout event {event!r}: {MALFORMED}"
    assert (exc.line, exc.column) == (8, 12)


def test_zero_timeout_in_transitions() -> None:
    exc = error("initial_state: a\ntransitions:\n  - {from: a, to: b, event: timeout(0)}\n")
    assert exc.message == "malformed timeout event 'timeout(0)': the duration must be > 0"
    assert exc.line == 3


@pytest.mark.parametrize("event", ["timeout()", "timeout(abc)", "timeout(-1)", "timeout(5 )"])
def test_malformed_timeout_in_events_list(event: str) -> None:
    exc = error(
        f"""\
        initial_state: a
        events:
          - go
          - "{event}"
        """
    )
    assert exc.message == f"malformed timeout event {event!r}: {MALFORMED}"
    assert exc.line == 4


def test_malformed_timeout_in_events_mapping() -> None:
    exc = error(
        """\
        initial_state: a
        events:
          go: {}
          timeout(x):
            context_map: {a: payload.a}
        """
    )
    assert exc.message == f"malformed timeout event 'timeout(x)': {MALFORMED}"
    assert exc.line == 5


KNOWN = ["bash", "log", "set_context"]


def known_kwargs() -> dict[str, object]:
    return {"is_known_action": KNOWN.__contains__, "known_actions": lambda: list(KNOWN)}


def test_unknown_action_type() -> None:
    with pytest.raises(UnknownActionError) as info:
        load(
            """\
            initial_state: a
            actions:
              a:
                - type: log
                  message: hi
                - type: bsah
                  command: ls
            """,
            **known_kwargs(),
        )
    exc = info.value
    assert isinstance(exc, ConfigError)
    assert exc.message == (
        "unknown action type 'bsah' (did you mean 'bash'?); known types: bash, log, set_context"
    )
    assert (exc.path, exc.line, exc.column) == ("m.yaml", 6, 7)
    assert exc.action_type == "bsah"
    assert exc.known == tuple(KNOWN)
    assert str(exc) == (
        "m.yaml:6:7: unknown action type 'bsah' (did you mean 'bash'?); "
        "known types: bash, log, set_context"
    )


def test_action_types_are_not_checked_without_a_checker() -> None:
    config = load("initial_state: a\nactions:\n  a:\n    - type: anything\n")
    assert config.actions["a"][0].type == "anything"


def test_known_action_types_pass() -> None:
    config = load("initial_state: a\nactions:\n  a:\n    - type: bash\n", **known_kwargs())
    assert config.actions["a"][0].type == "bash"


def test_action_that_is_not_a_mapping() -> None:
    exc = error(
        """\
        initial_state: a
        actions:
          a:
            - type: log
            - log
        """
    )
    assert exc.message == (
        "an action must be a mapping with a 'type' (e.g. {type: log, message: hi}), got str 'log'"
    )
    assert (exc.line, exc.column) == (5, 7)


def test_action_without_type() -> None:
    exc = error(
        """\
        initial_state: a
        actions:
          a:
            - type: log
            - message: hi
              level: info
        """
    )
    assert exc.message == "action has no 'type'"
    assert (exc.line, exc.column) == (5, 7)


@pytest.mark.parametrize("params", ["[1, 2]", "text", "3"])
def test_params_not_a_mapping(params: str) -> None:
    exc = error(
        f"""\
        initial_state: a
        actions:
          a:
            - type: log
              params: {params}
        """
    )
    assert exc.message == "params: must be a mapping of action options"
    assert (exc.line, exc.column) == (5, 15)


def test_actions_must_be_a_mapping() -> None:
    exc = error("initial_state: a\nactions:\n  - type: log\n")
    assert exc.message == "actions: must map each state to a list of actions"
    assert exc.line == 3


@pytest.mark.parametrize(
    ("transition", "message"),
    [
        ("- go", "each transition must be a mapping with from, to and event, got str 'go'"),
        ("- {from: a, event: go}", "transition is missing to"),
        ("- {to: b}", "transition is missing from, event"),
        ("- {from: a, to: '*', event: go}", "a transition cannot go to '*'"),
        ("- {from: a, to: b, event: [x]}", "event must be a name, got a list"),
        ("- {from: [a, null], to: b, event: go}", "from must be a name, got nothing"),
    ],
)
def test_malformed_transitions(transition: str, message: str) -> None:
    exc = error(
        f"initial_state: a\ntransitions:\n  - {{from: a, to: b, event: ok}}\n  {transition}\n"
    )
    assert exc.message == message
    assert exc.line == 4


def test_transitions_must_be_a_list() -> None:
    exc = error("initial_state: a\ntransitions: {from: a}\n")
    assert exc.message == "transitions: must be a list of {from, to, event}"
    assert exc.line == 2


def test_events_must_be_a_list_or_mapping() -> None:
    exc = error("initial_state: a\nevents: go\n")
    assert exc.message == "events: must be a list of names or a mapping"
    assert exc.line == 2


def test_event_options_must_be_a_mapping() -> None:
    exc = error("initial_state: a\nevents:\n  go: [1]\n")
    assert exc.message == "options of event 'go' must be a mapping"
    assert exc.line == 3


def test_context_map_must_be_a_mapping() -> None:
    exc = error("initial_state: a\nevents:\n  go:\n    context_map: [a]\n")
    assert exc.message == "context_map: must map context keys to payload paths"
    assert exc.line == 4


def test_metadata_must_be_a_mapping() -> None:
    exc = error("initial_state: a\nmetadata: [x]\n")
    assert exc.message == "metadata: must be a mapping"
    assert exc.line == 2


def test_group_naming_an_unknown_state() -> None:
    exc = error(
        """\
        initial_state: a
        states: [a, b]
        groups:
          IDLE: [a]
          BUSY:
            - b
            - zz
        """
    )
    assert exc.message == "group 'BUSY' names unknown state 'zz'"
    assert exc.line == 7


def test_group_must_list_its_states() -> None:
    exc = error("initial_state: a\ngroups:\n  IDLE: a\n")
    assert exc.message == "group 'IDLE' must list its states"
    assert exc.line == 3


def test_groups_must_be_a_mapping() -> None:
    exc = error("initial_state: a\ngroups: [a]\n")
    assert exc.message == "groups: must map a group name to a list of states"
    assert exc.line == 2


def test_max_time_maps_states_to_seconds() -> None:
    config = load("initial_state: a\nstates: [a, b]\nmax_time: {a: 1h30m, b: 90}\n")
    assert dict(config.max_times) == {"a": 5400.0, "b": 90.0}
    assert dict(load("initial_state: a\n").max_times) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max_time: [a]", "max_time: must map states to durations, e.g. {rendering: 5m}"),
        ("max_time: {zz: 5m}", "max_time names unknown state 'zz' (states: a, b)"),
        ("max_time: {bb: 5m}", "max_time names unknown state 'bb' (did you mean 'b'?)"),
        ("max_time: {a: soon}", "max_time of 'a' must be a positive duration (90s, 5m, 1h30m), "
         "got 'soon'"),
        ("max_time: {a: 0}", "max_time of 'a' must be a positive duration (90s, 5m, 1h30m), "
         "got 0"),
    ],
)  # fmt: skip
def test_max_time_errors_name_the_state_and_the_line(text: str, message: str) -> None:
    exc = error(f"initial_state: a\nstates: [a, b]\n{text}\n")
    assert exc.message == message
    assert exc.line == 3


# --- load_config: files ---------------------------------------------------------------------


def test_load_config_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.message == "config file not found"
    assert info.value.path == str(path)
    assert str(info.value) == f"{path}: config file not found"


def test_load_config_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory, not a config file"):
        load_config(tmp_path)


def test_load_config_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"initial_state: \xff\xfe\n")
    with pytest.raises(ConfigError, match="config file is not UTF-8 text"):
        load_config(path)


def test_load_config_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("initial_state: a\nstates: [b]\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:1:16: initial_state 'a' is not listed in states: ['b']"


def test_load_config_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "my_worker.yaml"
    path.write_text("initial_state: a\ntransitions:\n  - {from: a, to: b, event: go}\n")
    config = load_config(path)
    assert config.name == "my_worker"
    assert config.path == str(path)
    assert config.transitions[0].position == Position(str(path), 3, 5)


# --- accepted forms ---------------------------------------------------------------------------


def test_minimal_config() -> None:
    config = load("initial_state: idle\n")
    assert config.initial_state == "idle"
    assert config.states == ("idle",)
    assert config.transitions == ()
    assert dict(config.actions) == {}
    assert dict(config.events) == {}
    assert dict(config.groups) == {}
    assert config.final_states == DEFAULT_TERMINAL_STATES
    assert not config.declared_states
    assert not config.template
    assert config.description is None


def test_flat_events_list() -> None:
    config = load("initial_state: a\nevents:\n  - go\n  - timeout(5)\n")
    assert list(config.events) == ["go", "timeout(5)"]
    assert config.events["go"] == EventSpec("go", position=Position("m.yaml", 3, 5))
    assert dict(config.events["go"].context_map) == {}


def test_events_mapping_with_context_map() -> None:
    config = load(
        """\
        initial_state: a
        events:
          transcribed:
            context_map:
              utterance: payload.user_utterance
              who: user.name
          hangup:
          plain: {}
        """
    )
    assert list(config.events) == ["transcribed", "hangup", "plain"]
    assert dict(config.events["transcribed"].context_map) == {
        "utterance": "payload.user_utterance",
        "who": "user.name",
    }
    assert config.events["transcribed"].position.line == 4
    assert dict(config.events["hangup"].context_map) == {}
    assert dict(config.events["plain"].context_map) == {}


def test_action_options_at_top_level_or_under_params() -> None:
    config = load(
        """\
        initial_state: a
        actions:
          a:
            - type: bash
              command: top
              timeout: 30
            - type: bash
              params:
                command: nested
                success: done
            - type: log
              message: top wins?
              level: info
              params:
                message: params wins
        """
    )
    top, nested, both = config.actions["a"]
    assert top == ActionSpec("bash", {"command": "top", "timeout": 30}, Position("m.yaml", 4, 7))
    assert dict(nested.options) == {"command": "nested", "success": "done"}
    assert dict(both.options) == {"message": "params wins", "level": "info"}
    assert "type" not in both.options
    assert "params" not in both.options


def test_action_options_are_read_only() -> None:
    config = load("initial_state: a\nactions:\n  a:\n    - {type: log, message: hi}\n")
    with pytest.raises(TypeError):
        config.actions["a"][0].options["message"] = "changed"  # type: ignore[index]


def test_action_description() -> None:
    config = load(
        "initial_state: a\nactions:\n  a:\n    - {type: log, description: Say hi}\n"
        "    - {type: log}\n"
    )
    assert [spec.description for spec in config.actions["a"]] == ["Say hi", None]


def test_single_action_without_a_list_and_empty_action_list() -> None:
    config = load("initial_state: a\nactions:\n  a: {type: log, message: hi}\n  b:\n")
    assert [spec.type for spec in config.actions["a"]] == ["log"]
    assert config.actions["b"] == ()
    assert config.states == ("a", "b")


def test_groups_mapping_combined_with_comment_groups() -> None:
    config = load(
        """\
        initial_state: boot
        states:
          # === STARTUP ===
          - boot
          # === LOOP ===
          - waiting
          - working
          - done
          - stopped
        groups:
          WORK: [working]
          END: [done, stopped]
        transitions:
          - {from: "*", to: stopped, event: stop}
        """
    )
    assert dict(config.groups) == {
        "boot": "STARTUP",
        "waiting": "LOOP",
        "working": "WORK",
        "done": "END",
        "stopped": "END",
    }
    assert config.group_of("waiting") == "LOOP"
    assert config.group_of("nowhere") is None


def test_final_states_extend_the_defaults() -> None:
    config = load("initial_state: a\nfinal: [finished, aborted]\n")
    assert config.final_states == DEFAULT_TERMINAL_STATES | {"finished", "aborted"}
    assert config.is_terminal("finished")
    assert config.is_terminal("stopped")
    assert not config.is_terminal("a")
    assert load("initial_state: a\nfinal: done\n").final_states == DEFAULT_TERMINAL_STATES | {
        "done"
    }


def test_from_given_as_a_list() -> None:
    config = load(
        """\
        initial_state: a
        transitions:
          - from: [a, b]
            to: c
            event: go
        """
    )
    position = Position("m.yaml", 3, 5)
    assert config.transitions == (
        Transition("a", "c", "go", None, position),
        Transition("b", "c", "go", None, position),
    )


def test_transitions_keep_file_order_timeouts_and_positions() -> None:
    config = load(
        """\
        initial_state: a
        transitions:
          - {from: a, to: b, event: timeout(2.5s)}
          - {from: "*", to: stopped, event: stop}
          - {from: b, to: a, event: timeout}
        """
    )
    assert [(t.source, t.target, t.event, t.timeout) for t in config.transitions] == [
        ("a", "b", "timeout(2.5s)", 2.5),
        (WILDCARD, "stopped", "stop", None),
        ("b", "a", "timeout", None),
    ]
    assert [t.position.line for t in config.transitions] == [3, 4, 5]
    assert config.transitions[1].is_wildcard


def test_states_implied_when_states_is_absent() -> None:
    config = load(
        """\
        initial_state: start_here
        transitions:
          - {from: start_here, to: b, event: go}
          - {from: "*", to: stopped, event: stop}
          - {from: b, to: start_here, event: back}
        actions:
          only_actions: [{type: log}]
          b: [{type: log}]
        """
    )
    assert config.states == ("start_here", "b", "stopped", "only_actions")
    assert not config.declared_states


def test_declared_states_come_first_then_mentioned_ones() -> None:
    config = load("initial_state: a\nstates: [c, b, a]\n")
    assert config.states == ("c", "b", "a")
    assert config.declared_states


def test_yaml11_boolean_words_are_state_names() -> None:
    config = load(
        """\
        initial_state: off
        states: [off, on, yes, no]
        transitions:
          - {from: off, to: on, event: yes}
          - {from: on, to: off, event: no}
        """
    )
    assert config.initial_state == "off"
    assert config.states == ("off", "on", "yes", "no")
    assert config.transitions[0] == Transition("off", "on", "yes", None, Position("m.yaml", 4, 5))


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("name: Top\nmetadata: {name: Meta}\n", "Top"),
        ("metadata: {name: Meta}\n", "Meta"),
        ("description: d\n", "m"),
    ],
)
def test_config_name(text: str, name: str) -> None:
    assert load("initial_state: a\n" + text).name == name


def test_config_name_without_a_path() -> None:
    assert config_from_text("initial_state: a\n").name == "machine"


def test_metadata_description_and_template() -> None:
    config = load(
        """\
        name: T
        description: Many of these
        template: true
        metadata: {machine_name: worker_1, version: "1.0"}
        initial_state: a
        """
    )
    assert config.description == "Many of these"
    assert config.template
    assert dict(config.metadata) == {"machine_name": "worker_1", "version": "1.0"}
    assert config.default_machine_name == "worker_1"
    assert load("initial_state: a\nmetadata: {template: true}\n").template
    assert load("initial_state: a\n").default_machine_name is None


def test_top_level_positions() -> None:
    config = load("name: x\ninitial_state: a\nstates:\n  - a\n")
    assert config.position_of("initial_state") == Position("m.yaml", 2, 16)
    assert config.position_of("states").line == 4
    assert config.position_of("missing") == Position("m.yaml")


def test_yaml_merge_keys_share_action_options() -> None:
    config = load(
        """\
        initial_state: a
        defaults: &quiet {type: log, level: debug}
        actions:
          a:
            - <<: *quiet
              message: one
            - <<: *quiet
              level: info
              message: two
        """
    )
    assert [dict(spec.options) for spec in config.actions["a"]] == [
        {"level": "debug", "message": "one"},
        {"level": "info", "message": "two"},
    ]


def test_config_is_frozen() -> None:
    config = load("initial_state: a\n")
    with pytest.raises(AttributeError):
        config.initial_state = "b"  # type: ignore[misc]


# --- the compat configs ----------------------------------------------------------------------


def test_compat_simple_worker(compat_config: CompatConfig) -> None:
    path = compat_config("simple_worker.yaml")
    config = load_config(path)
    assert config.name == "Simple Worker Machine"
    assert config.description == "Basic job processing with database queue integration"
    assert config.initial_state == "initializing"
    assert config.states == ("initializing", "waiting", "processing", "completed")
    assert config.declared_states
    assert dict(config.groups) == {
        "initializing": "INITIALIZATION STATES",
        "waiting": "MAIN LOOP STATES",
        "processing": "MAIN LOOP STATES",
        "completed": "COMPLETION STATES",
    }
    assert list(config.events) == [
        "initialized",
        "new_job",
        "no_jobs",
        "job_done",
        "continue_work",
        "stop",
    ]
    assert [(t.source, t.event, t.target) for t in config.transitions] == [
        ("initializing", "initialized", "waiting"),
        ("waiting", "no_jobs", "waiting"),
        ("waiting", "new_job", "processing"),
        ("processing", "job_done", "completed"),
        ("completed", "continue_work", "waiting"),
        ("*", "stop", "completed"),
    ]
    assert [t.position.line for t in config.transitions] == [35, 40, 44, 48, 53, 58]
    assert all(t.timeout is None for t in config.transitions)
    assert config.default_machine_name == "simple_worker"
    assert {state: [a.type for a in specs] for state, specs in config.actions.items()} == {
        "initializing": ["log", "bash"],
        "waiting": ["log", "check_database_queue"],
        "processing": ["log", "bash"],
        "completed": ["log", "bash"],
    }
    bash = config.actions["processing"][1]
    assert dict(bash.options) == {
        "description": "🔄 Process the job",
        "command": "echo 'Processing job {id}' && sleep 2 && echo 'Job {id} completed'",
        "timeout": 30,
        "success": "job_done",
    }
    assert bash.position.line == 88
    table = TransitionTable.build(config.transitions)
    assert table.lookup("processing", "stop").target == "completed"  # type: ignore[union-attr]
    assert table.lookup("waiting", "no_jobs").target == "waiting"  # type: ignore[union-attr]
    assert config.is_terminal("completed")


def test_compat_timeout_worker(compat_config: CompatConfig) -> None:
    config = load_config(compat_config("timeout_worker.yaml"))
    assert config.name == "Timeout Demo Worker"
    assert config.states == ("initializing", "waiting", "processing", "timed_out", "completed")
    assert dict(config.groups) == {}
    assert "timeout(5)" in config.events
    assert "timeout(10)" in config.events
    assert [(t.source, t.event, t.target, t.timeout) for t in config.transitions] == [
        ("initializing", "initialized", "waiting", None),
        ("waiting", "timeout(5)", "timed_out", 5.0),
        ("waiting", "start_work", "processing", None),
        ("processing", "timeout(10)", "timed_out", 10.0),
        ("processing", "work_done", "completed", None),
        ("timed_out", "retry", "waiting", None),
        ("*", "stop", "completed", None),
    ]
    table = TransitionTable.build(config.transitions)
    assert [t.timeout for t in table.timeouts_for("waiting")] == [5.0]
    assert [t.timeout for t in table.timeouts_for("processing")] == [10.0]
    assert table.timeouts_for("timed_out") == ()
    assert table.timeouts_for("initializing") == ()
    assert [a.type for a in config.actions["timed_out"]] == ["log", "log", "bash"]
    assert config.actions["timed_out"][0].options["level"] == "warning"


def test_compat_custom_actions_worker(compat_config: CompatConfig) -> None:
    config = load_config(compat_config("custom_actions_worker.yaml"))
    assert config.name == "Custom Actions Worker"
    assert config.initial_state == "waiting"
    assert not config.declared_states
    assert config.states == ("waiting", "greeting", "calculating", "completed")
    assert dict(config.events) == {}
    assert dict(config.groups) == {}
    assert [(t.source, t.event, t.target) for t in config.transitions] == [
        ("waiting", "greet", "greeting"),
        ("greeting", "greeted", "waiting"),
        ("waiting", "calculate", "calculating"),
        ("calculating", "calculated", "waiting"),
        ("*", "stop", "completed"),
    ]
    assert config.default_machine_name == "custom_worker"
    calculating = config.actions["calculating"]
    assert [a.type for a in calculating] == ["log", "calculate", "log"]
    assert dict(calculating[1].options) == {"operation": "add", "success": "calculated"}
    assert dict(calculating[2].options) == {
        "message": "Calculation result: {calculation_result}",
        "level": "info",
    }


def test_compat_custom_actions_need_their_actions_dir(compat_config: CompatConfig) -> None:
    builtins = ["bash", "log"]
    with pytest.raises(UnknownActionError) as info:
        load_config(
            compat_config("custom_actions_worker.yaml"),
            is_known_action=builtins.__contains__,
            known_actions=lambda: builtins,
        )
    assert info.value.action_type == "greet"
    assert info.value.line == 38
