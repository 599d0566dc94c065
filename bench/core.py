"""Pure-core throughput: transitions per second with no I/O.

One transition here is what the engine's pure layer does per event: look the
transition up (exact source, then wildcard), find the timeouts to arm in the target
state, build ``event_data`` and promote ``context_map`` fields into the context.

    python bench/core.py [--events N]

Bar (DESIGN.md): >= 200,000 transitions/s; the `transitions` library, the fastest
Python FSM library, manages about 100,000/s (measured below when it is installed).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from _report import figure, header
from statemachine_engine.config._transitions import TransitionTable
from statemachine_engine.config.loader import config_from_text
from statemachine_engine.context._entries import event_data, promoted_fields

CONFIG = """
initial_state: waiting
states: [waiting, processing, completed, stopped]
events:
  new_job: {context_map: {file: payload.file}}
transitions:
  - {from: waiting, to: processing, event: new_job}
  - {from: processing, to: completed, event: job_done}
  - {from: completed, to: waiting, event: continue_work}
  - {from: waiting, to: waiting, event: no_jobs}
  - {from: processing, to: waiting, event: timeout(30)}
  - {from: "*", to: stopped, event: stop}
"""
CYCLE = ["new_job", "job_done", "continue_work", "no_jobs"]
BAR = 200_000


def run_core(events: int) -> float:
    config = config_from_text(CONFIG)
    table = TransitionTable.build(config.transitions)
    maps = {name: spec.context_map for name, spec in config.events.items()}
    payload = {"file": "a.txt"}
    context: dict[str, Any] = {}
    state = config.initial_state
    cycle = CYCLE * (events // len(CYCLE))
    start = time.perf_counter()
    for name in cycle:
        transition = table.lookup(state, name)
        assert transition is not None
        table.timeouts_for(transition.target)
        data = event_data(name, payload)
        context["event_data"] = data
        context.update(promoted_fields(maps.get(name), data))
        context["previous_state"] = state
        state = transition.target
        context["current_state"] = state
    return len(cycle) / (time.perf_counter() - start)


def run_transitions_library(events: int) -> float | None:
    try:
        from transitions import Machine
    except ImportError:
        return None

    class Model:
        pass

    model = Model()
    Machine(
        model=model,
        states=["waiting", "processing", "completed", "stopped"],
        transitions=[
            ["new_job", "waiting", "processing"],
            ["job_done", "processing", "completed"],
            ["continue_work", "completed", "waiting"],
            ["no_jobs", "waiting", "waiting"],
            ["stop", "*", "stopped"],
        ],
        initial="waiting",
        auto_transitions=False,
    )
    triggers = [getattr(model, name) for name in CYCLE] * (events // len(CYCLE))
    start = time.perf_counter()
    for trigger in triggers:
        trigger()
    return len(triggers) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400_000)
    args = parser.parse_args()
    header("pure core")
    best = max(run_core(args.events) for _ in range(3))
    figure("pure-core transitions/s (best of 3)", best, "/s", bar=">= 200,000/s", ok=best >= BAR)
    library = run_transitions_library(args.events // 4)
    if library is None:
        print("   (pip install transitions to measure that library side by side)")
    else:
        figure("`transitions` library, same machine, in memory", library, "/s")


if __name__ == "__main__":
    main()
