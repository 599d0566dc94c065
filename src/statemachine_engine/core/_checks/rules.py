"""The checks: pure functions from a config model to findings, one per rule.

Each check is ``check(config, context) -> Iterator[Finding]`` and reports under one
code of :data:`.findings.RULES`. :data:`CHECKS` lists them in code order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ...actions.base import COMMON_OPTIONS
from ...config._keys import unknown_key_message
from ...config._transitions import TransitionTable
from ...config.model import (
    LOST_JOB_EVENT,
    START_EVENT,
    WILDCARD,
    ActionSpec,
    MachineConfig,
    Position,
    Transition,
)
from ...context._entries import ENGINE_KEYS
from ...context.interpolation import interpolate_text, placeholders
from .action_files import check_action_files
from .action_times import check_action_times
from .context import LintContext
from .findings import Finding, finding
from .shell import check_arithmetic_placeholders

Check = Callable[[MachineConfig, LintContext], Iterator[Finding]]

# ``Timeout(5)``, ``TIMEOUT (5)``, ``timeout[5]``: meant as a timeout, but only
# ``timeout(N)`` is one, so the engine would wait for an event nobody sends.
_TIMEOUT_LOOKALIKE = re.compile(r"\s*timeout\s*[(\[{]", re.IGNORECASE)


def _actions(config: MachineConfig) -> Iterator[tuple[str, ActionSpec]]:
    for state, specs in config.actions.items():
        for spec in specs:
            yield state, spec


def _state_position(config: MachineConfig, state: str) -> Position:
    """Where a state is best pointed at: a transition from it, its actions, or ``states:``."""
    for transition in config.transitions:
        if transition.source == state:
            return transition.position
    specs = config.actions.get(state)
    if specs:
        return specs[0].position
    for transition in config.transitions:
        if transition.target == state:
            return transition.position
    return config.position_of("states")


def _has_way_out(config: MachineConfig, state: str) -> bool:
    return any(
        transition.target != state and transition.source in (state, WILDCARD)
        for transition in config.transitions
    )


def _named_only_as_target(config: MachineConfig, state: str) -> bool:
    """Without ``states:``, a state is defined by being initial, a source, having actions
    or being terminal; one that is merely the target of transitions is most likely a typo."""
    return not (
        config.declared_states
        or state == config.initial_state
        or state in config.actions
        or config.is_terminal(state)
        or any(transition.source == state for transition in config.transitions)
    )


def check_undefined_states(config: MachineConfig, context: LintContext) -> Iterator[Finding]:
    """SM101. (With ``states:`` the loader already rejects unlisted names.)"""
    for state in config.states:
        if _named_only_as_target(config, state):
            first = next(t for t in config.transitions if t.target == state)
            yield finding(
                "SM101",
                f"state {state!r} is only ever a transition target, so it has no way out "
                "(no actions, no transition from it, not terminal): fix the name if it is a "
                "typo, else add a transition from it, or list it under final:",
                first.position,
            )


def check_action_types(config: MachineConfig, context: LintContext) -> Iterator[Finding]:
    """SM102."""
    for state, spec in _actions(config):
        if not context.is_known_action(spec.type):
            yield finding(
                "SM102",
                f"unknown action type {spec.type!r} in state {state!r}: no builtin has that "
                f"name and no --actions-dir provides {spec.type}_action.py",
                spec.position,
            )


def check_timeouts(config: MachineConfig, context: LintContext) -> Iterator[Finding]:
    """SM103: events spelled like a timeout that are none. (The loader already rejects
    unusable ``timeout(...)`` events; :mod:`.action_times` checks actions' times.)"""
    for transition in config.transitions:
        if transition.timeout is None and _TIMEOUT_LOOKALIKE.match(transition.event):
            yield finding(
                "SM103",
                f"event {transition.event!r} looks like a timeout but is an ordinary event "
                "that nothing sends: write timeout(N) in lower case, e.g. timeout(5)",
                transition.position,
            )


def check_conflicting_transitions(config: MachineConfig, context: LintContext) -> Iterator[Finding]:
    """SM104: a later transition with the same source and event but another target never
    fires (the first in file order wins)."""
    first: dict[tuple[str, str], Transition] = {}
    for transition in config.transitions:
        if transition.guard is not None:
            continue  # tried before the fallback: guarded ones never shadow each other
        key = (transition.source, transition.event)
        earlier = first.setdefault(key, transition)
        if earlier is not transition and earlier.target != transition.target:
            yield finding(
                "SM104",
                f"transition {_describe(transition)} never fires: "
                f"{_describe(earlier)} (line {earlier.position.line}) has the same source "
                "and event, no if: either, and comes first. Remove one, give them different "
                "events, or give one an if: guard",
                transition.position,
            )


def check_dead_ends(config: MachineConfig, context: LintContext) -> Iterator[Finding]:
    """SM105: the machine would sit in such a state forever without ending."""
    for state in config.states:
        if (
            not config.is_terminal(state)
            and not _has_way_out(config, state)
            and not _named_only_as_target(config, state)
        ):
            yield finding(
                "SM105",
                f"state {state!r} has no way out (no transition from it, no wildcard, no "
                "timeout) and is not terminal: a machine that enters it would wait forever. "
                "Add a transition from it, or list it under final:",
                _state_position(config, state),
                state,
            )


def polling_results(spec: ActionSpec, context: LintContext) -> list[tuple[str, str | None]]:
    """What a polling action returns when it finds nothing: each option naming such a
    result, with its default (its class's ``polling_results``). Such a result must lead
    somewhere, else the machine stops polling and sits idle while work waits."""
    cls = context.action_class(spec.type)
    if cls is None or cls.other_events is None:
        return []
    return [(option, cls.other_events.get(option)) for option in cls.polling_results]


def check_stalled_polling(config: MachineConfig, context: LintContext) -> Iterator[Finding]:
    """SM106: a polling action whose "nothing yet" result leads nowhere.

    The result is then dropped as unhandled, the state's action list ends and the machine
    waits in the state: it never polls again, so jobs or events that arrive later wait
    forever. Nothing is reported when the state moves on by itself anyway: a
    ``timeout(N)`` transition from it, or a later action of its list whose event (or a
    custom action, which may return anything) has a transition from it. A terminal
    state is exempt: finding nothing there ends the machine.
    """
    table = TransitionTable.build(config.transitions)
    for state, specs in config.actions.items():
        if config.is_terminal(state):
            continue  # finding nothing there ends the machine: no stall
        for index, spec in enumerate(specs):
            results = polling_results(spec, context)
            if not results:
                continue
            if table.timeouts_for(state) or _later_action_moves_on(
                table, state, specs[index + 1 :], context
            ):
                continue
            for option, default in results:
                value = spec.options.get(option, default)
                event = None if value is None else str(value)
                if event is not None and ("{" in event or table.leads(state, event)):
                    continue
                yield finding(
                    "SM106", _stall_message(spec.type, state, option, event), spec.position
                )


def _later_action_moves_on(
    table: TransitionTable, state: str, later: Sequence[ActionSpec], context: LintContext
) -> bool:
    for spec in later:
        events = context.emitted_by(spec.type, spec.options)
        if events is None or any(table.leads(state, event) for event in events):
            return True
    return False


def _stall_message(action: str, state: str, option: str, event: str | None) -> str:
    fix = f"or add a timeout(N) transition from {state!r}, or list it under final:"
    if event is None:  # wait_for_jobs without pending:
        return (
            f"{action} in state {state!r} returns nothing while jobs are still pending, and "
            f"nothing else leads out of {state!r}: the machine stops waiting and sits there. "
            f"Set pending: (e.g. pending: still_running) with a transition {state} "
            f"--still_running--> {state}, {fix}"
        )
    return (
        f"{action} in state {state!r} returns {event!r} ({option}:) when it finds nothing, "
        f"and no transition from {state!r} takes {event!r}: the machine stops polling and "
        f"sits there while work waits. Add a transition on {event!r} (a loop {state} "
        f"--{event}--> {state} polls again), {fix}"
    )


def check_unknown_options(config: MachineConfig, context: LintContext) -> Iterator[Finding]:
    """SM108: an action option its action does not know (the loader reports unknown keys
    of the top level, transitions and events). Actions that do not declare their options
    (custom ones, unless they do) accept any."""
    for state, spec in _actions(config):
        cls = context.action_class(spec.type)
        known = None if cls is None else cls.known_options()
        if known is None:
            continue
        for key in spec.options:
            if key not in known:
                where = f"the options of a {spec.type} action (state {state!r})"
                listed = known - COMMON_OPTIONS | {"success", "error"}
                message = unknown_key_message(key, known, where, listed=listed)
                yield finding("SM108", message, spec.position)


def check_unreachable_states(config: MachineConfig, context: LintContext) -> Iterator[Finding]:
    """SM201: states no path of transitions leads to from the initial state."""
    reached = {config.initial_state}
    reached.update(t.target for t in config.transitions if t.source == WILDCARD)
    frontier = list(reached)
    while frontier:
        state = frontier.pop()
        for transition in config.transitions:
            if transition.source == state and transition.target not in reached:
                reached.add(transition.target)
                frontier.append(transition.target)
    for state in config.states:
        if state not in reached:
            yield finding(
                "SM201",
                f"state {state!r} is unreachable: no transition leads to it from the "
                f"initial state {config.initial_state!r}",
                _state_position(config, state),
            )


def check_unsent_events(config: MachineConfig, context: LintContext) -> Iterator[Finding]:
    """SM202: events of transitions that no action returns, that are no timeout, that are
    not declared under ``events:`` and that no other config of the run sends here."""
    emitted = {START_EVENT, *config.events, *context.external_events}
    opaque_states: set[str] = set()
    for state, spec in _actions(config):
        events = context.emitted_by(spec.type, spec.options)
        if events is None:
            opaque_states.add(state)
        else:
            emitted.update(events)
        if context.claims_jobs(spec.type):
            emitted.add(LOST_JOB_EVENT)  # by the engine, on a resume that lost the job
    reported: set[str] = set()
    for transition in config.transitions:
        event = transition.event
        if event in emitted or event in reported or transition.timeout is not None:
            continue
        # A custom action may return anything, in whichever state it runs.
        if transition.source in opaque_states or (transition.is_wildcard and opaque_states):
            continue
        reported.add(event)
        yield finding(
            "SM202",
            f"event {event!r} is returned by no action, is no timeout and is not declared "
            "under events:. If another machine or an operator sends it, list it under "
            "events:; otherwise fix the name",
            transition.position,
        )


def check_unhandled_results(config: MachineConfig, context: LintContext) -> Iterator[Finding]:
    """SM203: a ``success:``/``error:`` event with no transition from its state."""
    table = TransitionTable.build(config.transitions)
    for state, spec in _actions(config):
        for option in ("success", "error"):
            event = spec.options.get(option)
            if not isinstance(event, str) or "{" in event:
                continue
            if not table.leads(state, event):
                yield finding(
                    "SM203",
                    f"{spec.type} action in state {state!r} returns {option}: {event!r}, "
                    f"but no transition leaves {state!r} on {event!r} (it would be ignored). "
                    "Add the transition or fix the event name",
                    spec.position,
                )


def check_duplicate_transitions(config: MachineConfig, context: LintContext) -> Iterator[Finding]:
    """SM204: the same transition written twice."""
    seen: dict[tuple[str, str, str, str | None], Transition] = {}
    for transition in config.transitions:
        key = (transition.source, transition.event, transition.target, transition.guard)
        earlier = seen.setdefault(key, transition)
        if earlier is not transition:
            yield finding(
                "SM204",
                f"transition {_describe(transition)} is written twice (first on line "
                f"{earlier.position.line}); remove one",
                transition.position,
            )


def _settable_keys(config: MachineConfig, context: LintContext) -> set[str] | None:
    """The top-level context keys something in the config may set; None when any key
    may be set (jobs are claimed, whose data keys become context keys, or an action
    does not declare what it writes)."""
    specs = [spec for _, spec in _actions(config)]
    if any(context.claims_jobs(spec.type) for spec in specs):
        return None
    known = set(ENGINE_KEYS)
    for spec in specs:
        written = context.written_by(spec.type, spec.options)
        if written is None:
            return None
        known |= written
    for event in config.events.values():
        known.update(event.context_map)
    return known


def check_placeholders(config: MachineConfig, context: LintContext) -> Iterator[Finding]:
    """SM205: ``{placeholders}`` naming a context key that nothing sets.

    Skipped for configs that claim jobs (a job's data keys become context keys) or run
    custom actions (which may set any key); a ``|default:`` filter always fills.
    """
    known = _settable_keys(config, context)
    if known is None:
        return
    probe = {key: _ANYTHING for key in known}
    for state, spec in _actions(config):
        unfilled = sorted(
            {path for text in _strings(spec.options) for path in _unfilled(text, probe)}
        )
        for path in unfilled:
            yield finding(
                "SM205",
                f"{spec.type} action in state {state!r}: placeholder {{{path}}} names a "
                f"context key that nothing sets ({path.split('.')[0]!r}). Set it with "
                "set_context, promote it with an events: context_map, or add |default:",
                spec.position,
            )


def check_guard_keys(config: MachineConfig, context: LintContext) -> Iterator[Finding]:
    """SM207: an ``if:`` guard reading a context key that nothing sets (it would fail,
    and count as false, until something does). Skipped like SM205."""
    if not any(transition.guard for transition in config.transitions):
        return
    known = _settable_keys(config, context)
    if known is None:
        return
    from ...config._guards import compile_guard

    for transition in config.transitions:
        if transition.guard is None:
            continue
        unset = sorted(compile_guard(transition.guard).names - known)
        if unset:
            yield finding(
                "SM207",
                f"if: {transition.guard} on {_describe(transition)} reads "
                f"{', '.join(unset)}, which nothing in the config sets: the guard fails "
                "(and counts as false) until it is set. Set it with set_context, promote it "
                "with an events: context_map, or pass it with --initial-context",
                transition.position,
            )


class _Anything(Mapping[str, Any]):
    """A context value that has every key: stands for values only known at run time."""

    def __getitem__(self, key: str) -> Any:
        return self

    def __contains__(self, key: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __str__(self) -> str:
        return "?"


_ANYTHING = _Anything()


def _unfilled(text: str, probe: Mapping[str, Any]) -> list[str]:
    rendered = interpolate_text(text, probe)
    return placeholders(rendered) if isinstance(rendered, str) else []


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _describe(transition: Transition) -> str:
    return f"{transition.source} --{transition.event}--> {transition.target}"


CHECKS: tuple[tuple[str, Check], ...] = (
    ("SM101", check_undefined_states),
    ("SM102", check_action_types),
    ("SM103", check_timeouts),
    ("SM103", check_action_times),  # and SM110
    ("SM104", check_conflicting_transitions),
    ("SM105", check_dead_ends),
    ("SM106", check_stalled_polling),
    ("SM108", check_unknown_options),
    ("SM109", check_action_files),
    ("SM201", check_unreachable_states),
    ("SM202", check_unsent_events),
    ("SM203", check_unhandled_results),
    ("SM204", check_duplicate_transitions),
    ("SM205", check_placeholders),
    ("SM206", check_arithmetic_placeholders),
    ("SM207", check_guard_keys),
)


def run_checks(config: MachineConfig, context: LintContext) -> list[Finding]:
    """Every finding for ``config``, sorted by position then code."""
    found = [item for _, check in CHECKS for item in check(config, context)]
    return sorted(found, key=Finding.sort_key)
