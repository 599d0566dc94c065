"""``metadata.json``: what the UI needs to draw a machine and highlight its states.

Format 1 (see docs/diagrams.md): name, config stem, initial and terminal states, states
with their Mermaid ids, groups and action summaries, transitions and events, in config
file order. Pure: returns JSON-ready data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...config.model import ActionSpec, MachineConfig
from ...context.interpolation import to_text
from ._graph import MachineGraph

FORMAT = 1
SUMMARY_LIMIT = 80

#: The option that says best what an action of each builtin type does.
_SUMMARY_OPTION = {
    "bash": "command",
    "log": "message",
    "activity_log": "message",
    "check_database_queue": "job_type",
    "get_pending_jobs": "job_type",
    "add_job": "job_type",
    "check_events": "event_types",
    "clear_events": "event_types",
    "check_machine_state": "target_machine",
    "claim_job": "job_id",
    "start_fsm": "machine_name",
    "sleep": "duration",
    "pop_from_list": "list",
    "add_to_list": "list",
    "wait_for_jobs": "tracked_jobs_key",
}


def build_metadata(config: MachineConfig, graph: MachineGraph, *, stem: str) -> dict[str, Any]:
    """The ``metadata.json`` object of ``config`` (format 1)."""
    return {
        "format": FORMAT,
        "name": config.name or stem,
        "config": stem,
        "initial_state": config.initial_state,
        "terminal_states": [node.name for node in graph.states if node.terminal],
        "states": [
            {
                "name": node.name,
                "id": node.id,
                "group": node.group,
                "terminal": node.terminal,
                "actions": [
                    {"type": spec.type, "summary": summarize(spec)}
                    for spec in config.actions.get(node.name, ())
                ],
            }
            for node in graph.states
        ],
        "groups": [{"name": group.name, "states": list(group.states)} for group in graph.groups],
        "transitions": [
            {
                "from": edge.source,
                "to": edge.target,
                "event": edge.event,
                "kind": edge.kind,
                **({"if": edge.guard} if edge.guard is not None else {}),
            }
            for edge in graph.edges
        ],
        "events": list(dict.fromkeys([*config.events, *(edge.event for edge in graph.edges)])),
    }


def summarize(spec: ActionSpec) -> str:
    """One short line saying what an action does: its ``description``, else its key option."""
    if spec.description:
        return _shorten(spec.description)
    options = spec.options
    if spec.type == "send_event":
        return _shorten(_send_summary(options))
    if spec.type == "set_context":
        return _shorten(_set_summary(options))
    key = _SUMMARY_OPTION.get(spec.type)
    if key is not None and options.get(key) is not None:
        return _shorten(_text(options[key]))
    return ""


def _send_summary(options: Mapping[str, Any]) -> str:
    event = _text(options.get("event_type", "generic_event"))
    target = options.get("target_machine", options.get("target"))
    return f"{event} -> {_text(target)}" if target is not None else event


def _set_summary(options: Mapping[str, Any]) -> str:
    values = options.get("values")
    if isinstance(values, Mapping):
        return ", ".join(str(key) for key in values)
    if options.get("key") is not None:
        return f"{_text(options['key'])} = {_text(options.get('value'))}"
    return ""


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value)
    return to_text(value)


def _shorten(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= SUMMARY_LIMIT else line[: SUMMARY_LIMIT - 1].rstrip() + "…"
