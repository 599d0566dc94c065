"""Where each machine is: its durable state, liveness and transition history."""

from __future__ import annotations

import builtins
import os
import socket
import time
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

from .base import BaseModel


class MachineStateRecord(NamedTuple):
    """The durable state of one machine instance."""

    machine_name: str
    current_state: str
    context: Mapping[str, Any] = MappingProxyType({})
    actions_done: bool = False
    timers: Sequence[tuple[str, float]] = ()
    config_name: str | None = None
    config_path: str | None = None
    #: Short hash of the config file the machine last started with (None: unknown).
    config_hash: str | None = None
    pid: int | None = None
    host: str | None = None
    status: str = "running"
    started_at: float = 0.0
    heartbeat_at: float = 0.0
    updated_at: float = 0.0
    #: Where the running machine is woken on its host (a Unix datagram socket).
    wake_address: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


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


class TransitionRecord(NamedTuple):
    """One recorded transition."""

    machine_name: str
    from_state: str | None
    to_state: str
    event: str
    at: float
    job_id: str | None = None
    id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


#: The kinds of :class:`ErrorRecord`.
ERROR_TRANSITION = "transition"
DEAD_JOB = "dead_job"


class ErrorRecord(NamedTuple):
    """One entry of the error history: a transition on an error event (``error``, or one
    ending in ``_failed`` or ``error``) or a job that died.

    ``machine`` is the machine that made the transition, or the one that last held the
    dead job; ``at`` is when the transition happened or the job died.
    """

    kind: str
    at: float
    machine: str | None
    job_id: str | None
    event: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


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
