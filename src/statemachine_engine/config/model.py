"""The typed, immutable model of a machine config.

YAML becomes these objects once (see :mod:`.loader`); the engine, the linter, the
diagram tools and the UI read them, never raw dicts. Every element remembers where
it was written so errors can point at ``file:line``. They are named tuples: as
immutable as frozen dataclasses and several times cheaper to define, which matters
because every machine process defines them at start-up.
"""

# Annotations are evaluated here (no `from __future__ import annotations`): a NamedTuple
# turns string annotations into ForwardRefs, each compiled at import (docs/performance.md).
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

__all__ = [
    "DEFAULT_TERMINAL_STATES",
    "LOST_JOB_EVENT",
    "NOWHERE",
    "START_EVENT",
    "WILDCARD",
    "ActionSpec",
    "EventSpec",
    "MachineConfig",
    "Position",
    "Transition",
]

WILDCARD = "*"
START_EVENT = "start"
#: The event a machine emits when it resumes in a state working on a job whose lease it
#: lost while it was down, if the state takes it (docs/durability.md, "Fencing on resume").
LOST_JOB_EVENT = "job_lost"
DEFAULT_TERMINAL_STATES = frozenset({"stopped", "shutdown", "completed"})

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class Position(NamedTuple):
    """Where an element was written: file and 1-based line/column."""

    path: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.path or "<config>"]
        if self.line is not None:
            parts.append(str(self.line))
        return ":".join(parts)


NOWHERE = Position()


class Transition(NamedTuple):
    """``from`` --``event``--> ``to``. ``timeout`` is set for ``timeout(N)`` events;
    ``guard`` holds the ``if:`` expression as written (compiled by ``_guards``)."""

    source: str
    target: str
    event: str
    timeout: float | None = None
    position: Position = NOWHERE
    guard: str | None = None

    @property
    def is_wildcard(self) -> bool:
        return self.source == WILDCARD


class ActionSpec(NamedTuple):
    """One entry of a state's action list.

    ``options`` holds the action's settings with ``params:`` already merged into the
    top level (``params`` wins on a clash); ``type`` is not among them.
    """

    type: str
    options: Mapping[str, Any] = _EMPTY
    position: Position = NOWHERE

    @property
    def description(self) -> str | None:
        value = self.options.get("description")
        return str(value) if value is not None else None


class EventSpec(NamedTuple):
    """A declared event, with the payload fields it promotes into context."""

    name: str
    # context key -> dotted path inside the event (``payload.user.name``)
    context_map: Mapping[str, str] = _EMPTY
    position: Position = NOWHERE


class MachineConfig(NamedTuple):
    """A whole machine config.

    Attributes:
        name: the human label (``name:``), or the file stem.
        initial_state: where the machine starts.
        states: declared states in file order, followed by states that are only
            mentioned by transitions or actions.
        declared_states: whether ``states:`` was given (unknown states are then errors).
        groups: state -> group name, from ``# === GROUP ===`` comments or ``groups:``.
        max_times: state -> seconds a machine may stay there before the monitor calls
            it stuck (``max_time:``).
        events: declared events by name.
        transitions: in file order.
        actions: state -> its entry actions, in order.
        final_states: states in which the machine ends when nothing leads out.
        metadata: the free-form ``metadata:`` mapping.
        template: ``template: true`` marks a config run as many instances.
        source_hash: a short sha256 of the file's bytes, when read from a file (a
            durable machine records it to notice that its config changed).
    """

    name: str
    initial_state: str
    states: tuple[str, ...]
    transitions: tuple[Transition, ...]
    actions: Mapping[str, tuple[ActionSpec, ...]] = _EMPTY
    events: Mapping[str, EventSpec] = _EMPTY
    groups: Mapping[str, str] = _EMPTY
    max_times: Mapping[str, float] = _EMPTY
    final_states: frozenset[str] = DEFAULT_TERMINAL_STATES
    declared_states: bool = False
    metadata: Mapping[str, Any] = _EMPTY
    description: str | None = None
    template: bool = False
    path: str | None = None
    positions: Mapping[str, Position] = _EMPTY
    source_hash: str | None = None

    @property
    def default_machine_name(self) -> str | None:
        value = self.metadata.get("machine_name")
        return str(value) if value else None

    def group_of(self, state: str) -> str | None:
        return self.groups.get(state)

    def is_terminal(self, state: str) -> bool:
        return state in self.final_states

    def position_of(self, key: str) -> Position:
        """Position of a top-level key (``initial_state``, ``states``...), or the file."""
        return self.positions.get(key, Position(self.path))
