"""``check_machine_state``: look at another machine's recorded state.

Options: ``target_machine`` (required), ``expected_state`` (optional), ``store_as``
(default ``machine_state``), ``success`` (running, and in ``expected_state`` when given;
default ``running``), ``not_running`` (default ``not_running``), ``wrong_state``
(default ``wrong_state``).
"""

from __future__ import annotations

import os
import socket
from typing import Any

from ...errors import ActionError
from ..base import BaseAction, runtime_of


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

    options = frozenset({"expected_state", "machine", "target_machine"})

    store_only = True
    default_success = "running"
    other_events = {
        "not_running": "not_running",
        "wrong_state": "wrong_state",
    }
    writes = frozenset()
    default_store_as = "machine_state"

    async def execute(self, context: dict[str, Any]) -> str | None:
        runtime = runtime_of(self)
        target = self.get_config_value("target_machine") or self.get_config_value("machine")
        if not target:
            raise ActionError("check_machine_state needs a 'target_machine'")
        record = await runtime.machine_record(str(target))
        store_as = str(self.get_config_value("store_as", self.default_store_as))
        if record is None or record.status != "running" or not is_alive(record.pid, record.host):
            context[store_as] = record.current_state if record else None
            return self.result_event("not_running")
        context[store_as] = record.current_state
        expected = self.get_config_value("expected_state")
        if expected and record.current_state != expected:
            return self.result_event("wrong_state")
        return self.success_event
