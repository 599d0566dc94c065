"""Every lint rule, each with a config that breaks it and one that does not."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from statemachine_engine.config.loader import config_from_text
from statemachine_engine.core._checks.findings import RULES
from statemachine_engine.core.action_loader import ActionLoader
from statemachine_engine.errors import ConfigError
from statemachine_engine.tools.lint import LintContext, run_checks
from statemachine_engine.tools.lint._linter import load_error_finding


def lint(text: str, context: LintContext | None = None) -> list[tuple[str, int | None]]:
    config = config_from_text(textwrap.dedent(text), path="m.yaml")
    return [(f.code, f.position.line) for f in run_checks(config, context or LintContext())]


def codes(text: str, context: LintContext | None = None) -> list[str]:
    return [code for code, _ in lint(text, context)]


def load_code(text: str) -> tuple[str, int | None]:
    with pytest.raises(ConfigError) as caught:
        config_from_text(textwrap.dedent(text), path="m.yaml")
    found = load_error_finding(caught.value, "m.yaml")
    return found.code, found.position.line


CLEAN = """
    initial_state: waiting
    events: [go]
    transitions:
      - {from: waiting, to: working, event: go}
      - {from: working, to: completed, event: job_done}
    actions:
      working:
        - {type: bash, command: "echo {machine_name}", timeout: 5}
"""


def test_a_clean_config_has_no_findings() -> None:
    assert lint(CLEAN) == []


# --- SM001 / loader rejections -------------------------------------------------------


def test_sm001_a_config_the_loader_rejects_is_one_finding_with_its_position() -> None:
    assert load_code("initial_state: a\ntransitions:\n  - {from: a, to: b\n") == ("SM001", 4)
    assert load_code("initial_state: a\ntransitions: 5\n") == ("SM001", 2)


# --- SM101 undefined states -----------------------------------------------------------


def test_sm101_with_states_listed_the_loader_rejects_an_unlisted_target() -> None:
    text = """
        initial_state: a
        states: [a, b]
        transitions:
          - {from: a, to: b, event: go}
          - {from: b, to: c, event: go}
    """
    assert load_code(text) == ("SM101", 6)


def test_sm101_without_states_a_state_that_is_only_a_target_is_undefined() -> None:
    text = """
        initial_state: a
        events: [go]
        transitions:
          - {from: a, to: complete, event: go}
    """
    assert lint(text) == [("SM101", 5)]
    assert lint(text.replace("complete,", "completed,")) == []


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("initial_state: x\nstates: [a]\ntransitions: []\n", 1),
        ("initial_state: a\nstates: [a]\nactions:\n  b:\n    - {type: log}\n", 5),
        (
            "initial_state: a\nstates: [a]\ngroups: {IDLE: [a, b]}\n"
            "transitions:\n  - {from: a, to: a, event: go}\n",
            3,
        ),
    ],
    ids=["initial-state", "actions", "groups"],
)
def test_sm101_every_unlisted_state_the_loader_rejects(text: str, line: int) -> None:
    assert load_code(text) == ("SM101", line)


def test_the_rule_is_the_one_the_error_carries_not_guessed_from_its_words() -> None:
    # A state named like the words of another rejection is still only listed twice.
    text = 'initial_state: a\nstates: [a, "names unknown state", "names unknown state"]\n'
    assert load_code(text) == ("SM001", 2)
    found = load_error_finding(ConfigError("anything at all", rule="SM103", line=7), "m.yaml")
    assert (found.code, found.message, found.position.line) == ("SM103", "anything at all", 7)


def test_the_loader_rules_are_in_the_table() -> None:
    from statemachine_engine.actions._loader import LOAD_FAILURE_RULE
    from statemachine_engine.config import loader
    from statemachine_engine.errors import LOAD_RULE, UNKNOWN_ACTION_RULE

    assert RULES[LOAD_RULE].title == "the config cannot be loaded"
    assert RULES[UNKNOWN_ACTION_RULE].title == "unknown action type"
    assert RULES[loader.UNDEFINED_STATE_RULE].title == "a transition names an undefined state"
    assert RULES[loader.MALFORMED_TIMEOUT_RULE].title == "malformed timeout"
    assert RULES[LOAD_FAILURE_RULE].title == "an action file that cannot be loaded"


# --- SM102 unknown action types -------------------------------------------------------


def test_sm102_unknown_action_type() -> None:
    text = CLEAN.replace("type: bash", "type: bsh")
    assert "SM102" in codes(text)
    assert "SM102" not in codes(text, LintContext(is_known_action=lambda kind: True))
    assert "SM102" not in codes(CLEAN)


def test_sm102_the_activity_log_alias_is_known() -> None:
    text = CLEAN.replace("type: bash, command:", "type: activity_log, message:")
    assert "SM102" not in codes(text)


# --- SM103 malformed timeouts ---------------------------------------------------------


def test_sm103_the_loader_rejects_an_unusable_timeout_event() -> None:
    text = "initial_state: a\ntransitions:\n  - {from: a, to: b, event: timeout(soon)}\n"
    assert load_code(text) == ("SM103", 3)


def test_sm103_the_loader_rejects_an_unusable_timeout_in_events() -> None:
    text = "initial_state: a\nevents: [go, timeout(0)]\ntransitions: []\n"
    assert load_code(text) == ("SM103", 2)


@pytest.mark.parametrize("event", ["Timeout(5)", "TIMEOUT(5)", "timeout[5]"])
def test_sm103_an_event_spelled_like_a_timeout(event: str) -> None:
    text = f"""
        initial_state: a
        events: ["{event}"]
        transitions:
          - {{from: a, to: completed, event: "{event}"}}
    """
    assert lint(text) == [("SM103", 5)]
    assert lint(text.replace(event, "timeout(5)")) == []


@pytest.mark.parametrize("value", [0, True, "0s"])
def test_sm103_an_action_timeout_that_cannot_be_meant(value: object) -> None:
    text = CLEAN.replace("timeout: 5", f"timeout: {value}")
    assert lint(text) == [("SM103", 9)]


@pytest.mark.parametrize("value", ["90s", "1h30m", 2.5])
def test_sm103_an_action_timeout_with_units_is_accepted(value: object) -> None:
    assert lint(CLEAN.replace("timeout: 5", f"timeout: {value}")) == []


@pytest.mark.parametrize("value", ["soon", -1, "'true'"])
def test_sm110_a_builtin_action_timeout_that_is_no_number_of_seconds(value: object) -> None:
    text = CLEAN.replace("timeout: 5", f"timeout: {value}")
    [found] = run_checks(config_from_text(textwrap.dedent(text), path="m.yaml"), LintContext())
    assert (found.code, found.position.line) == ("SM110", 9)
    # The words the action fails with when it runs (see test_builtin_actions).
    assert found.message.startswith(
        "bash action in state 'working' fails every time it runs: option timeout must "
    )


SLEEPING = """
    initial_state: waiting
    transitions:
      - {from: waiting, to: completed, event: wake_up}
    actions:
      waiting:
        - {type: sleep, OPTION}
"""


@pytest.mark.parametrize(
    ("option", "fine"),
    [("duration: soon", False), ("seconds: -2", False), ("duration: 90s", True)],
)
def test_sm110_a_builtin_s_other_seconds_no_number_can_be_made_of(option: str, fine: bool) -> None:
    assert lint(SLEEPING.replace("OPTION", option)) == ([] if fine else [("SM110", 7)])
    with_placeholder = SLEEPING.replace("OPTION", "duration: '{pause|default:1}'")
    assert lint(with_placeholder) == []  # known only when it runs


def test_a_custom_action_s_wait_may_mean_anything(tmp_path: Path) -> None:
    text = ASKING.replace("{type: answer}", "{type: answer, wait: forever}")
    context = custom_context(tmp_path, ANSWER_ACTION)
    assert [code for code, _ in lint(text, context) if code.startswith("SM1")] == []


def test_sm103_a_custom_action_reads_its_timeout_itself(tmp_path: Path) -> None:
    text = ASKING.replace("{type: answer}", "{type: answer, timeout: soon, delay: later}")
    context = custom_context(tmp_path, ANSWER_ACTION)
    assert [code for code, _ in lint(text, context) if code.startswith("SM1")] == [
        "SM103",
        "SM103",
    ]


SENDING = """
    initial_state: waiting
    transitions:
      - {from: waiting, to: completed, event: event_sent}
    actions:
      waiting:
        - {type: send_event, target_machine: other, event_type: ping, WHEN}
"""


@pytest.mark.parametrize(
    "when", ["delay: soon", "delay: -5", "at: tomorrow", "delay: 1, at: '2026-01-01'"]
)
def test_sm110_a_delay_or_at_no_time_can_be_made_of(when: str) -> None:
    assert lint(SENDING.replace("WHEN", when)) == [("SM110", 7)]


@pytest.mark.parametrize(
    "when", ["delay: 90s", "delay: 2", "at: '2026-12-07T09:00:00Z'", "delay: '{wait|default:5}'"]
)
def test_sm103_a_usable_delay_or_at_is_accepted(when: str) -> None:
    assert lint(SENDING.replace("WHEN", when)) == []


def test_sm103_an_action_timeout_written_as_a_placeholder_is_accepted() -> None:
    assert lint(CLEAN.replace("timeout: 5", 'timeout: "{limit|default:5}"')) == []


# --- SM104 conflicting / SM204 duplicate transitions ----------------------------------


def test_sm104_same_source_and_event_to_another_target() -> None:
    text = """
        initial_state: waiting
        events: [go]
        transitions:
          - {from: waiting, to: completed, event: go}
          - {from: waiting, to: stopped, event: go}
    """
    assert lint(text) == [("SM104", 6)]
    assert lint(text.replace("to: stopped, event: go", "to: stopped, event: timeout(1)")) == []


def test_sm104_a_wildcard_and_a_state_transition_on_one_event_do_not_conflict() -> None:
    text = CLEAN.replace(
        "transitions:\n", "transitions:\n      - {from: '*', to: completed, event: go}\n"
    )
    assert lint(text) == []


def test_sm104_guarded_transitions_on_one_event_do_not_conflict() -> None:
    text = """
        initial_state: waiting
        events: [go]
        transitions:
          - {from: waiting, to: completed, event: go, if: "event_data.payload.n > 3"}
          - {from: waiting, to: stopped, event: go, if: "event_data.payload.n < 0"}
          - {from: waiting, to: shutdown, event: go}
    """
    assert lint(text) == []
    two_fallbacks = text + "      - {from: waiting, to: stopped, event: go}\n"
    assert lint(two_fallbacks) == [("SM104", 8)]


def test_sm204_the_same_transition_twice() -> None:
    text = """
        initial_state: waiting
        events: [go]
        transitions:
          - {from: waiting, to: completed, event: go}
          - {from: waiting, to: completed, event: go}
    """
    assert lint(text) == [("SM204", 6)]
    once = """
        initial_state: waiting
        events: [go]
        transitions:
          - {from: [waiting, idle], to: completed, event: go}
          - {from: completed, to: idle, event: timeout(1)}
    """
    assert lint(once) == []


# --- SM105 dead ends --------------------------------------------------------------------


def test_sm105_a_non_terminal_state_with_no_way_out() -> None:
    text = """
        initial_state: waiting
        states: [waiting, stuck]
        events: [go]
        transitions:
          - {from: waiting, to: stuck, event: go}
          - {from: stuck, to: stuck, event: go}
    """
    assert lint(text) == [("SM105", 7)]
    assert lint(text + "    final: [stuck]\n") == []
    wildcard = text + "      - {from: '*', to: waiting, event: go}\n"
    assert "SM105" not in codes(wildcard)


# --- SM201 unreachable ------------------------------------------------------------------


def test_sm201_an_unreachable_state() -> None:
    text = CLEAN + "      orphan:\n        - {type: log, message: never}\n"
    text = text.replace("events: [go]", "events: [go, back]")
    text = text.replace(
        "transitions:\n", "transitions:\n      - {from: orphan, to: waiting, event: back}\n"
    )
    assert lint(text) == [("SM201", 5)]


def test_sm201_targets_of_wildcard_transitions_are_reachable() -> None:
    text = CLEAN.replace("events: [go]", "events: [go, stop]").replace(
        "transitions:\n", "transitions:\n      - {from: '*', to: stopped, event: stop}\n"
    )
    assert lint(text) == []


# --- SM202 events nothing sends ---------------------------------------------------------


def test_sm202_an_event_nothing_emits() -> None:
    text = CLEAN.replace("    events: [go]\n", "")
    assert lint(text) == [("SM202", 4)]


def test_sm202_events_builtin_actions_emit_by_default_or_as_configured() -> None:
    text = """
        initial_state: waiting
        transitions:
          - {from: waiting, to: working, event: new_job}
          - {from: waiting, to: waiting, event: no_jobs}
          - {from: working, to: done, event: finished}
          - {from: working, to: failed, event: error}
          - {from: done, to: completed, event: timeout(2)}
          - {from: failed, to: completed, event: exit_3}
        actions:
          waiting:
            - {type: check_database_queue}
          working:
            - {type: bash, command: "true", success: finished}
          failed:
            - {type: bash, command: "exit 3", error_mappings: {3: exit_3}}
    """
    assert "SM202" not in codes(text)


def test_sm202_job_lost_is_sent_by_the_engine_to_machines_that_claim_jobs() -> None:
    text = """
        initial_state: waiting
        transitions:
          - {from: waiting, to: working, event: new_job}
          - {from: waiting, to: waiting, event: no_jobs}
          - {from: working, to: waiting, event: job_done}
          - {from: working, to: waiting, event: job_lost}
        actions:
          waiting:
            - {type: check_database_queue}
          working:
            - {type: bash, command: "true"}
    """
    assert "SM202" not in codes(text)
    no_claims = text.replace("{type: check_database_queue}", "{type: log, success: new_job}")
    assert ("SM202", 7) in lint(no_claims)  # the job_lost transition


def test_sm202_events_sent_by_other_configs_of_the_run_count_as_sent() -> None:
    text = CLEAN.replace("    events: [go]\n", "")
    assert codes(text, LintContext(external_events=frozenset({"go"}))) == []


def test_sm202_a_custom_action_may_emit_anything_from_its_state() -> None:
    text = CLEAN.replace("    events: [go]\n", "").replace(
        "working:\n", "waiting:\n        - {type: my_own}\n      working:\n"
    )
    context = LintContext(is_known_action=lambda kind: True)
    assert codes(text, context) == []


# --- SM203 success/error with no transition ---------------------------------------------


def test_sm203_success_and_error_events_need_a_transition_from_their_state() -> None:
    text = CLEAN.replace("timeout: 5}", "timeout: 5, success: job_done, error: failed}")
    assert lint(text) == [("SM203", 9)]
    handled = text.replace(
        "transitions:\n", "transitions:\n      - {from: working, to: completed, event: failed}\n"
    )
    assert lint(handled) == []


def test_sm203_a_wildcard_transition_handles_the_event() -> None:
    text = CLEAN.replace("timeout: 5}", "timeout: 5, error: stop}").replace(
        "transitions:\n", "transitions:\n      - {from: '*', to: stopped, event: stop}\n"
    )
    assert lint(text) == []


# --- SM205 placeholders -----------------------------------------------------------------


def test_sm205_a_placeholder_nothing_sets() -> None:
    text = CLEAN.replace("echo {machine_name}", "echo {machine_name} {nowhere.deep}")
    assert lint(text) == [("SM205", 9)]


@pytest.mark.parametrize(
    "template",
    [
        "{nowhere|default:0}",
        "{stdout}",
        "{event_data.payload.anything}",
        "${HOME} {{literal}}",
        "{count|length}",
        "{promoted}",
    ],
)
def test_sm205_placeholders_something_fills(template: str) -> None:
    text = CLEAN.replace("echo {machine_name}", f"echo {template}").replace(
        "events: [go]",
        "events: {go: {context_map: {promoted: payload.x}}}",
    )
    text += "        - {type: set_context, key: count.total, value: 1}\n"
    assert lint(text) == []


def test_sm205_is_skipped_when_job_data_can_fill_any_key() -> None:
    text = CLEAN.replace("echo {machine_name}", "echo {file}")
    assert codes(text) == ["SM205"]
    claiming = text + "        - {type: check_database_queue}\n"
    assert "SM205" not in codes(claiming)


# --- SM206 values from outside in bash arithmetic contexts ----------------------------

ARITHMETIC = """
    initial_state: waiting
    events:
      go: {context_map: {n: payload.n}}
    transitions:
      - {from: waiting, to: working, event: go}
      - {from: working, to: waiting, event: job_done}
      - {from: working, to: waiting, event: error}
    actions:
      working:
        - {type: set_context, key: count, value: 0}
"""


def arithmetic_codes(*actions: str) -> list[str]:
    """Codes of ``ARITHMETIC`` with these actions (YAML flow mappings) added."""
    text = ARITHMETIC + "".join(f"        - {action}\n" for action in actions)
    return [code for code in codes(text) if code == "SM206"]


def bash(command: str, **options: object) -> str:
    return json.dumps({"type": "bash", "command": command, **options})


@pytest.mark.parametrize(
    "command",
    [
        "[[ {n} -gt 3 ]] && echo big",
        "echo $(( {event_data.payload.n} + 1 ))",
        "let r={current_job.data.n}*2",
        "(( {n|default:0} > 1 ))",
        "s=abcdef; echo ${s:{n}:2}",
        "a=(x y); echo ${a[{limit}]}",
    ],
)
def test_sm206_a_value_from_outside_in_an_arithmetic_context(command: str) -> None:
    assert arithmetic_codes(bash(command)) == ["SM206"]


@pytest.mark.parametrize(
    "command",
    [
        "[[ {count} -gt 3 ]]",  # set by the config itself
        "echo $(( {stdout} + 1 ))",  # written by a bash action of the config
        "echo $(( {event_data.payload.items|length} ))",  # always an integer
        "test {n} -gt 3",  # test compares integers without evaluating them
        "[[ {n} == 3 ]] && echo {n}",
        "echo $(( {n|raw} ))",  # a trusted value, inserted as shell code
    ],
)
def test_sm206_not_reported_for_values_the_config_answers_for(command: str) -> None:
    assert arithmetic_codes(bash(command)) == []


def test_sm206_one_finding_per_placeholder_and_none_with_quote_false() -> None:
    assert arithmetic_codes(bash("echo $(( {n} + {n} )) $(( {n} ))")) == ["SM206"]
    assert arithmetic_codes(bash("echo $(( {n} ))", quote=False)) == []


def test_sm206_with_a_custom_action_only_payloads_and_job_data_are_reported() -> None:
    custom = json.dumps({"type": "enrich"})
    assert arithmetic_codes(custom, bash("echo $(( {limit} ))")) == []
    assert arithmetic_codes(custom, bash("echo $(( {n} ))")) == ["SM206"]


# --- SM207 guards reading keys nothing sets ---------------------------------------------


def test_sm207_a_guard_reading_a_key_nothing_sets() -> None:
    assert lint(GUARDED.replace("GUARD", "tries > 3")) == [("SM207", 5)]


def test_sm207_keys_the_config_or_the_event_sets_are_known() -> None:
    assert lint(GUARDED.replace("GUARD", "event_data.payload.n > 3")) == []
    promoted = GUARDED.replace("events: [go]", "events: {go: {context_map: {n: payload.n}}}")
    assert lint(promoted.replace("GUARD", "n > 3")) == []
    counted = (
        GUARDED
        + """
    actions:
      waiting:
        - {type: set_context, key: tries, value: 1}
    """
    )
    assert lint(counted.replace("GUARD", "tries > 3")) == []


def test_every_rule_has_a_test_above() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    for code in RULES:
        assert f"test_{code.lower()}_" in source, code


# --- SM107 guards that do not compile --------------------------------------------------

GUARDED = """
    initial_state: waiting
    events: [go]
    transitions:
      - {from: waiting, to: completed, event: go, if: "GUARD"}
      - {from: waiting, to: stopped, event: go}
"""


@pytest.mark.parametrize(
    "guard",
    ["n >", "__import__('os')", "x.__class__ == 1", "system('ls')", "", "1 == 1 &&& 2"],
)
def test_sm107_the_loader_rejects_a_guard_that_does_not_compile(guard: str) -> None:
    assert load_code(GUARDED.replace("GUARD", guard)) == ("SM107", 5)


def test_sm107_a_guard_must_be_text() -> None:
    text = GUARDED.replace('if: "GUARD"', "if: true")
    assert load_code(text) == ("SM107", 5)


def test_sm107_the_message_says_what_is_wrong() -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_text(textwrap.dedent(GUARDED.replace("GUARD", "size(x) > lenght(y)")))
    assert "unknown function lenght()" in str(caught.value)


# --- SM106 polling actions whose empty result leads nowhere ----------------------------

WORKER = """
    initial_state: waiting
    events: [stop]
    transitions:
      - {from: waiting, to: working, event: new_job}
      - {from: waiting, to: waiting, event: no_jobs}
      - {from: working, to: waiting, event: job_done}
      - {from: '*', to: stopped, event: stop}
    actions:
      waiting:
        - {type: check_database_queue, job_type: task}
      working:
        - {type: bash, command: "true"}
"""


def test_sm106_a_worker_whose_no_jobs_loop_is_missing() -> None:
    assert lint(WORKER) == []
    broken = WORKER.replace("      - {from: waiting, to: waiting, event: no_jobs}\n", "")
    assert lint(broken) == [("SM106", 10)]
    renamed = WORKER.replace("job_type: task", "job_type: task, empty: idle")
    assert ("SM106", 11) in lint(renamed)  # (and SM202: nothing returns no_jobs now)
    assert lint(renamed.replace("event: no_jobs", "event: idle")) == []


def test_sm106_a_wildcard_transition_on_the_empty_result_counts() -> None:
    text = WORKER.replace(
        "{from: waiting, to: waiting, event: no_jobs}", "{from: '*', to: waiting, event: no_jobs}"
    )
    assert "SM106" not in codes(text)


def test_sm106_not_reported_when_the_state_moves_on_by_itself() -> None:
    broken = WORKER.replace("      - {from: waiting, to: waiting, event: no_jobs}\n", "")
    timeout = broken.replace(
        "transitions:\n", "transitions:\n      - {from: waiting, to: waiting, event: timeout(5)}\n"
    )
    assert "SM106" not in codes(timeout)
    sleeping = broken.replace(
        "transitions:\n", "transitions:\n      - {from: waiting, to: waiting, event: wake_up}\n"
    ).replace("job_type: task}\n", "job_type: task}\n        - {type: sleep, duration: 1}\n")
    assert "SM106" not in codes(sleeping)
    custom = broken.replace("job_type: task}\n", "job_type: task}\n        - {type: mine}\n")
    known = LintContext(is_known_action=lambda kind: True)
    assert "SM106" not in codes(custom, known)
    # An action before the polling one does not help.
    before = broken.replace(
        "        - {type: check_database_queue",
        "        - {type: sleep, duration: 1}\n        - {type: check_database_queue",
    ).replace(
        "transitions:\n", "transitions:\n      - {from: waiting, to: waiting, event: wake_up}\n"
    )
    assert "SM106" in codes(before)


def test_sm106_a_polling_action_in_a_terminal_state_ends_the_machine() -> None:
    text = """
        initial_state: completed
        transitions:
          - {from: completed, to: working, event: new_job}
          - {from: working, to: completed, event: job_done}
        actions:
          completed:
            - {type: check_database_queue}
          working:
            - {type: bash, command: "true"}
    """
    assert "SM106" not in codes(text)


@pytest.mark.parametrize(
    ("action", "empty"),
    [("check_events", "no_events"), ("get_pending_jobs", "no_jobs")],
)
def test_sm106_the_other_polling_actions(action: str, empty: str) -> None:
    text = f"""
        initial_state: idle
        events: [ping, stop]
        transitions:
          - {{from: idle, to: busy, event: ping}}
          - {{from: idle, to: busy, event: jobs_found}}
          - {{from: busy, to: idle, event: job_done}}
          - {{from: '*', to: stopped, event: stop}}
        actions:
          idle:
            - {{type: {action}, event_types: [ping]}}
          busy:
            - {{type: bash, command: "true"}}
    """
    assert ("SM106", 11) in lint(text)
    loop = text.replace(
        "transitions:\n", f"transitions:\n          - {{from: idle, to: idle, event: {empty}}}\n"
    )
    assert "SM106" not in codes(loop)


def test_sm106_wait_for_jobs_needs_pending_and_its_timeout_event_handled() -> None:
    text = """
        initial_state: waiting
        transitions:
          - {from: waiting, to: waiting, event: still_running}
          - {from: waiting, to: completed, event: all_jobs_complete}
          - {from: waiting, to: completed, event: jobs_timeout}
          - {from: waiting, to: completed, event: no_jobs_tracked}
        actions:
          waiting:
            - {type: wait_for_jobs, pending: still_running}
    """
    assert lint(text) == []
    no_pending = text.replace(", pending: still_running", "")
    assert ("SM106", 10) in lint(no_pending)
    no_timeout = text.replace("event: jobs_timeout}", "event: jobs_gone}")
    assert ("SM106", 10) in lint(no_timeout)


# --- custom actions that declare their traits ----------------------------------------

ANSWER_ACTION = """
from statemachine_engine.actions import BaseAction


class AnswerAction(BaseAction):
    default_success = "answered"
    other_events = {"unsure": "no_answer"}
    writes = frozenset({"answer"})

    async def execute(self, context):
        context["answer"] = 42
        return self.success_event
"""

ASKING = """
    initial_state: asking
    transitions:
      - {from: asking, to: telling, event: answered}
      - {from: asking, to: asking, event: no_answer}
      - {from: asking, to: completed, event: gave_up}
      - {from: telling, to: completed, event: continue}
    actions:
      asking:
        - {type: answer}
      telling:
        - {type: log, message: "{answer} {unset}"}
"""


def custom_context(tmp_path: Path, source: str) -> LintContext:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "answer_action.py").write_text(source)
    return LintContext.of(ActionLoader(tmp_path))


def test_a_custom_action_that_declares_its_traits_is_checked_like_a_builtin(
    tmp_path: Path,
) -> None:
    config = config_from_text(textwrap.dedent(ASKING), path="m.yaml")
    found = run_checks(config, custom_context(tmp_path, ANSWER_ACTION))
    # Nothing returns gave_up; {answer} is written by the action, {unset} by nothing.
    assert [(f.code, f.position.line) for f in found] == [("SM202", 6), ("SM205", 12)]
    assert "{unset}" in found[1].message


def test_a_custom_action_that_declares_nothing_may_return_and_write_anything(
    tmp_path: Path,
) -> None:
    undeclared = "\n".join(
        line
        for line in ANSWER_ACTION.splitlines()
        if not line.lstrip().startswith(("default_success", "other_events", "writes"))
    )
    assert lint(ASKING, custom_context(tmp_path, undeclared)) == []


def test_a_custom_action_that_claims_jobs_gets_job_lost_from_the_engine(tmp_path: Path) -> None:
    claiming = ANSWER_ACTION.replace(
        'writes = frozenset({"answer"})', 'writes = frozenset({"answer"})\n    claims_jobs = True'
    )
    text = ASKING.replace("event: gave_up}", "event: job_lost}")
    assert ("SM202", 6) in lint(text, custom_context(tmp_path, ANSWER_ACTION))
    assert "SM202" not in codes(text, custom_context(tmp_path / "claiming", claiming))


def test_a_custom_polling_action_must_lead_somewhere_when_it_finds_nothing(
    tmp_path: Path,
) -> None:
    polling = ANSWER_ACTION.replace(
        'writes = frozenset({"answer"})',
        'writes = frozenset({"answer"})\n    polling_results = ("unsure",)',
    )
    context = custom_context(tmp_path, polling)
    assert "SM106" not in codes(ASKING, context)
    stalled = ASKING.replace("      - {from: asking, to: asking, event: no_answer}\n", "")
    assert ("SM106", 9) in lint(stalled, context)


def test_a_custom_action_file_that_cannot_be_imported_is_opaque(tmp_path: Path) -> None:
    found = lint(ASKING, custom_context(tmp_path, "raise RuntimeError('no')\n"))
    assert found == [("SM109", 1)]  # and nothing that reads its traits


@pytest.mark.parametrize(
    ("source", "line", "words"),
    [
        ("def oops(:\n", 1, "cannot import action 'answer': SyntaxError: "),
        ("import os\nraise SystemExit(3)\n", 2, "cannot import action 'answer': SystemExit: 3"),
        ("X = 1\n", None, "action 'answer': expected a BaseAction subclass named AnswerAction"),
        (
            ANSWER_ACTION.replace("async def execute", "def execute"),
            10,
            "action 'answer': AnswerAction.execute must be `async def`",
        ),
    ],
    ids=["syntax-error", "exits", "no-class", "plain-def"],
)
def test_sm109_an_action_file_that_cannot_be_loaded_is_reported_where_it_breaks(
    tmp_path: Path, source: str, line: int | None, words: str
) -> None:
    text = ASKING.replace("      telling:", "        - {type: answer}\n      telling:")
    config = config_from_text(textwrap.dedent(text), path="m.yaml")
    file = str((tmp_path / "answer_action.py").resolve())

    [found] = run_checks(config, custom_context(tmp_path, source))

    assert (found.code, found.position.path, found.position.line) == ("SM109", file, line)
    assert found.message.startswith(words)
    # Once per type, naming the first state that runs it.
    assert found.message.endswith("; state 'asking' runs it (m.yaml:10)")
    with pytest.raises(ConfigError) as refused:  # what statemachine refuses to start with
        ActionLoader(tmp_path).load("answer")
    assert refused.value.rule == "SM109"
    assert found.message.startswith(refused.value.message)


# --- SM108 unknown keys -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "hint"),
    [
        ("initial_state: a\ntransitons: []\n", 2, "did you mean 'transitions'?"),
        ("initial_state: a\ntransitions:\n  - {from: a, to: b, evnt: go}\n", 3, "'event'?"),
        ("initial_state: a\ntransitions:\n  - {from: a, to: b, event: go, when: x}\n", 3, "'if'?"),
        (
            "initial_state: a\nevents: {go: {contex_map: {}}}\ntransitions: []\n",
            2,
            "'context_map'?",
        ),
    ],
)
def test_sm108_the_loader_rejects_an_unknown_key_naming_the_nearest(
    text: str, line: int, hint: str
) -> None:
    assert load_code(text) == ("SM108", line)
    with pytest.raises(ConfigError, match=hint):
        config_from_text(text)


def test_sm108_extension_keys_are_the_users_own() -> None:
    assert lint("initial_state: a\nx-notes: {owner: me}\ntransitions: []\nfinal: [a]\n") == []


def test_sm108_a_manifest_is_not_taken_for_a_machine_config() -> None:
    with pytest.raises(ConfigError, match="statemachine-system up"):
        config_from_text("machines:\n  worker: {config: worker.yaml}\n")


def test_sm108_an_option_a_builtin_action_does_not_know() -> None:
    assert lint(CLEAN.replace("timeout: 5", "timeout: 5, comand: ls")) == [("SM108", 9)]
    found = run_checks(
        config_from_text(textwrap.dedent(CLEAN.replace("timeout: 5", "timout: 5"))),
        LintContext(),
    )
    assert "did you mean 'timeout'?" in found[0].message


def test_sm108_options_in_params_and_common_ones_are_known() -> None:
    text = CLEAN.replace(
        '{type: bash, command: "echo {machine_name}", timeout: 5}',
        "{type: bash, description: d, retry: {attempts: 2}, params: {command: ls, timeout: 5}}",
    )
    assert lint(text) == []


def test_sm108_a_custom_action_checks_the_options_it_declares(tmp_path: Path) -> None:
    text = ASKING.replace("{type: answer}", "{type: answer, anything: 1}")
    assert lint(text, custom_context(tmp_path, ANSWER_ACTION)) == [("SM202", 6), ("SM205", 12)]
    declared = ANSWER_ACTION.replace(
        "    writes =", "    options = frozenset({'tone'})\n    writes ="
    )
    found = lint(text, custom_context(tmp_path / "declared", declared))
    assert ("SM108", 10) in found


def test_sm108_every_builtin_declares_its_options() -> None:
    """A builtin that declared none would take any option: a typo in it would pass."""
    loader = ActionLoader()
    undeclared = [
        name for name in loader.known_types() if loader.load(name).known_options() is None
    ]
    assert undeclared == []
