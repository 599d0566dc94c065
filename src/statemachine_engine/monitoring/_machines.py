"""The machine list the server shows, kept current by realtime events and store rows.

Pure bookkeeping: events and records go in, machine objects (the ``MachineInfo`` of the
UI contract) come out. Events are fresher than the store between two refreshes; a
store row wins once it is newer than the last event that touched the same field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..database._names import is_local, silence_limit
from ._stuck import StayTimes, stuck_after

if TYPE_CHECKING:
    from ..database.models.machine_state import MachineStateRecord
    from ._stream import Event

#: ``(config_path or None, state) -> group`` (None when the config or group is unknown).
GroupLookup = Callable[[str | None, str], str | None]
#: ``(config_path or None, state) -> seconds`` of the state's ``max_time`` (None: unset).
MaxTimeLookup = Callable[[str | None, str], float | None]

_TEMPLATE_SUFFIX = re.compile(r"^(.+?)[_-]\d+$")
#: What ``liveness()`` reports -> what the UI shows (the CLI's words: ``running``...).
_STATUS = {"running": "running", "stale": "stale", "dead": "dead"}
#: The status of a machine whose process runs (the word ``statemachine-db`` uses too).
RUNNING = "running"
#: The status of a machine a system's manifest starts that the server has not seen run.
NOT_RUNNING = "not running"


def template_of(name: str) -> str | None:
    """``worker_003`` -> ``worker``; None for a name without a numbered suffix."""
    match = _TEMPLATE_SUFFIX.match(name)
    return match.group(1) if match else None


def shown_status(liveness: str) -> str:
    """A store liveness (running, stale, dead, finished, stopped) as the UI names it."""
    return _STATUS.get(liveness, "finished")


@dataclass
class _Machine:
    name: str
    state: str = ""
    status: str = RUNNING
    config: str | None = None
    config_name: str | None = None
    config_path: str | None = None
    group: str | None = None
    #: Its state's ``max_time`` in its config (None: none set; the usual stay is used).
    max_time: float | None = None
    pid: int | None = None
    #: Its host when that is not this server's (None: this host, or not known yet).
    host: str | None = None
    last_activity: float | None = None
    started_at: float | None = None
    #: When the machine entered ``state`` (None: unknown).
    entered_at: float | None = None
    #: The process's last heartbeat in the store (None: no row read yet).
    heartbeat_at: float | None = None
    #: When ``state`` / ``status`` were last set by an event (0: never).
    state_at: float = 0.0
    status_at: float = 0.0

    def last_seen(self) -> float | None:
        """When its process was last known alive (its last heartbeat or event)."""
        times = [t for t in (self.heartbeat_at, self.last_activity) if t]
        return max(times) if times else None

    def info(
        self, stuck_after: float | None = None, now: float | None = None, rule: str | None = None
    ) -> dict[str, Any]:
        stuck = (
            self.status == RUNNING
            and stuck_after is not None
            and now is not None
            and self.entered_at is not None
            and now - self.entered_at > stuck_after
        )
        return {
            "name": self.name,
            "state": self.state,
            "status": self.status,
            "config": self.config,
            "config_name": self.config_name,
            "group": self.group,
            "template": template_of(self.name),
            "pid": self.pid,
            "host": self.host,
            "last_activity": self.last_activity,
            "started_at": self.started_at,
            "entered_at": self.entered_at,
            "dead_since": self.last_seen() if self.status == "dead" else None,
            "stuck": stuck,
            "stuck_after": stuck_after,
            "stuck_rule": rule if stuck_after is not None else None,
        }


def with_expected(
    machines: list[dict[str, Any]], expected: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``machines`` with those a system's manifest starts: each gets ``expected``, its
    process's ``restarts``, ``process_state`` and ``last_exit``; one the server has not
    seen is added as ``not running``. By name."""
    by_name = {machine["name"]: machine for machine in machines}
    for row in expected:
        name = row["name"]
        machine = by_name.get(name)
        if machine is None:
            machine = by_name[name] = {
                **_Machine(name, status=NOT_RUNNING, config=row.get("config")).info(),
            }
        machine.update(
            expected=True,
            restarts=row.get("restarts"),
            process_state=row.get("process_state"),
            last_exit=row.get("last_exit"),
        )
    return [by_name[name] for name in sorted(by_name)]


class MachineRegistry:
    """Every machine the server knows of, by name.

    Args:
        group_of: finds the group of a state in a machine's config.
        max_time_of: finds the ``max_time`` of a state in a machine's config.
    """

    def __init__(self, group_of: GroupLookup, max_time_of: MaxTimeLookup | None = None) -> None:
        self._group_of = group_of
        self._max_time_of = max_time_of
        self._machines: dict[str, _Machine] = {}
        self.stays = StayTimes()

    def __len__(self) -> int:
        return len(self._machines)

    def machines(self, now: float | None = None) -> list[dict[str, Any]]:
        """Every machine, by name; with ``now``, those in a state too long are ``stuck``."""
        return [self._info(self._machines[name], now) for name in sorted(self._machines)]

    def get(self, name: str, now: float | None = None) -> dict[str, Any] | None:
        machine = self._machines.get(name)
        return self._info(machine, now) if machine else None

    def _info(self, machine: _Machine, now: float | None) -> dict[str, Any]:
        if machine.max_time is not None:
            return machine.info(machine.max_time, now, "max_time")
        return machine.info(
            stuck_after(self.stays.usual(machine.config, machine.state)), now, "usual"
        )

    def config_path(self, stem: str) -> str | None:
        """The config file a machine of config ``stem`` was started from, if one was."""
        for machine in self._machines.values():
            if machine.config == stem and machine.config_path:
                return machine.config_path
        return None

    def needs_record(self, name: str) -> bool:
        """Whether the store has facts about ``name`` this registry lacks (its config file)."""
        machine = self._machines.get(name)
        return machine is None or machine.config_path is None

    def apply_event(self, event: Event) -> None:
        """Update the machine an event comes from (registering it when new)."""
        name = event["machine_name"]
        stamp = event["timestamp"]
        payload = event["payload"]
        machine = self._machines.get(name)
        if machine is None:
            machine = self._machines[name] = _Machine(name)
        kind = event["type"]
        machine.last_activity = max(machine.last_activity or 0.0, stamp)
        if kind == "machine_terminated":
            final = payload.get("final_state")
            if isinstance(final, str):
                self._set_state(machine, final, stamp)
            self._set_status(machine, "finished", stamp)
            return
        self._set_status(machine, RUNNING, stamp)
        if kind == "machine_registered":
            config = payload.get("config_type")
            if isinstance(config, str) and config != machine.config:
                machine.config = config
                machine.config_path = None  # another file: the store will tell which
            label = payload.get("config_name")
            if isinstance(label, str):
                machine.config_name = label
            pid = payload.get("pid")
            if isinstance(pid, int):
                machine.pid = pid
            machine.started_at = stamp
        elif kind == "state_change":
            target = payload.get("to_state")
            if isinstance(target, str):
                self._set_state(machine, target, stamp)

    def apply_records(
        self, records: Iterable[tuple[MachineStateRecord, str]], *, now: float
    ) -> None:
        """Merge store rows, each with its ``liveness()`` at ``now``.

        Events newer than a row keep precedence, except that a machine whose process is
        gone is dead, and one silent for the stale period is stale, whatever it last said.
        """
        for record, liveness in records:
            machine = self._machines.get(record.machine_name)
            if machine is None:
                machine = self._machines[record.machine_name] = _Machine(record.machine_name)
            newest_row = max(record.updated_at, record.heartbeat_at)
            if record.config_path and (
                machine.config_path is None or machine.state_at <= record.updated_at
            ):
                machine.config_path = record.config_path
                machine.config = Path(record.config_path).stem
                machine.config_name = record.config_name
            machine.heartbeat_at = record.heartbeat_at
            machine.host = None if is_local(record.host) else record.host
            # Silence a newer event contradicts is not yet the machine's.
            silent = now - machine.status_at > silence_limit(record.host)
            if machine.status_at <= newest_row:
                machine.status = shown_status(liveness)
                machine.pid = record.pid
            elif liveness == "dead" and machine.pid in (None, record.pid):
                if machine.host is None or silent:
                    machine.status = "dead"  # the process that sent the last event is gone
            elif liveness == "stale" and silent:
                machine.status = "stale"
            if machine.pid is None:
                # Its registration was older than the events replayed at a server start.
                machine.pid = record.pid
            if machine.state_at <= record.updated_at and record.current_state:
                if record.current_state != machine.state or machine.entered_at is None:
                    machine.entered_at = record.updated_at
                machine.state = record.current_state
            if machine.started_at is None or machine.status_at <= record.started_at:
                machine.started_at = record.started_at or machine.started_at
            machine.last_activity = max(machine.last_activity or 0.0, record.updated_at)
            self._place(machine)

    def _set_state(self, machine: _Machine, state: str, stamp: float) -> None:
        if stamp >= machine.state_at:
            if machine.entered_at is not None and machine.state:
                self.stays.add(machine.config, machine.state, stamp - machine.entered_at)
            machine.entered_at = stamp
            machine.state = state
            machine.state_at = stamp
            self._place(machine)

    @staticmethod
    def _set_status(machine: _Machine, status: str, stamp: float) -> None:
        if stamp >= machine.status_at:
            machine.status = status
            machine.status_at = stamp

    def _place(self, machine: _Machine) -> None:
        """Look up what its config says of its state: the group and the ``max_time``."""
        machine.group = self._group_of(machine.config_path, machine.state)
        if self._max_time_of is not None:
            machine.max_time = self._max_time_of(machine.config_path, machine.state)
