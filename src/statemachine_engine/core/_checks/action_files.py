"""SM109: a custom action file that cannot be loaded.

The file fails to import (a syntax error, a missing module, any exception or
``sys.exit()`` as it is imported), has no action class, or its class's ``execute`` is no
``async def``. ``statemachine`` refuses to start with it, with the loader's message;
the finding gives the same message, at the file and line the loader names.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...config.model import MachineConfig, Position
from .context import LintContext
from .findings import Finding, finding


def check_action_files(config: MachineConfig, context: LintContext) -> Iterator[Finding]:
    """SM109, once per action type (at the first state that runs it)."""
    reported: set[str] = set()
    for state, specs in config.actions.items():
        for spec in specs:
            failure = context.load_failure(spec.type)
            if failure is None or spec.type in reported:
                continue
            reported.add(spec.type)
            where = Position(failure.path or spec.position.path, failure.line, failure.column)
            message = f"{failure.message}; state {state!r} runs it ({spec.position})"
            yield finding("SM109", message, where)
