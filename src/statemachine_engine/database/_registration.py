"""Machine names taken in the store: one by one, or many of one process together."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import MachineAlreadyRunning
from ._connector import Operations, first
from ._names import NAME_LEASE_SECONDS, pid_alive, refuse_if_held
from ._records import MachineStateRecord, Registration
from ._rows import machine_record


class RegistrationOperations(Operations):
    """Take a machine's name for a process (see :mod:`._names` for who keeps one)."""

    async def register_machine(
        self,
        machine_name: str,
        *,
        config_name: str | None,
        config_path: str | None,
        pid: int,
        host: str,
        wake_address: str | None = None,
        lease_seconds: float = NAME_LEASE_SECONDS,
        config_hash: str | None = None,
    ) -> MachineStateRecord | None:
        """Take the machine's name for this process and mark it running; return its
        previous record if any.

        Args:
            wake_address: the socket senders on ``host`` wake the machine through.
            lease_seconds: a holder silent for this long has lost the name.
            config_hash: identifies the config's content (``MachineConfig.source_hash``);
                the previous record carries the one it ran under.

        Raises:
            MachineAlreadyRunning: a live process holds the name (see :mod:`._names`).
        """
        registration = Registration(
            machine_name, config_name, config_path, config_hash, wake_address
        )
        while True:  # until the name is taken or found held (each turn: someone moved)
            row = first(await self._run("load_machine", {"machine_name": machine_name}))
            previous = machine_record(row) if row is not None else None
            params = self._taking(registration, previous, pid, host, lease_seconds)
            if first(await self._run("register_machine", params)) is not None:
                break
        if previous is None or not previous.current_state:
            return None
        return previous

    @property
    def registers_together(self) -> bool:
        """Whether :meth:`register_machines` takes many names in one transaction (SQLite);
        elsewhere it registers them one by one."""
        return hasattr(self.connector, "run_each")

    async def load_machines(self, machine_names: Sequence[str]) -> dict[str, MachineStateRecord]:
        """The records of ``machine_names`` that exist, by name, in one read; unlike
        :meth:`load_machine`, a record never in a state yet is included."""
        if not machine_names:
            return {}
        rows = await self._rows("load_machines", names=list(machine_names))
        return {row["machine_name"]: machine_record(row) for row in rows}

    async def waiting_inboxes(self, machine_names: Sequence[str]) -> set[str]:
        """Which of ``machine_names`` have events waiting in their inboxes, in one read
        (delayed ones too, due or not)."""
        if not machine_names:
            return set()
        rows = await self._rows("waiting_inboxes", names=list(machine_names))
        return {row["target_machine"] for row in rows}

    async def register_machines(
        self,
        registrations: Sequence[Registration],
        recorded: Mapping[str, MachineStateRecord],
        *,
        pid: int,
        host: str,
        lease_seconds: float = NAME_LEASE_SECONDS,
    ) -> list[MachineStateRecord | MachineAlreadyRunning | None]:
        """Take several names for this process, as :meth:`register_machine` takes one,
        judged against ``recorded`` (:meth:`load_machines`, read before): one transaction
        for all (where :attr:`registers_together`), and the waiting steps of the process
        commit in it. A name whose record moved since it was read is taken as
        :meth:`register_machine` takes it (read again until taken or found held).

        Returns:
            For each registration in order: the previous record it resumes (None: none
            in a state), or the :class:`MachineAlreadyRunning` refusing the name.
        """
        results: list[MachineStateRecord | MachineAlreadyRunning | None] = []
        writes: list[tuple[int, dict[str, Any]]] = []
        for registration in registrations:
            previous = recorded.get(registration.machine_name)
            try:
                params = self._taking(registration, previous, pid, host, lease_seconds)
            except MachineAlreadyRunning as refused:
                results.append(refused)
                continue
            writes.append((len(results), params))
            results.append(None if previous is None or not previous.current_state else previous)
        run_each = getattr(self.connector, "run_each", None)
        if run_each is None:
            taken = [first(await self._run("register_machine", p)) for _, p in writes]
        else:
            results_each = await run_each("register_machine", [p for _, p in writes])
            taken = [first(result) for result in results_each]
        for (index, _), row in zip(writes, taken, strict=True):
            if row is None:  # someone registered it meanwhile
                registration = registrations[index]
                try:
                    results[index] = await self.register_machine(
                        registration.machine_name,
                        config_name=registration.config_name,
                        config_path=registration.config_path,
                        pid=pid,
                        host=host,
                        wake_address=registration.wake_address,
                        lease_seconds=lease_seconds,
                        config_hash=registration.config_hash,
                    )
                except MachineAlreadyRunning as refused:
                    results[index] = refused
        return results

    def _taking(
        self,
        registration: Registration,
        previous: MachineStateRecord | None,
        pid: int,
        host: str,
        lease_seconds: float,
    ) -> dict[str, Any]:
        """``register_machine``'s parameters to take a name whose record was read as
        ``previous`` (refused with :class:`MachineAlreadyRunning` if its holder keeps it)."""
        now = time.time()
        refuse_if_held(
            previous,
            pid=pid,
            host=host,
            now=now,
            location=self.location,
            pid_alive=pid_alive,
            lease_seconds=lease_seconds,
        )
        return {
            **registration._asdict(),
            "pid": pid,
            "host": host,
            "now": now,
            "expected_heartbeat": None if previous is None else previous.heartbeat_at,
            "expected_status": None if previous is None else previous.status,
            "expected_pid": None if previous is None else previous.pid,
        }
