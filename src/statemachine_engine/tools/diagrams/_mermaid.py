"""Render a :class:`MachineGraph` as Mermaid ``stateDiagram-v2`` source. Pure: text out.

How the drawing reads:

- State groups are composite states holding their states.
- ``[*] --> initial`` marks where the machine starts; each terminal state has an arrow to
  ``[*]`` and a thick border.
- Timeout transitions are labelled with their event as written (``timeout(5)``).
- A guarded transition's label adds its ``if:`` in brackets: ``new_file [size > 10]``.
- Wildcard transitions (``from: "*"``) start from one dashed pseudo-node, ``any state``,
  rather than from every state, which would bury the diagram in arrows.

Labels are escaped with Mermaid's ``#code;`` entities: an event such as ``a:b;c`` would
otherwise end the label or the statement, and ``__proto__`` would be drawn as a bold
"proto" (Mermaid reads labels as Markdown).
"""

from __future__ import annotations

from collections.abc import Iterable

from ._graph import ANY_STATE_ID, Edge, MachineGraph, StateNode

HEADER = "stateDiagram-v2"
ANY_STATE_LABEL = "any state"
INDENT = "    "
TERMINAL_STYLE = "stroke-width:3px"
WILDCARD_STYLE = "stroke-dasharray:5 5,fill:none"  # no fill: readable in dark themes
# Printable ASCII that Mermaid reads literally in a label; anything else ASCII becomes
# an entity. Non-ASCII text is kept as it is.
_LITERAL = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -.,()/+=!?@'[]|~^$"
)


def escape(text: str) -> str:
    """``text`` made safe for a Mermaid label (one line, entities for special characters)."""
    line = " ".join(text.split())
    return "".join(_escape_char(line, index) for index in range(len(line)))


def _escape_char(line: str, index: int) -> str:
    char = line[index]
    if char in _LITERAL or ord(char) > 127:
        return char
    # Inside a word (``no_jobs``) an underscore cannot start or end Markdown emphasis.
    inside_word = 0 < index < len(line) - 1 and (
        line[index - 1].isalnum() and line[index + 1].isalnum()
    )
    if char == "_" and inside_word:
        return char
    return f"#{ord(char)};"


def render_main(graph: MachineGraph) -> str:
    """The whole machine: every state, group and transition."""
    return _render(graph, graph.edges, group=None)


def render_group(graph: MachineGraph, group: str) -> str:
    """One group: its states, the transitions within, entering and leaving it, and the
    wildcard transitions (which leave every state of it)."""
    members = set(graph.group(group).states)
    edges = tuple(
        edge
        for edge in graph.edges
        if edge.kind == "wildcard" or edge.source in members or edge.target in members
    )
    return _render(graph, edges, group=group)


def _render(graph: MachineGraph, edges: tuple[Edge, ...], group: str | None) -> str:
    shown = _shown_states(graph, edges, group)
    lines = [HEADER]
    lines.extend(_declarations(graph, shown, group))
    wildcard = any(edge.kind == "wildcard" for edge in edges)
    if wildcard:
        lines.append(f'{INDENT}state "{ANY_STATE_LABEL}" as {ANY_STATE_ID}')
    if graph.initial_state in shown and _in_focus(graph.state(graph.initial_state), group):
        lines.append(f"{INDENT}[*] --> {graph.state(graph.initial_state).id}")
    for edge in edges:
        source = ANY_STATE_ID if edge.kind == "wildcard" else graph.state(edge.source).id
        target = graph.state(edge.target).id
        lines.append(f"{INDENT}{source} --> {target} : {escape(edge.label)}")
    terminals = [
        node
        for node in graph.states
        if node.name in shown and node.terminal and _in_focus(node, group)
    ]
    lines.extend(f"{INDENT}{node.id} --> [*]" for node in terminals)
    if terminals:
        lines.append(f"{INDENT}classDef terminal {TERMINAL_STYLE}")
        lines.append(f"{INDENT}class {','.join(node.id for node in terminals)} terminal")
    if wildcard:
        lines.append(f"{INDENT}classDef wildcard {WILDCARD_STYLE}")
        lines.append(f"{INDENT}class {ANY_STATE_ID} wildcard")
    return "\n".join(lines) + "\n"


def _in_focus(node: StateNode, group: str | None) -> bool:
    return group is None or node.group == group


def _shown_states(graph: MachineGraph, edges: Iterable[Edge], group: str | None) -> set[str]:
    if group is None:
        return {node.name for node in graph.states}
    shown = set(graph.group(group).states)
    for edge in edges:
        shown.add(edge.target)
        if edge.kind != "wildcard":
            shown.add(edge.source)
    return shown


def _declarations(graph: MachineGraph, shown: set[str], group: str | None) -> list[str]:
    """State declarations in file order; a group's states inside its composite state.

    In a group's own diagram only that group is drawn as a composite: its neighbours
    are plain states, whatever group they belong to.
    """
    lines: list[str] = []
    opened: set[str] = set()
    for node in graph.states:
        if node.name not in shown:
            continue
        composite = node.group if group is None or node.group == group else None
        if composite is None:
            lines.append(INDENT + _state(node))
            continue
        if composite in opened:
            continue
        opened.add(composite)
        box = graph.group(composite)
        lines.append(f'{INDENT}state "{escape(box.name)}" as {box.id} {{')
        lines.extend(INDENT * 2 + _state(graph.state(name)) for name in box.states if name in shown)
        lines.append(INDENT + "}")
    return lines


def _state(node: StateNode) -> str:
    return f'state "{escape(node.name)}" as {node.id}'
