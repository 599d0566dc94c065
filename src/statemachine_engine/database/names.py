"""A machine name is held in the store: one live process per name, whatever its sockets.

The holder is the process recorded with the machine (``pid`` on ``host``) while the
record is ``running``; its heartbeat renews the hold. A new process may take the name
when the record is not running, when the holder was on this host and its process is
gone (at once), or when the holder's heartbeat is older than the lease (a process on
another host that died, or a pid now used by an unrelated process).

Pure logic: the caller says whether a pid is alive here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import MachineAlreadyRunning

if TYPE_CHECKING:
    from .models.machine_state import MachineStateRecord

#: A name's holder that has not renewed it for this long has lost it: three missed beats
#: of a host's heartbeat (every 20 s) or six of a lone machine's (every 10 s).
NAME_LEASE_SECONDS = 60.0


def live_holder(
    record: MachineStateRecord | None,
    *,
    pid: int,
    host: str,
    now: float,
    pid_alive: Callable[[int], bool],
    lease_seconds: float = NAME_LEASE_SECONDS,
) -> MachineStateRecord | None:
    """The record's holder if it still holds the name against process ``pid`` on ``host``."""
    if record is None or record.status != "running":
        return None
    fresh = now - record.heartbeat_at <= lease_seconds
    if record.host == host:
        if record.pid is None or record.pid == pid:
            return None  # this process ran it before: that run has ended
        return record if fresh and pid_alive(record.pid) else None
    return record if fresh else None


def name_taken(record: MachineStateRecord, *, location: str, now: float) -> MachineAlreadyRunning:
    """The error for a name that ``record``'s live holder keeps."""
    age = max(0.0, now - record.heartbeat_at)
    return MachineAlreadyRunning(
        f"machine {record.machine_name!r} is already running against {location} "
        f"(pid {record.pid} on {record.host}, last heartbeat {age:.0f}s ago); "
        "stop it first or choose another --machine-name",
        machine_name=record.machine_name,
        pid=record.pid,
        host=record.host,
    )
