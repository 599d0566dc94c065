"""Events held while actions run: taken by the first state that takes them, dropped once
the machine is back where they were held with no chance to take them on the way."""

from __future__ import annotations

from statemachine_engine.core._event import Event
from statemachine_engine.core._held import HeldEvents

#: Which state takes which event (the transition is the target state's name).
TAKES = {("waiting", "child_done"): "counting", ("working", "job_done"): "completed"}


def enter(held: HeldEvents, state: str) -> tuple[str | None, list[str]]:
    taken, dropped = held.enter(state, lambda event: TAKES.get((state, event.name)))
    return (None if taken is None else taken[0].name), [event.name for event in dropped]


def test_the_oldest_event_a_state_takes_is_taken_one_per_entry() -> None:
    held = HeldEvents()
    held.hold(Event("child_done", {"n": 1}), "counting")
    held.hold(Event("child_done", {"n": 2}), "counting")
    taken, dropped = held.enter("waiting", lambda event: TAKES.get(("waiting", event.name)))
    assert taken is not None
    assert taken[0].payload == {"n": 1}
    assert taken[1] == "counting"
    assert dropped == []
    assert len(held) == 1


def test_a_cycle_that_passes_a_taker_keeps_the_rest_for_the_next_lap() -> None:
    """waiting -> counting -> waiting -> ...: each lap takes one held child_done."""
    held = HeldEvents()
    for _ in range(3):
        held.hold(Event("child_done"), "counting")
    assert enter(held, "waiting") == ("child_done", [])
    assert enter(held, "counting") == (None, []), "waiting would have taken it: kept"
    assert enter(held, "waiting") == ("child_done", [])
    assert enter(held, "counting") == (None, [])
    assert enter(held, "waiting") == ("child_done", [])
    assert not held


def test_a_poller_back_in_its_state_drops_what_no_state_on_the_way_takes() -> None:
    held = HeldEvents()
    held.hold(Event("job_done"), "polling")
    assert enter(held, "polling") == (None, ["job_done"])
    assert not held


def test_a_poller_through_two_states_drops_it_when_back() -> None:
    held = HeldEvents()
    held.hold(Event("job_done"), "polling")
    assert enter(held, "sleeping") == (None, [])
    assert enter(held, "polling") == (None, ["job_done"])


def test_an_event_held_elsewhere_waits_for_a_state_that_takes_it() -> None:
    held = HeldEvents()
    held.hold(Event("job_done"), "preparing")
    assert enter(held, "polling") == (None, [])
    assert enter(held, "working") == ("job_done", [])


def test_the_oldest_is_popped_first() -> None:
    held = HeldEvents()
    held.hold(Event("a"), "s")
    held.hold(Event("b"), None)
    assert [event.name for event in held] == ["a", "b"]
    assert held.pop().name == "a"
    assert held.pop().name == "b"
    assert not held
