"""A dry run: walk a config through events with the engine's own transition table,
running no action. Pure. Guards are not evaluated (there is no context): of the
transitions an event may take, the first in file order is followed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from ...config._transitions import TransitionTable
from ...config.model import START_EVENT, MachineConfig


class Step(NamedTuple):
    source: str
    event: str
    target: str


class Simulation(NamedTuple):
    """The path taken; ``unhandled`` is the index of the first event with no transition."""

    initial_state: str
    steps: tuple[Step, ...]
    final_state: str
    terminal: bool
    unhandled: int | None
    events: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        stopped = None
        if self.unhandled is not None:
            stopped = {
                "index": self.unhandled,
                "event": self.events[self.unhandled],
                "state": self.final_state,
            }
        return {
            "initial_state": self.initial_state,
            "steps": [{"from": s.source, "event": s.event, "to": s.target} for s in self.steps],
            "final_state": self.final_state,
            "terminal": self.terminal,
            "unhandled": stopped,
        }


def simulate(config: MachineConfig, events: Sequence[str]) -> Simulation:
    """Follow ``events`` from the initial state; stop at the first one with no transition.

    Like the engine, the machine first handles ``start`` when a transition takes it.
    """
    table = TransitionTable.build(config.transitions)
    state = config.initial_state
    steps: list[Step] = []
    started = table.first(state, START_EVENT)
    if started is not None:
        steps.append(Step(state, START_EVENT, started.target))
        state = started.target
    unhandled = None
    for index, event in enumerate(events):
        transition = table.first(state, event)
        if transition is None:
            unhandled = index
            break
        steps.append(Step(state, event, transition.target))
        state = transition.target
    return Simulation(
        config.initial_state,
        tuple(steps),
        state,
        config.is_terminal(state),
        unhandled,
        tuple(events),
    )
