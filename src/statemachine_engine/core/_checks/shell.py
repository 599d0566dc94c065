"""Checks of shell commands (``bash``'s ``command``, any action's
``shell_options``): where their placeholders land (see :mod:`.rules`)."""

from __future__ import annotations

from collections.abc import Iterator

from ...config.model import ActionSpec, MachineConfig
from ...context._shell_render import Landing, shell_landings
from .context import LintContext
from .findings import Finding, finding

#: Context roots that always hold data from outside: what each holds.
_DATA_ROOTS = {"event_data": "an event's payload", "current_job": "a job's data"}


def check_arithmetic_placeholders(config: MachineConfig, context: LintContext) -> Iterator[Finding]:
    """SM206: a placeholder in a bash arithmetic context whose value comes from outside
    the config, which at run time must be an integer literal or the action fails.

    Outside: an event's payload (``event_data``, keys an ``events:`` ``context_map``
    promotes), a job's data (``current_job``), and keys no action of the config writes
    (the operator's ``--initial-context``, a parent's ``context_vars``, job data). A
    key the config's own actions write is its author's to keep an integer, and
    ``|length`` always is one. Not reported in configs running custom actions (which
    may write any key) but for payloads and job data.
    """
    promoted = {key for event in config.events.values() for key in event.context_map}
    own: set[str] = set()
    opaque = False
    for specs in config.actions.values():
        for spec in specs:
            written = context.written_by(spec.type, spec.options)
            own |= written or frozenset()
            opaque = opaque or written is None
    for state, specs in config.actions.items():
        for spec in specs:
            if spec.options.get("quote", True) is False:
                continue  # every value is inserted as shell code, unchecked
            reported: set[str] = set()
            for command in _shell_commands(spec, context):
                for landing in shell_landings(command):
                    source = _outside_source(landing, promoted, own, opaque)
                    if source is None or landing.placeholder in reported:
                        continue
                    reported.add(landing.placeholder)
                    yield finding(
                        "SM206", _message(spec.type, state, landing, source), spec.position
                    )


def _shell_commands(spec: ActionSpec, context: LintContext) -> list[str]:
    """The texts of ``spec`` that run as shell commands (its class's ``shell_options``)."""
    cls = context.action_class(spec.type)
    if cls is None:
        return []
    texts = (spec.options.get(option) for option in sorted(cls.shell_options))
    return [text for text in texts if isinstance(text, str)]


def _outside_source(
    landing: Landing, promoted: set[str], own: set[str], opaque: bool
) -> str | None:
    """Where a value landing in an arithmetic context comes from, if from outside."""
    if not landing.position.arithmetic or landing.filters[-1:] == ("length",):
        return None
    root = landing.path.split(".", 1)[0]
    if root in _DATA_ROOTS:
        return _DATA_ROOTS[root]
    if root in promoted:
        return "an event's payload (promoted by context_map)"
    if root in own or opaque:
        return None
    return (
        "outside the config (no action of it sets it: --initial-context, a parent's "
        "context_vars or a job's data)"
    )


def _message(action: str, state: str, landing: Landing, source: str) -> str:
    placeholder = landing.placeholder
    return (
        f"{action} action in state {state!r}: placeholder {placeholder} lands in a bash "
        f"arithmetic context ({landing.position.arithmetic}) and its value comes from "
        f"{source}: at run time it must hold an integer literal such as 42, else the "
        "action fails with its error: event. Give the action an error: event with a "
        "transition, or check the value in an earlier bash action "
        f"([[ {placeholder} =~ ^[+-]?[0-9]+$ ]]) whose error: leads elsewhere"
    )
