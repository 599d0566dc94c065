"""One supervised ``statemachine`` process: started, its lines passed on, started again
per its restart policy, stopped.

A process runs one manifest entry (its instances too) or one ``in_process`` group. It
dies with the supervisor (``PR_SET_PDEATHSIG``): a supervisor killed outright leaves no
machine behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from ..actions._process_groups import dying_with_parent
from ..config._manifest import MachineSpec, Manifest, RestartPolicy
from ._restarts import decide, describe_exit

logger = logging.getLogger("statemachine_engine.system")

#: Receives each line a process writes: ``(unit name, line without its newline)``.
LineSink = Callable[[str, str], None]
_CHUNK = 64 * 1024


class Unit(NamedTuple):
    """What one process runs: one entry of the manifest, or an ``in_process`` group."""

    name: str
    specs: tuple[MachineSpec, ...]

    @property
    def policy(self) -> RestartPolicy:
        if not self.specs:  # the UI: restarted as a machine is by default
            return RestartPolicy()
        return self.specs[0].restart  # a group's machines share one (checked on load)


def units_of(specs: Sequence[MachineSpec]) -> list[Unit]:
    """The processes that run ``specs``: one per machine, one per ``in_process`` group
    (named after the group, where its first machine stands)."""
    units: list[Unit] = []
    groups: dict[str, int] = {}
    for spec in specs:
        if spec.in_process is None:
            units.append(Unit(spec.name, (spec,)))
        elif spec.in_process in groups:
            index = groups[spec.in_process]
            units[index] = units[index]._replace(specs=(*units[index].specs, spec))
        else:
            groups[spec.in_process] = len(units)
            units.append(Unit(spec.in_process, (spec,)))
    return units


def command_for(unit: Unit, manifest: Manifest) -> list[str]:
    """The ``statemachine`` command line of ``unit``."""
    argv = [sys.executable, "-m", "statemachine_engine", *(str(s.config) for s in unit.specs)]
    first = unit.specs[0]
    if len(unit.specs) == 1:
        argv += ["--machine-name", first.name]
        if first.instances > 1:
            argv += ["--instances", str(first.instances)]
        if first.initial_context:
            argv += ["--initial-context", json.dumps(dict(first.initial_context))]
    if first.actions_dir is not None:
        argv += ["--actions-dir", str(first.actions_dir)]
    if manifest.store is not None:
        argv += ["--db", manifest.store]
    return argv


class SupervisedProcess:
    """Runs a unit's process until :meth:`stop`, starting it again per its policy.

    Attributes:
        state: ``starting``, ``running``, ``backoff`` (waiting to restart),
            ``restarting`` (a restart was asked for), ``stopped`` or ``gave-up`` (a crash
            loop, or an error restarting cannot mend).
        pid: the running process's, else None.
        restarts: how many times it was started again.
        last_exit: how it last ended, in words (None: it has not).
        exit_status: its last exit status (negative: killed by that signal; None: it
            has not ended).
    """

    def __init__(
        self,
        unit: Unit,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        sink: LineSink,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.unit = unit
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = cwd
        self.sink = sink
        self.clock = clock
        self.state = "starting"
        self.pid: int | None = None
        self.started_at: float | None = None
        self.restarts = 0
        self.last_exit: str | None = None
        self.exit_status: int | None = None
        self._recent: list[float] = []
        self._process: asyncio.subprocess.Process | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()  # ends a backoff early: a restart asked for, or a stop
        self._restart_asked = False
        self._go = asyncio.Event()  # the asked-for restart may start the process
        self._in_run = False
        self.started = asyncio.Event()

    async def run(self) -> None:
        """Start the process and keep it up per the policy; returns once it is stopped
        or given up."""
        self._in_run = True
        try:
            await self._run()
        finally:
            self._in_run = False

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                status = await self._run_once()
            except OSError as exc:  # the interpreter or the working directory is gone
                self.state, self.last_exit = "gave-up", f"cannot start: {exc.strerror or exc}"
                self.sink(self.unit.name, f"--- {self.last_exit}")
                logger.error("[%s] %s", self.unit.name, self.last_exit)
                return
            self.exit_status, self.last_exit = status, describe_exit(status)
            if self._stopping.is_set():
                break
            if self._asked_to_restart():
                self.sink(self.unit.name, f"--- {self.last_exit}; restarting, as asked")
                await self._restart_when_told()
                continue
            decision = decide(self.unit.policy, status, self._recent, self.clock())
            self.last_exit = decision.reason
            log = logger.info if status == 0 else logger.warning
            log("[%s] %s", self.unit.name, decision.reason)
            self.sink(self.unit.name, f"--- {decision.reason}")
            if not decision.restart:
                self.state = "gave-up" if decision.gave_up else "stopped"
                return
            self.state = "backoff"
            self._wake.clear()  # (stop and restart were looked at above)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), decision.delay)
            if self._stopping.is_set():
                break
            if self._asked_to_restart():
                await self._restart_when_told()
                continue
            self._recent.append(self.clock())
            self.restarts += 1
        self.state = "stopped"

    async def _run_once(self) -> int:
        dying = dying_with_parent()
        self.state = "starting"
        process = await asyncio.create_subprocess_exec(
            *dying.prefix,
            *self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            preexec_fn=dying.preexec,
        )
        self._process, self.pid, self.started_at = process, process.pid, time.time()
        self.state = "running"
        self.started.set()
        assert process.stdout is not None
        assert process.stderr is not None
        await asyncio.gather(self._pass_on(process.stdout), self._pass_on(process.stderr))
        status = await process.wait()
        self._process, self.pid = None, None
        return status

    async def _pass_on(self, stream: asyncio.StreamReader) -> None:
        """Every line of ``stream`` to the sink, whole however long it is."""
        pending = b""
        while chunk := await stream.read(_CHUNK):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                self.sink(self.unit.name, line.decode("utf-8", "replace"))
        if pending:
            self.sink(self.unit.name, pending.decode("utf-8", "replace"))

    def _asked_to_restart(self) -> bool:
        return self._restart_asked  # (read anew: it changes while the loop awaits)

    async def _restart_when_told(self) -> None:
        await self._go.wait()
        self._restart_asked = False

    def ask_restart(self) -> None:
        """A restart is coming (:meth:`restart_ready` lets it go ahead): when the process
        ends, or now if it waits for a restart of its own, it is started again at once,
        whatever its policy says."""
        self._restart_asked = True
        self._go.clear()
        self.state = "restarting"
        self._wake.set()

    def restart_ready(self) -> bool:
        """Start the process asked to restart (it counts as a restart, and its crash-loop
        window starts over); False when :meth:`run` has returned, so the caller must
        run it again."""
        self.restarts += 1
        self._recent.clear()
        self.state = "starting"
        if not self._in_run:
            self._restart_asked = False
        self._go.set()
        return self._in_run

    @property
    def current(self) -> asyncio.subprocess.Process | None:
        """The running process, if any."""
        return self._process

    async def ended(
        self,
        process: asyncio.subprocess.Process | None,
        grace: float,
        *,
        kill_after: float | None = None,
    ) -> str:
        """Wait ``grace`` seconds for ``process`` to end (it was sent a stop event), then
        SIGTERM it, then SIGKILL after ``kill_after`` seconds (as long again by default).
        Returns how it ended."""
        if process is None:
            return self.last_exit or "not running"
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(process.wait()), grace)
        if process.returncode is not None:
            return describe_exit(process.returncode)
        return await self._terminate(process, grace if kill_after is None else kill_after)

    async def _terminate(self, process: asyncio.subprocess.Process, grace: float) -> str:
        """SIGTERM ``process``, SIGKILL if it is still there after ``grace`` seconds."""
        with contextlib.suppress(ProcessLookupError):
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        try:
            status = await asyncio.wait_for(asyncio.shield(process.wait()), grace)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                if process.returncode is None:
                    process.send_signal(signal.SIGKILL)
            status = await process.wait()
        return describe_exit(status)

    def signal(self, signum: int) -> bool:
        """Send ``signum`` to the running process; False when none runs."""
        process = self._process
        if process is None or process.returncode is not None:
            return False
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)
        return True

    def keep_down(self) -> None:
        """Start it no more: once it ends, it stays down."""
        self._stopping.set()
        self._wake.set()
        self._go.set()

    async def stop(self, grace: float) -> str:
        """Stop it and keep it down: SIGTERM (a machine ends its actions and exits),
        SIGKILL if it is still there after ``grace`` seconds. Returns how it ended."""
        self.keep_down()
        process = self._process
        if process is None:
            return self.last_exit or "not running"
        return await self._terminate(process, grace)
