"""``check_machine_state``: look at another machine's recorded state.

Options: ``target_machine`` (required), ``expected_state`` (optional), ``store_as``
(default ``machine_state``), ``success`` (running, and in ``expected_state`` when given;
default ``running``), ``not_running`` (default ``not_running``), ``wrong_state``
(default ``wrong_state``).
"""

from __future__ import annotations

import os
import socket
from typing import Any, ClassVar

from ...errors import ActionError
from ..base import BaseAction
from ..runtime_access import runtime_of


def is_alive(pid: int | None, host: str | None) -> bool:
    """Whether a process recorded on ``host`` still exists (unknown hosts count as alive)."""
    if pid is None:
        return False
    if host and host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CheckMachineStateAction(BaseAction):
    """Check a machine."""

    default_success: ClassVar[str | None] = "running"

    async def execute(self, context: dict[str, Any]) -> str | None:
        runtime = runtime_of(self)
        target = self.get_config_value("target_machine") or self.get_config_value("machine")
        if not target:
            raise ActionError("check_machine_state needs a 'target_machine'")
        record = await runtime.store.load_machine(str(target))
        store_as = str(self.get_config_value("store_as", "machine_state"))
        if record is None or record.status != "running" or not is_alive(record.pid, record.host):
            context[store_as] = record.current_state if record else None
            return str(self.get_config_value("not_running", "not_running"))
        context[store_as] = record.current_state
        expected = self.get_config_value("expected_state")
        if expected and record.current_state != expected:
            return str(self.get_config_value("wrong_state", "wrong_state"))
        return self.success_event
