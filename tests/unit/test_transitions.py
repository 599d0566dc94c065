"""Transition lookup and timeout events (config/_transitions.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statemachine_engine.config._transitions import (
    MalformedTimeout,
    TransitionTable,
    is_timeout_event,
    parse_timeout,
)
from statemachine_engine.config.model import WILDCARD, Transition


def t(source: str, target: str, event: str) -> Transition:
    return Transition(source, target, event, timeout=parse_timeout(event))


# --- lookup ------------------------------------------------------------------------------


def test_lookup_finds_the_transition() -> None:
    go = t("a", "b", "go")
    table = TransitionTable.build([go, t("b", "a", "back")])
    assert table.lookup("a", "go") is go
    assert table.lookup("b", "go") is None
    assert table.lookup("a", "unknown") is None
    assert table.lookup("nowhere", "go") is None


def test_exact_source_beats_wildcard_whatever_the_order() -> None:
    wild = t(WILDCARD, "stopped", "stop")
    exact = t("busy", "draining", "stop")
    for order in ([wild, exact], [exact, wild]):
        table = TransitionTable.build(order)
        assert table.lookup("busy", "stop") is exact
        assert table.lookup("idle", "stop") is wild


def test_first_match_in_file_order_wins_for_duplicates() -> None:
    first = t("a", "b", "go")
    second = t("a", "c", "go")
    wild_first = t(WILDCARD, "x", "stop")
    wild_second = t(WILDCARD, "y", "stop")
    table = TransitionTable.build([first, wild_first, second, wild_second])
    assert table.lookup("a", "go") is first
    assert table.lookup("a", "stop") is wild_first


def test_wildcard_matches_any_state_even_unknown_ones() -> None:
    wild = t(WILDCARD, "stopped", "stop")
    table = TransitionTable.build([wild])
    assert table.lookup("anything", "stop") is wild
    assert table.lookup("stopped", "stop") is wild


def test_self_transition() -> None:
    loop = t("waiting", "waiting", "no_jobs")
    assert TransitionTable.build([loop]).lookup("waiting", "no_jobs") is loop


def test_handles_lists_every_event_mentioned() -> None:
    table = TransitionTable.build([t("a", "b", "go"), t(WILDCARD, "s", "stop")])
    assert table.handles("go")
    assert table.handles("stop")
    assert not table.handles("other")
    assert table.events == frozenset({"go", "stop"})


def test_empty_table() -> None:
    table = TransitionTable.build([])
    assert table.lookup("a", "b") is None
    assert table.timeouts_for("a") == ()
    assert not table.handles("start")


# --- timeouts_for -------------------------------------------------------------------------


def test_timeouts_for_is_sorted_shortest_first() -> None:
    long = t("waiting", "late", "timeout(10)")
    short = t("waiting", "early", "timeout(500ms)")
    mid = t("waiting", "mid", "timeout(2s)")
    table = TransitionTable.build([long, t("waiting", "x", "go"), short, mid])
    assert table.timeouts_for("waiting") == (short, mid, long)
    assert table.timeouts_for("other") == ()


def test_wildcard_timeouts_are_inherited_and_sorted_with_own() -> None:
    own = t("waiting", "idle", "timeout(5)")
    wild_short = t(WILDCARD, "panic", "timeout(1)")
    wild_long = t(WILDCARD, "giveup", "timeout(1h)")
    table = TransitionTable.build([wild_long, own, wild_short])
    assert table.timeouts_for("waiting") == (wild_short, own, wild_long)
    assert table.timeouts_for("elsewhere") == (wild_short, wild_long)


def test_own_timeout_shadows_the_wildcard_one_with_the_same_event() -> None:
    own = t("waiting", "idle", "timeout(5)")
    wild = t(WILDCARD, "stopped", "timeout(5)")
    table = TransitionTable.build([wild, own])
    assert table.timeouts_for("waiting") == (own,)
    assert table.timeouts_for("busy") == (wild,)
    assert table.lookup("waiting", "timeout(5)") is own
    assert table.lookup("busy", "timeout(5)") is wild


def test_duplicate_timeout_transition_is_armed_once() -> None:
    first = t("a", "b", "timeout(5)")
    table = TransitionTable.build([first, t("a", "c", "timeout(5)")])
    assert table.timeouts_for("a") == (first,)


def test_same_duration_in_different_spellings_are_different_events() -> None:
    seconds = t("a", "b", "timeout(1)")
    millis = t("a", "c", "timeout(1000ms)")
    table = TransitionTable.build([seconds, millis])
    assert table.timeouts_for("a") == (seconds, millis)
    assert table.lookup("a", "timeout(1000ms)") is millis


# --- parse_timeout ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "seconds"),
    [
        ("timeout(5)", 5.0),
        ("timeout(2.5s)", 2.5),
        ("timeout(2.5)", 2.5),
        ("timeout(500ms)", 0.5),
        ("timeout(10m)", 600.0),
        ("timeout(1h)", 3600.0),
        ("timeout(.5)", 0.5),
        ("timeout(5.)", 5.0),
        ("timeout(0.001s)", 0.001),
        ("timeout(007)", 7.0),
    ],
)
def test_parse_timeout_units(event: str, seconds: float) -> None:
    assert parse_timeout(event) == pytest.approx(seconds)
    assert is_timeout_event(event)


@pytest.mark.parametrize(
    "event",
    [
        "timeout()",
        "timeout(abc)",
        "timeout(-1)",
        "timeout(+1)",
        "timeout(5 )",
        "timeout( 5)",
        "timeout (5)",
        "timeout(5",
        "timeout(5)x",
        "timeout(5)\n",
        "timeout(5s)s",
        "timeout(1e3)",
        "timeout(5S)",
        "timeout(5 s)",
        "timeout(5d)",
        "timeout(1.2.3)",
        "timeout(\u0663)",  # a non-ASCII digit
    ],
)
def test_malformed_timeouts_are_rejected(event: str) -> None:
    assert is_timeout_event(event)
    with pytest.raises(MalformedTimeout) as info:
        parse_timeout(event)
    assert str(info.value) == (
        f"malformed timeout event {event!r}: write timeout(N) with N a positive "
        "number of seconds, e.g. timeout(5) or timeout(500ms)"
    )


@pytest.mark.parametrize("event", ["timeout(0)", "timeout(0ms)", "timeout(0.0s)", "timeout(.0)"])
def test_zero_timeout_is_rejected(event: str) -> None:
    with pytest.raises(MalformedTimeout, match=r"the duration must be > 0"):
        parse_timeout(event)


@pytest.mark.parametrize(
    "event", ["timeout", "timeouts", "timeout_expired", "on_timeout(5)", "Timeout(5)", "start"]
)
def test_ordinary_events_are_not_timeouts(event: str) -> None:
    assert not is_timeout_event(event)
    assert parse_timeout(event) is None


def test_bare_timeout_is_an_ordinary_event_in_the_table() -> None:
    plain = t("a", "b", "timeout")
    assert plain.timeout is None
    table = TransitionTable.build([plain])
    assert table.timeouts_for("a") == ()
    assert table.lookup("a", "timeout") is plain


# --- properties -----------------------------------------------------------------------------

STATES = st.sampled_from(["a", "b", "c", "d"])
EVENTS = st.sampled_from(["go", "stop", "timeout(1)", "timeout(2)", "timeout(500ms)", "x"])
SOURCES = st.one_of(STATES, st.just(WILDCARD))
TRANSITIONS = st.lists(st.builds(lambda s, d, e: t(s, d, e), SOURCES, STATES, EVENTS), max_size=25)


def reference_lookup(transitions: list[Transition], state: str, event: str) -> Transition | None:
    for transition in transitions:
        if transition.source == state and transition.event == event:
            return transition
    for transition in transitions:
        if transition.source == WILDCARD and transition.event == event:
            return transition
    return None


def reference_timeouts(transitions: list[Transition], state: str) -> list[Transition]:
    events = {tr.event for tr in transitions if tr.timeout is not None}
    armed = [reference_lookup(transitions, state, event) for event in events]
    return sorted((tr for tr in armed if tr is not None), key=lambda tr: tr.timeout or 0.0)


@settings(max_examples=300, deadline=None)
@given(transitions=TRANSITIONS, state=STATES, event=EVENTS)
def test_lookup_equals_brute_force_reference(
    transitions: list[Transition], state: str, event: str
) -> None:
    table = TransitionTable.build(transitions)
    assert table.lookup(state, event) is reference_lookup(transitions, state, event)


@settings(max_examples=300, deadline=None)
@given(transitions=TRANSITIONS, state=STATES)
def test_timeouts_for_arms_exactly_what_lookup_would_fire(
    transitions: list[Transition], state: str
) -> None:
    table = TransitionTable.build(transitions)
    armed = table.timeouts_for(state)
    expected = reference_timeouts(transitions, state)
    # Same transitions (identity), sorted by duration.
    assert sorted(map(id, armed)) == sorted(map(id, expected))
    assert [tr.timeout for tr in armed] == [tr.timeout for tr in expected]
    for transition in armed:
        assert table.lookup(state, transition.event) is transition


@given(
    value=st.integers(min_value=1, max_value=10**6),
    unit=st.sampled_from(["", "s", "ms", "m", "h"]),
)
def test_parse_timeout_scales_by_unit(value: int, unit: str) -> None:
    factor = {"": 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "h": 3600.0}[unit]
    assert parse_timeout(f"timeout({value}{unit})") == pytest.approx(value * factor)


@given(st.text(max_size=20))
def test_parse_timeout_never_raises_anything_else(body: str) -> None:
    event = f"timeout({body})"
    try:
        seconds = parse_timeout(event)
    except MalformedTimeout:
        return
    assert seconds is not None
    assert seconds > 0
