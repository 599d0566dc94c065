"""The dry run walks a config with the engine's own lookup rules."""

from __future__ import annotations

import textwrap

from statemachine_engine.config.loader import config_from_text
from statemachine_engine.tools.lint import Step, simulate

CONFIG = config_from_text(
    textwrap.dedent(
        """
        initial_state: waiting
        transitions:
          - {from: waiting, to: working, event: new_job}
          - {from: working, to: waiting, event: job_done}
          - {from: working, to: working, event: stop}
          - {from: waiting, to: idle, event: timeout(5)}
          - {from: "*", to: stopped, event: stop}
        """
    )
)


def test_the_path_of_states_taken() -> None:
    walk = simulate(CONFIG, ["new_job", "job_done", "timeout(5)"])
    assert walk.steps == (
        Step("waiting", "new_job", "working"),
        Step("working", "job_done", "waiting"),
        Step("waiting", "timeout(5)", "idle"),
    )
    assert (walk.final_state, walk.terminal, walk.unhandled) == ("idle", False, None)


def test_a_state_transition_wins_over_a_wildcard() -> None:
    assert simulate(CONFIG, ["new_job", "stop"]).final_state == "working"
    walk = simulate(CONFIG, ["stop"])
    assert (walk.final_state, walk.terminal) == ("stopped", True)


def test_it_stops_at_the_first_event_with_no_transition() -> None:
    walk = simulate(CONFIG, ["new_job", "new_job", "job_done"])
    assert walk.unhandled == 1
    assert walk.final_state == "working"
    assert walk.as_json()["unhandled"] == {"index": 1, "event": "new_job", "state": "working"}


def test_a_start_transition_is_taken_first_like_the_engine_does() -> None:
    config = config_from_text(
        "initial_state: a\ntransitions:\n  - {from: a, to: b, event: start}\n"
    )
    assert simulate(config, []).steps == (Step("a", "start", "b"),)
