"""``log`` (alias ``activity_log``): write a message to the log and the activity log.

Options:
    message: the text (``{placeholders}`` filled from the context).
    level: ``info`` (default), ``debug``, ``warning``, ``error`` or ``success``.
    success: event returned afterwards (default ``continue``; unhandled, it is ignored).
"""

from __future__ import annotations

import logging
from typing import Any

from ...context.interpolation import to_text
from ._builtin import BuiltinAction

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "success": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}

activity_logger = logging.getLogger("statemachine_engine.activity")


class LogAction(BuiltinAction):
    """Record a line in the machine's activity log."""

    options = frozenset({"level", "message"})

    default_success = "continue"
    stays_in_process = True

    async def execute(self, context: dict[str, Any]) -> str | None:
        message = to_text(self.get_config_value("message", ""))
        level = str(self.get_config_value("level", "info")).lower()
        if level not in LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {level!r}")
        if level == "warn":
            level = "warning"
        if self.runtime is not None:
            self.runtime.log_activity(message, level)
        else:
            machine = context.get("machine_name", "?")
            activity_logger.log(
                LEVELS[level],
                "[%s] %s",
                machine,
                message,
                extra={"action": "activity_log", "machine": machine, "level_name": level},
            )
        return self.success_event
