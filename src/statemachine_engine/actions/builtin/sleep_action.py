"""``sleep``: wait a number of seconds (cancelled at once if the state is left).

Options:
    duration: seconds to wait (``seconds`` is accepted too; default 1).
    success: event returned afterwards (default ``wake_up``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from .._seconds import parse_seconds
from ._builtin import BuiltinAction


class SleepAction(BuiltinAction):
    """Pause the state's action list."""

    options = frozenset({"duration", "seconds"})

    default_success = "wake_up"
    stays_in_process = True

    async def execute(self, context: dict[str, Any]) -> str | None:
        raw = self.get_config_value("duration", self.get_config_value("seconds", 1))
        await asyncio.sleep(parse_seconds(raw, "sleep duration"))
        return self.success_event
