"""A machine name is held in the store: one live process per name, whatever its sockets.

The holder is the process recorded with the machine (``pid`` on ``host``) while the
record is ``running``; its heartbeat renews the hold. A new process may take the name
when the record is not running, when the holder was on this host and its process is
gone (at once), or when the holder's heartbeat is older than the lease (a process on
another host that died, or a pid now used by an unrelated process).

The rules of the hold are pure (the caller says whether a pid is alive here);
:func:`pid_alive` and :func:`liveness` look at this host's processes.
"""

from __future__ import annotations

import functools
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import MachineAlreadyRunning

if TYPE_CHECKING:
    from ._records import MachineStateRecord

#: A name's holder that has not renewed it for this long has lost it: fifteen missed
#: heartbeats (every 4 s), so that a process stalled a while (a long lock wait, a
#: blocking action) is not taken over.
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


def refuse_if_held(
    record: MachineStateRecord | None,
    *,
    pid: int,
    host: str,
    now: float,
    location: str,
    pid_alive: Callable[[int], bool],
    lease_seconds: float = NAME_LEASE_SECONDS,
) -> None:
    """Raise :class:`MachineAlreadyRunning` if ``record``'s holder keeps the name."""
    holder = live_holder(
        record, pid=pid, host=host, now=now, pid_alive=pid_alive, lease_seconds=lease_seconds
    )
    if holder is not None:
        raise name_taken(holder, location=location, now=now)


#: A running machine on this host whose heartbeat is older than this is ``stale`` (its
#: process lives, but has not beaten for three beats): one whose process died is found
#: ``dead`` by its pid at once.
STALE_HEARTBEAT_SECONDS = 60.0
#: A running machine on another host is ``dead`` after this long without a heartbeat:
#: three missed beats of a store that spans hosts (:data:`SPANNING_HEARTBEAT_SECONDS`),
#: so that one whose process died is shown so within 15 s. Its pid cannot be checked
#: from here, so silence is the only sign; its name stays held for the longer
#: :data:`NAME_LEASE_SECONDS`, in case it was only cut off a while.
REMOTE_DEAD_HEARTBEAT_SECONDS = 12.0
#: How often machines on a store that spans hosts (PostgreSQL) record that they are
#: alive; on a store of one host (SQLite) the pid tells, and they beat less often.
SPANNING_HEARTBEAT_SECONDS = 4.0


@functools.cache
def this_host() -> str:
    """This host's name, as machines record it (asked once: liveness asks it of every
    record the monitor reads)."""
    return socket.gethostname()


def worker_id(machine: str, host: str | None = None) -> str:
    """The worker a machine claims jobs as (a job's lease owner): ``name@host``."""
    return f"{machine}@{this_host() if host is None else host}"


def machine_of_worker(worker: str) -> str:
    """The machine behind a worker id (``render@web1`` -> ``render``); an id of
    another form (a name given by hand) is taken as the machine's name."""
    machine, at, _host = worker.rpartition("@")
    return machine if at and machine else worker


def is_local(host: str | None) -> bool:
    """Whether a record's host is this one (its pid can be checked)."""
    return host in (None, "", this_host())


def silence_limit(host: str | None) -> float:
    """How long without a heartbeat changes the verdict on a running machine on ``host``:
    stale on this host, dead on another."""
    return STALE_HEARTBEAT_SECONDS if is_local(host) else REMOTE_DEAD_HEARTBEAT_SECONDS


def liveness(record: MachineStateRecord, *, now: float | None = None) -> str:
    """The status of a machine as seen now, from its record and its process.

    A ``running`` record on this host becomes ``dead`` when its process is gone and
    ``stale`` when its heartbeat is older than :data:`STALE_HEARTBEAT_SECONDS`; one on
    another host becomes ``dead`` when its heartbeat is older than
    :data:`REMOTE_DEAD_HEARTBEAT_SECONDS`. Other recorded statuses (``finished``,
    ``stopped``) are returned as they are.
    """
    silent = (time.time() if now is None else now) - record.heartbeat_at
    quiet = silent > silence_limit(record.host)
    return liveness_of(record.status, record.pid, record.host, silent=quiet)


def liveness_of(status: str, pid: int | None, host: str | None, *, silent: bool) -> str:
    """:func:`liveness` from a record's fields (``silent``: its heartbeat is older than
    :func:`silence_limit` of its host)."""
    if status != "running":
        return status
    if not is_local(host):
        return "dead" if silent else "running"
    if pid and not pid_alive(pid):
        return "dead"
    return "stale" if silent else "running"


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
