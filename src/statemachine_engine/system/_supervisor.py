"""Runs a manifest's machines: started in dependency order, kept up, brought down.

Each process's lines go to its log file and, in the foreground, to the terminal. A
wave of processes is started once the machines of the waves before it have registered
in the store (their names held by their processes). Bringing the system down sends each
machine a ``stop`` event (a config can end its work its own way), then SIGTERM to what
is still running after the grace period, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from ..config._manifest import Manifest
from ..config.loader import load_config
from ..core._launches import instance_names, machine_name_for
from ..database import open_store
from ..database._delivery import deliver
from ..database.models.machine_event import EventStatus
from ..errors import StateMachineError, StoreError, SystemStartFailed, UsageError
from ..settings import Settings
from ._logfiles import LogFiles
from ._process import LineSink, SupervisedProcess, Unit, command_for, units_of
from ._ui import UI_UNIT, draw_diagrams, served_url, ui_command

logger = logging.getLogger("statemachine_engine.system")

#: How long a wave's machines have to register before ``up`` gives up on them.
REGISTER_TIMEOUT_SECONDS = 30.0
#: How long machines have after their ``stop`` event (then SIGTERM), and after SIGTERM
#: (then SIGKILL).
STOP_GRACE_SECONDS = 10.0
_POLL_SECONDS = 0.05
#: What ``down`` sends each machine, and as whom.
STOP_EVENT = "stop"
STOP_SOURCE = "statemachine-system"


def unit_machine_names(unit: Unit) -> list[str]:
    """The machines a unit's process runs, by the names they register under."""
    if len(unit.specs) == 1:
        spec = unit.specs[0]
        return instance_names(spec.name, spec.instances if spec.instances > 1 else None)
    return [machine_name_for(load_config(spec.config)) for spec in unit.specs]


def started_units(manifest: Manifest) -> list[Unit]:
    """The processes a system runs, in start order."""
    return units_of([spec for wave in manifest.start_order() for spec in wave])


def select_units(manifest: Manifest, names: Sequence[str]) -> list[Unit]:
    """The processes ``names`` stand for (all of them when none is given), in start
    order. A name is a machine of the manifest, one of its instances (``worker_001``)
    or an ``in_process`` group; each stands for the process that runs it.

    Raises:
        UsageError: a name the system does not start, with the names it knows.
    """
    units = started_units(manifest)
    if not names:
        return units
    owner: dict[str, Unit] = {}
    for unit in units:
        owner[unit.name] = unit
        for spec in unit.specs:
            owner.setdefault(spec.name, unit)
        for machine in unit_machine_names(unit):
            owner.setdefault(machine, unit)
    unknown = [name for name in names if name not in owner]
    if unknown:
        known = ", ".join(
            dict.fromkeys([*(u.name for u in units), *(s.name for u in units for s in u.specs)])
        )
        raise UsageError(
            f"{manifest.path.name} starts no machine {', '.join(map(repr, unknown))}; "
            f"known: {known}"
        )
    chosen = {owner[name].name for name in names}
    return [unit for unit in units if unit.name in chosen]


class Supervisor:
    """The processes of one manifest.

    Args:
        manifest: the system.
        settings: the supervisor's settings; the manifest's store, when it names one,
            takes the place of theirs, and its ``env`` is added to the machines'.
        echo: also receives every line (the foreground terminal); None: log files only.
    """

    def __init__(
        self, manifest: Manifest, settings: Settings, *, echo: LineSink | None = None
    ) -> None:
        self.manifest = manifest
        self.settings = settings.with_flags(db=manifest.store)
        self.logs = LogFiles(manifest.logs)
        self.echo = echo
        self.processes: dict[str, SupervisedProcess] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.machine_names: dict[str, list[str]] = {}
        self._going_down = False
        self._restarting = asyncio.Lock()
        #: Where the UI answers, once it has said so.
        self.ui_url: str | None = None

    def _sink(self, name: str, line: str) -> None:
        if name == UI_UNIT.name:
            self.ui_url = served_url(line) or self.ui_url  # (a new port after a restart)
        self.logs.write(name, line)
        if self.echo is not None:
            self.echo(name, line)

    async def up(self) -> None:
        """Start every wave of the system; returns once all its machines have registered.

        Raises:
            SystemStartFailed: a machine's process ended, or did not register in time; what
                was started stays up (:meth:`down` brings it down).
        """
        specs = [spec for wave in self.manifest.start_order() for spec in wave]
        by_unit = {unit.name: unit for unit in units_of(specs)}
        await self._drop_stale_stops([n for u in by_unit.values() for n in unit_machine_names(u)])
        env = self.settings.child_environment(self.manifest.env)
        for warning in draw_diagrams(self.manifest):
            logger.warning("%s", warning)
            self._sink(UI_UNIT.name, f"--- {warning}")
        if self.manifest.ui is not None:
            self._start(UI_UNIT, ui_command(self.manifest), env)
        for wave in self.manifest.start_order():
            started = []
            for unit in units_of(list(wave)):
                if unit.name in self.processes:
                    continue  # a group already started with an earlier member
                unit = by_unit[unit.name]
                started.append(self._start(unit, command_for(unit, self.manifest), env))
            await self._registered(started)

    def _start(self, unit: Unit, argv: list[str], env: dict[str, str]) -> SupervisedProcess:
        process = SupervisedProcess(unit, argv, env=env, cwd=self.manifest.root, sink=self._sink)
        self.processes[unit.name] = process
        self.machine_names[unit.name] = unit_machine_names(unit) if unit.specs else []
        self._tasks[unit.name] = asyncio.create_task(process.run(), name=unit.name)
        return process

    async def _registered(self, processes: Sequence[SupervisedProcess]) -> None:
        """Wait until every machine of ``processes`` is in the store, held by its process."""
        if not processes:
            return
        store = open_store(settings=self.settings)
        try:
            deadline = time.monotonic() + REGISTER_TIMEOUT_SECONDS
            waiting = {p.unit.name: set(self.machine_names[p.unit.name]) for p in processes}
            restarts = {p.unit.name: p.restarts for p in processes}
            while waiting:
                for process in processes:
                    names = waiting.get(process.unit.name)
                    if names is None:
                        continue
                    if process.state == "stopped" and process.exit_status == 0:
                        del waiting[process.unit.name]  # it ran, and ended as it should
                        continue
                    ended = self._tasks[process.unit.name].done()
                    again = process.restarts > restarts[process.unit.name]
                    if ended or again or process.state not in ("starting", "running"):
                        raise SystemStartFailed(
                            f"{process.unit.name} did not start: {process.last_exit or 'ended'}"
                            f" (see {self.logs.path_of(process.unit.name)})"
                        )
                    for name in list(names):
                        record = await store.load_machine(name)
                        if record is not None and record.pid == process.pid:
                            names.discard(name)
                    if not names:
                        del waiting[process.unit.name]
                if time.monotonic() > deadline:
                    late = ", ".join(sorted(n for names in waiting.values() for n in names))
                    raise SystemStartFailed(
                        f"not registered within {REGISTER_TIMEOUT_SECONDS:g}s: {late}"
                    )
                await asyncio.sleep(_POLL_SECONDS)
        finally:
            await store.close()

    async def _drop_stale_stops(self, names: Sequence[str]) -> None:
        """Drop the ``stop`` events an earlier ``down`` sent that a machine never took (it
        was busy, then got SIGTERM): they would stop it again right after this start."""
        store = open_store(settings=self.settings)
        try:
            for name in names:
                stale = [
                    event.id
                    for event in await store.pending_events(name)
                    if event.event_type == STOP_EVENT and event.source_machine == STOP_SOURCE
                ]
                await store.mark_events(
                    stale, EventStatus.DROPPED, reason="sent by an earlier statemachine-system down"
                )
        finally:
            await store.close()

    @property
    def failed(self) -> list[str]:
        """The processes given up (a crash loop, one that cannot start) or ended by
        themselves with a failure their policy does not restart."""
        return [
            name
            for name, process in self.processes.items()
            if process.state == "gave-up" or process.exit_status not in (0, None)
        ]

    async def wait(self, *, machines_only: bool = False) -> None:
        """Until every process (only the machines' with ``machines_only``: the UI runs
        for them) has stopped or been given up, and none was restarted meanwhile."""
        while pending := [
            task
            for name, task in self._tasks.items()
            if not task.done() and (self.machine_names.get(name) or not machines_only)
        ]:
            await asyncio.wait(pending)

    async def restart(self, names: Sequence[str], grace: float = STOP_GRACE_SECONDS) -> list[str]:
        """Stop the processes ``names`` as :meth:`down` does (a ``stop`` event, SIGTERM
        after ``grace`` seconds, SIGKILL after as long again), then start them again at
        once, whatever their policy (a process given up too); returns once their machines
        have registered, a line each.

        Raises:
            StateMachineError: a name is not a process of the system, or the system is
                going down.
            SystemStartFailed: a process did not come up again.
        """
        unknown = [name for name in names if name not in self.processes]
        if unknown:
            raise UsageError(f"not a process of this system: {', '.join(unknown)}")
        async with self._restarting:
            if self._going_down:
                raise StateMachineError("the system is going down: nothing restarted")
            processes = [self.processes[name] for name in dict.fromkeys(names)]
            running = {p.unit.name: p.current for p in processes}
            for process in processes:
                process.ask_restart()
            await self._send_stop([p for p in processes if running[p.unit.name] is not None])
            ended = await asyncio.gather(
                *(
                    # The UI takes no stop event: SIGTERM at once.
                    p.ended(running[p.unit.name], grace if p.unit.specs else 0.0, kill_after=grace)
                    for p in processes
                )
            )
            await self._drop_stale_stops(
                [name for p in processes for name in self.machine_names[p.unit.name]]
            )
            for process in processes:
                if self._going_down:
                    raise StateMachineError("the system is going down: nothing restarted")
                if not process.restart_ready():
                    name = process.unit.name
                    self._tasks[name] = asyncio.create_task(process.run(), name=name)
            await self._registered(processes)
        return [
            f"{p.unit.name}: {how}, restarted (pid {p.pid}, restarts {p.restarts})"
            for p, how in zip(processes, ended, strict=True)
        ]

    async def down(self, grace: float = STOP_GRACE_SECONDS) -> list[str]:
        """Bring every process down; returns how each ended, a line each.

        Nothing is started again from here on. Each machine gets a ``stop`` event; a
        process still running ``grace`` seconds later gets SIGTERM, and SIGKILL after as
        long again.
        """
        self._going_down = True
        for process in self.processes.values():
            process.keep_down()
        await self._send_stop([p for p in self.processes.values() if p.pid is not None])
        # (the UI has no stop event to take: it gets SIGTERM once the machines are down)
        pending = [
            task
            for name, task in self._tasks.items()
            if not task.done() and self.machine_names.get(name)
        ]
        if pending:
            await asyncio.wait(pending, timeout=grace)
        ended = await asyncio.gather(*(p.stop(grace) for p in self.processes.values()))
        await self.wait()
        self.logs.close()
        return [f"{name}: {how}" for name, how in zip(self.processes, ended, strict=True)]

    async def _send_stop(self, processes: Sequence[SupervisedProcess]) -> None:
        if not processes:
            return
        try:
            store = open_store(settings=self.settings)
        except StoreError as exc:
            logger.warning("cannot send stop events (%s); stopping with signals", exc)
            return
        try:
            for process in processes:
                for name in self.machine_names[process.unit.name]:
                    await deliver(store, name, STOP_EVENT, source=STOP_SOURCE)
        finally:
            await store.close()
