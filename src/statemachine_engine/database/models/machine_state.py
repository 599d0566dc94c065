"""Where each machine is: its durable state, liveness and transition history."""

from __future__ import annotations

import builtins
import os
import socket
import time

from ..records import DEAD_JOB as DEAD_JOB
from ..records import ERROR_TRANSITION as ERROR_TRANSITION
from ..records import ErrorRecord as ErrorRecord
from ..records import MachineStateRecord as MachineStateRecord
from ..records import TransitionRecord as TransitionRecord
from .base import BaseModel

#: A running machine whose heartbeat is older than this is ``stale``.
STALE_HEARTBEAT_SECONDS = 60.0


def liveness(record: MachineStateRecord, *, now: float | None = None) -> str:
    """The status of a machine as seen now, from its record and its process.

    A ``running`` record becomes ``dead`` when its process (on this host) is gone and
    ``stale`` when its heartbeat is older than :data:`STALE_HEARTBEAT_SECONDS`; other
    recorded statuses (``finished``, ``stopped``) are returned as they are.
    """
    if record.status != "running":
        return record.status
    if record.pid and record.host in (None, "", socket.gethostname()) and not pid_alive(record.pid):
        return "dead"
    if (time.time() if now is None else now) - record.heartbeat_at > STALE_HEARTBEAT_SECONDS:
        return "stale"
    return "running"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs (whoever owns it).

    A zombie does not: a machine killed a moment ago stays one until its parent reaps
    it (in a container without an init, for good), and its name must be free at once.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists; it belongs to someone else
    except OSError:
        return False
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):  # no /proc (not Linux), or it just ended
        return False
    return bool(fields) and fields[0] in (b"Z", b"X")


class MachineStateModel(BaseModel):
    """Read machines' states and history."""

    async def get(self, machine_name: str) -> MachineStateRecord | None:
        return await self.store.load_machine(machine_name)

    async def list(self) -> builtins.list[MachineStateRecord]:
        return await self.store.list_machines()

    async def history(
        self, machine_name: str | None = None, limit: int = 20
    ) -> builtins.list[TransitionRecord]:
        return await self.store.transition_history(machine_name, limit=limit)
