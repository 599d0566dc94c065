"""Checks of the times an action's options give: a ``timeout:`` (``bash``,
``wait_for_jobs``), the other numbers of seconds builtin actions read (``wait``,
``max_wait``, ``lease``, ``sleep``'s ``duration``), a ``delay:`` or ``at:``
(``send_event``, ``add_job``).

A value no time can be made of makes a builtin action that reads the option fail every
time it runs, with the message the check gives: SM110, which refuses the start. A
custom action reads its options itself, so there the same value is SM103 (an error of
the lint that does not refuse the start), and so is a timeout that parses but cannot
be meant (``0``, ``true``). A value written with a placeholder is only known at run
time and is not checked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from ...actions._loader import is_builtin_class
from ...actions._seconds import due_time, parse_seconds
from ...config.model import ActionSpec, MachineConfig
from .context import LintContext
from .findings import Finding, finding

#: The option keys a due time is made of.
_DUE_OPTIONS = ("delay", "at")
#: The options, beside ``timeout``, that builtin actions read as numbers of seconds
#: (checked only where a builtin reads them: a custom action's may mean anything).
_SECONDS_OPTIONS = ("wait", "max_wait", "lease", "duration", "seconds")


def check_action_times(config: MachineConfig, context: LintContext) -> Iterator[Finding]:
    """SM103 and SM110: an action ``timeout:``, ``delay:`` or ``at:`` that is unusable."""
    for state, specs in config.actions.items():
        for spec in specs:
            where = f"{spec.type} action in state {state!r}"
            for option, problem, unusable in _time_problems(spec.options):
                if unusable and _reads_itself(spec, option, context):
                    message = f"{where} fails every time it runs: {problem}"
                    yield finding("SM110", message, spec.position)
                else:
                    yield finding("SM103", f"{where}: {problem}", spec.position)
            for option, problem in _seconds_problems(spec.options):
                if _reads_itself(spec, option, context):
                    message = f"{where} fails every time it runs: {problem}"
                    yield finding("SM110", message, spec.position)


def _reads_itself(spec: ActionSpec, option: str, context: LintContext) -> bool:
    """Whether a builtin action reads ``option`` (and so fails on a value it cannot use)."""
    cls = context.action_class(spec.type)
    known = None if cls is None else cls.known_options()
    return cls is not None and is_builtin_class(cls) and known is not None and option in known


def _time_problems(options: Mapping[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """``(option, what is wrong, whether no time can be made of it at all)`` for each
    unusable time among ``options``."""
    value = options.get("timeout")
    if value is not None and not _placeholder(value):  # null: the action's default
        try:
            seconds = parse_seconds(value, "option timeout")
        except ValueError as exc:
            yield "timeout", str(exc), True
        else:
            if seconds <= 0 or isinstance(value, bool):
                yield "timeout", f"timeout: {value!r}; write a positive number of seconds", False
    given = {key: options[key] for key in _DUE_OPTIONS if options.get(key) is not None}
    if given and not any(_placeholder(value) for value in given.values()):
        try:
            # Now, not 0: how far ahead an `at:` time is depends on when it is sent.
            due_time(**given, now=time.time())
        except ValueError as exc:
            yield next(iter(given)), str(exc), True


def _seconds_problems(options: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(option, what is wrong)`` for each of :data:`_SECONDS_OPTIONS` no number of
    seconds can be made of."""
    for option in _SECONDS_OPTIONS:
        value = options.get(option)
        if value is None or _placeholder(value):
            continue
        try:
            parse_seconds(value, f"option {option}")
        except ValueError as exc:
            yield option, str(exc)


def _placeholder(value: Any) -> bool:
    return isinstance(value, str) and "{" in value  # filled in at run time
