"""The drawable shape of a machine: states with Mermaid ids, groups and edges.

Pure: a :class:`MachineConfig` in, a :class:`MachineGraph` out. Every identifier the
renderer writes is chosen here, once, so the Mermaid source and ``metadata.json`` always
agree on which node is which state.

Identifiers: a state ``X`` is drawn as ``s_X`` and a group ``G`` as ``g_G``, with every
character outside ``[A-Za-z0-9_]`` replaced by ``_`` (``my-state.x`` -> ``s_my_state_x``).
The prefix keeps ids clear of Mermaid keywords (``state``, ``note``, ``class``...) and of
names Mermaid's JavaScript cannot use as keys (``constructor``, ``toString``...). Names
that collide after the replacement get ``_2``, ``_3``... in file order, after the names
that need no replacement have kept theirs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal, NamedTuple

from ...config.model import WILDCARD, MachineConfig, Transition

STATE_PREFIX = "s_"
GROUP_PREFIX = "g_"
#: The pseudo-node wildcard (``from: "*"``) transitions start from.
ANY_STATE_ID = "any_state"

EdgeKind = Literal["event", "timeout", "wildcard"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


class StateNode(NamedTuple):
    name: str
    id: str
    group: str | None
    terminal: bool


class GroupNode(NamedTuple):
    name: str
    id: str
    states: tuple[str, ...]


class Edge(NamedTuple):
    """One transition; ``source`` is ``*`` for a wildcard."""

    source: str
    target: str
    event: str
    kind: EdgeKind
    guard: str | None = None

    @property
    def label(self) -> str:
        """``event``, or ``event [guard]`` for a guarded transition (UML's notation)."""
        return self.event if self.guard is None else f"{self.event} [{self.guard}]"


class MachineGraph(NamedTuple):
    initial_state: str
    states: tuple[StateNode, ...]
    groups: tuple[GroupNode, ...]
    edges: tuple[Edge, ...]

    def state(self, name: str) -> StateNode:
        for node in self.states:
            if node.name == name:
                return node
        raise KeyError(name)

    def group(self, name: str) -> GroupNode:
        for node in self.groups:
            if node.name == name:
                return node
        raise KeyError(name)

    @property
    def has_wildcards(self) -> bool:
        return any(edge.kind == "wildcard" for edge in self.edges)


def extract_graph(config: MachineConfig) -> MachineGraph:
    """The graph of ``config``: states, groups and transitions in file order."""
    state_ids = _unique_ids([STATE_PREFIX + name for name in config.states])
    group_names = _ordered_unique(
        group for name in config.states if (group := config.group_of(name)) is not None
    )
    group_ids = _unique_ids([GROUP_PREFIX + name for name in group_names])
    states = tuple(
        StateNode(name, state_ids[index], config.group_of(name), config.is_terminal(name))
        for index, name in enumerate(config.states)
    )
    groups = tuple(
        GroupNode(
            name,
            group_ids[index],
            tuple(state.name for state in states if state.group == name),
        )
        for index, name in enumerate(group_names)
    )
    edges = tuple(
        Edge(
            transition.source,
            transition.target,
            transition.event,
            _kind(transition),
            transition.guard,
        )
        for transition in config.transitions
    )
    return MachineGraph(config.initial_state, states, groups, edges)


def _kind(transition: Transition) -> EdgeKind:
    if transition.source == WILDCARD:
        return "wildcard"
    return "timeout" if transition.timeout is not None else "event"


def _ordered_unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _unique_ids(raw: list[str]) -> list[str]:
    """Mermaid-safe, unique ids for ``raw`` names (see the module docstring)."""
    safe = [_UNSAFE.sub("_", name) for name in raw]
    taken = {name for name in raw if not _UNSAFE.search(name)}
    ids: list[str] = []
    for name, candidate in zip(raw, safe, strict=True):
        if candidate == name:
            ids.append(name)
            continue
        chosen, number = candidate, 2
        while chosen in taken:
            chosen = f"{candidate}_{number}"
            number += 1
        taken.add(chosen)
        ids.append(chosen)
    return ids
