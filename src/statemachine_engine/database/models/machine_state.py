"""Where each machine is: its durable state, liveness and transition history."""

from __future__ import annotations

import builtins

from .._names import STALE_HEARTBEAT_SECONDS as STALE_HEARTBEAT_SECONDS
from .._names import liveness as liveness
from .._names import pid_alive as pid_alive
from .._records import DEAD_JOB as DEAD_JOB
from .._records import ERROR_TRANSITION as ERROR_TRANSITION
from .._records import ErrorRecord as ErrorRecord
from .._records import MachineStateRecord as MachineStateRecord
from .._records import TransitionRecord as TransitionRecord
from .base import BaseModel

__all__ = [
    "DEAD_JOB",
    "ERROR_TRANSITION",
    "STALE_HEARTBEAT_SECONDS",
    "ErrorRecord",
    "MachineStateModel",
    "MachineStateRecord",
    "TransitionRecord",
    "liveness",
    "pid_alive",
]


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
