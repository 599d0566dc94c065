"""An action's process tree dies with its machine, however the machine dies.

Three mechanisms, because none covers every case alone:

- The action's shell is started with ``PR_SET_PDEATHSIG`` = SIGKILL (Linux, through
  ``setpriv`` or a ``preexec_fn``): when the machine dies, even by SIGKILL, the kernel
  kills the shell (and a command the shell ``exec``\\ s, which keeps the setting).
- Commands the shell forked survive it (they are re-parented to init), so a small watch
  process (:class:`GroupWatch`, a ``/bin/sh`` in a session of its own) waits on a pipe
  only the machine holds open: when the machine dies the pipe ends, and the watch kills
  the action's process group at once. Without it, what the shell forked would go on
  working until the machine's next run, beside whichever worker took the job over once
  its lease ran out.
- Should the watch die too, the shell's process group is recorded in the store (the
  context key :data:`ACTION_GROUP_KEY`) when it starts, and a machine started again
  under the same name kills that group, and waits for it to be gone, before anything
  runs again.
"""

# Annotations are evaluated here (no `from __future__ import annotations`): a NamedTuple
# turns string annotations into ForwardRefs, each compiled at import (docs/performance.md).
import asyncio
import contextlib
import functools
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from ..errors import StateMachineError

if TYPE_CHECKING:
    import subprocess

    from ..database.store import Store

logger = logging.getLogger("statemachine_engine.engine")

#: The engine-owned context key holding ``{"pgid": ..., "host": ...}`` of the action
#: running now (absent when none runs).
ACTION_GROUP_KEY: Final = "_engine_action_group"
#: How long a restart waits for a left-over process group to be gone, in seconds.
GROUP_EXIT_SECONDS: Final = 5.0
_PR_SET_PDEATHSIG: Final = 1
_SHELL: Final = "/bin/sh"
#: The watch: wait until the pipe on its stdin ends (never written to), then kill the
#: group given as $1 (POSIX ``kill`` syntax: dash knows no ``-KILL``). Never group 1 or
#: below: ``kill -- -1`` would signal every process of the user.
_WATCH_SCRIPT: Final = 'read _; [ "$1" -gt 1 ] && kill -s KILL -- "-$1" 2>/dev/null'


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl``, loaded on first use (the process's own symbols: no search)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


class Spawn(NamedTuple):
    """How to start a command that dies with this process: a prefix for its argv, or
    a ``preexec_fn`` (both empty where the platform cannot)."""

    prefix: tuple[str, ...]
    preexec: Callable[[], None] | None


def dying_with_parent() -> Spawn:
    """The cheapest way here to start a child that gets SIGKILL when this process dies.

    ``setpriv --pdeathsig KILL`` (util-linux) costs an exec, about 1 ms; a Python
    ``preexec_fn`` makes the child a full fork of this process instead of a vfork,
    several ms more, so it is only the fallback.
    """
    prefix = _setpriv()
    if prefix:
        return Spawn(prefix, None)
    return Spawn((), die_with_parent())


@functools.cache
def _setpriv() -> tuple[str, ...]:
    import shutil  # here: bz2, lzma and fnmatch come with it, for one look-up

    path = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    if path is None:
        return ()
    import subprocess  # not before an action starts a process (docs/performance.md)

    try:
        usage = subprocess.run(
            [path, "--help"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return (path, "--pdeathsig", "KILL", "--") if "--pdeathsig" in usage else ()


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` making the child get SIGKILL when this process dies (None where
    the platform has no ``PR_SET_PDEATHSIG``). Everything it needs is bound before the
    fork: the child only makes two system calls."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()
    kill_signal = int(signal.SIGKILL)

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, kill_signal, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the setting took effect
            os.kill(os.getpid(), kill_signal)

    return preexec


class GroupWatch:
    """A process that kills process group ``pgid`` when this process dies first.

    It is a ``/bin/sh`` reading a pipe whose other end only this process holds (the
    descriptor is close-on-exec, and children are started with ``close_fds``): the read
    ends when this process dies, however it dies, and the shell then kills the group.
    It runs in a session of its own, so that a signal to this process's group (a
    terminal's, or ``kill -- -PGID``) does not take it down before it acted.
    :meth:`stop` ends it without a kill, once the group is dealt with.
    """

    def __init__(self, process: "subprocess.Popen[bytes]") -> None:
        self._process = process

    @classmethod
    def start(cls, pgid: int) -> "GroupWatch | None":
        """Watch group ``pgid``; None, logged, where no watch can be started."""
        if pgid <= 1 or sys.platform == "win32" or not os.path.exists(_SHELL):
            return None
        import subprocess

        try:
            process = subprocess.Popen(
                [_SHELL, "-c", _WATCH_SCRIPT, "statemachine-group-watch", str(pgid)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            logger.warning(
                "cannot start a watch over process group %d (%s): if this process dies, "
                "what the group forked runs on until the machine's next run",
                pgid,
                exc,
                extra={"action": "group_watch_failed", "pgid": pgid},
            )
            return None
        return cls(process)

    @property
    def pid(self) -> int:
        return self._process.pid

    def stop(self) -> None:
        """End the watch (the group is gone or dealt with) and reap it."""
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()
        self._process.wait()  # a SIGKILLed shell: at once
        if self._process.stdin is not None:
            self._process.stdin.close()


def group_record(pgid: int) -> dict[str, Any]:
    """What is recorded for an action's process group: its id, and what tells it from
    a later group that got the same id (the host, the boot, the leader's start time)."""
    return {
        "pgid": pgid,
        "host": socket.gethostname(),
        "boot": _boot_id(),
        "start": _start_time(pgid),
    }


async def record_group(store: "Store", machine_name: str, pgid: int) -> None:
    """Record ``machine_name``'s action group ``pgid`` in ``store`` (a failure is logged:
    the watch and the death signal still end the group)."""
    try:
        await store.record_action_group(machine_name, group_record(pgid))
    except StateMachineError as exc:
        logger.warning(
            "[%s] cannot record process group %d: %s",
            machine_name,
            pgid,
            exc,
            extra={"action": "process_group_unrecorded", "machine": machine_name},
        )


@functools.cache
def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return None


def _stat(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_time(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (None: unknown)."""
    fields = _stat(pid)
    return int(fields[19]) if fields is not None and len(fields) > 19 else None


def _same_group(record: Mapping[str, Any], pgid: int) -> bool:
    """Whether group ``pgid`` now is still the one recorded, not a later one that got
    its id: same boot, and its leader either gone (the group lives on in what it left)
    or the very process recorded."""
    if record.get("boot") is not None and record.get("boot") != _boot_id():
        return False
    leader_start = _start_time(pgid)
    if leader_start is None:
        return True
    leader = _stat(pgid)
    if leader is not None and leader[0] in ("Z", "X"):
        return True
    return record.get("start") is not None and leader_start == record.get("start")


async def end_left_group(machine: str, record: Any) -> bool:
    """Kill the process group a previous run of ``machine`` recorded, and wait (bounded)
    until it is gone. True if a group was still there.

    A record from another host, or one that is not a plausible group, is ignored.
    """
    if not isinstance(record, Mapping) or record.get("host") != socket.gethostname():
        return False
    pgid = record.get("pgid")
    if not isinstance(pgid, int) or isinstance(pgid, bool) or pgid <= 1:
        return False
    if pgid in (os.getpgrp(), os.getpid()) or not _same_group(record, pgid):
        return False
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    logger.warning(
        "[%s] killed process group %d left running by its previous run",
        machine,
        pgid,
        extra={"action": "orphans_killed", "machine": machine, "pgid": pgid},
    )
    # Killed processes leave the group once init has reaped them: wait for that, so
    # that nothing re-runs beside them.
    deadline = time.monotonic() + GROUP_EXIT_SECONDS
    while time.monotonic() < deadline:
        if not _group_alive(pgid):
            break
        await asyncio.sleep(0.01)
    else:
        logger.warning(
            "[%s] process group %d is still there %gs after SIGKILL",
            machine,
            pgid,
            GROUP_EXIT_SECONDS,
            extra={"action": "orphans_linger", "machine": machine, "pgid": pgid},
        )
    return True


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies, which a busy or absent
    init may leave unreaped for a while, do not count)."""
    if not os.path.isdir("/proc"):
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for entry in os.listdir("/proc"):
        fields = _stat(entry) if entry.isdigit() else None
        if fields is not None and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def left_group(context: Mapping[str, Any]) -> Any:
    """The process group recorded in a machine's stored context (None: none)."""
    return context.get(ACTION_GROUP_KEY)
