"""``statemachine-system up`` in the foreground: the supervisor in this process, every
line on the terminal prefixed by its process's name, like ``docker compose up``.

Ctrl-C or SIGTERM brings the system down; so does every process having ended by itself.
While it runs, the supervisor's state file is kept current (``status`` reads it).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import sys
import time
from collections.abc import Mapping
from functools import partial
from typing import Any

from ..config._manifest import Manifest
from ..errors import StateMachineError
from ..settings import Settings
from ._control import ControlServer
from ._detach import Ready
from ._running import RunningSystem
from ._supervisor import STOP_GRACE_SECONDS, Supervisor
from ._ui import UI_PROCESS

PROG = "statemachine-system"
#: How often the state file is brought up to date while the system is up.
STATE_EVERY_SECONDS = 0.5
#: The longest grace a restart may ask for (as the command line allows: cli.MAX_GRACE_SECONDS).
MAX_GRACE_SECONDS = 3600
_COLOURS = ("36", "33", "32", "35", "34", "31")


class Echo:
    """Prints ``name | line``, the names aligned (and coloured when ``colour``)."""

    def __init__(self, names: list[str], *, colour: bool) -> None:
        self.width = max((len(name) for name in names), default=0)
        palette = itertools.cycle(_COLOURS)
        self.colours = {name: next(palette) for name in names} if colour else {}

    def __call__(self, name: str, line: str) -> None:
        label = name.ljust(self.width)
        colour = self.colours.get(name)
        if colour is not None:
            label = f"\033[{colour}m{label}\033[0m"
        print(f"{label} | {line}", flush=True)


async def run_foreground(
    manifest: Manifest,
    settings: Settings,
    running: RunningSystem,
    *,
    grace: float,
    detached: Ready | None = None,
) -> int:
    """Run the system until Ctrl-C, SIGTERM or the end of every process; 0 unless it
    could not come up.

    ``detached``: this is the supervisor ``up --detach`` started (its stdout is its log
    file): the machines' lines go to their log files only, and ``detached`` hears
    whether the system came up.
    """
    names = [*manifest.machines, *manifest.hooks, *([UI_PROCESS] if manifest.ui else [])]
    echo = Echo(names, colour=sys.stdout.isatty() and not settings.no_color)
    supervisor = Supervisor(manifest, settings, echo=None if detached else echo)
    env = settings.with_flags(db=manifest.store).child_environment(manifest.env)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    state = StateFile(running, supervisor)
    writer = asyncio.create_task(state.keep())
    stopped = asyncio.create_task(stop.wait())
    status = 0
    control: ControlServer | None = None
    try:
        if await _hook(manifest, "pre_start", env, echo) != 0:
            print(f"{PROG}: pre_start failed: nothing started", file=sys.stderr)
            if detached:
                detached.failed("pre_start failed: nothing started")
            return 1
        up = asyncio.create_task(supervisor.up())
        await asyncio.wait({up, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not up.done():
            if detached:
                detached.failed("brought down while it was starting")
            up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await up
        elif up.exception() is not None:
            error = up.exception()
            if not isinstance(error, StateMachineError):
                raise error  # type: ignore[misc]
            print(f"{PROG}: error: {error}", file=sys.stderr)
            if detached:
                detached.failed(str(error))
            status = 1
        else:
            how_down = "statemachine-system down" if detached else "Ctrl-C"
            machines = sum(len(spec_names) for spec_names in supervisor.machine_names.values())
            print(
                f"{PROG}: {manifest.name} is up: {len(supervisor.processes)} process(es), "
                f"{machines} machine(s); {how_down} brings it down",
                file=sys.stderr,
                flush=True,
            )
            await _hook(manifest, "post_start", env, echo)
            control = ControlServer(running.control_path, partial(_answer, supervisor, state))
            try:
                await control.start()
            except StateMachineError as exc:  # the system runs on; only restart cannot
                print(f"{PROG}: warning: restart will not work: {exc}", file=sys.stderr)
                control = None
            state.write()  # (a status run as soon as up -d returns sees it all)
            if detached:
                detached.up()
            ended = asyncio.create_task(supervisor.wait(machines_only=True))
            await asyncio.wait({ended, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if ended.done() and supervisor.failed:
                failed = ", ".join(supervisor.failed)
                print(f"{PROG}: ended badly (see their logs): {failed}", file=sys.stderr)
                status = 1
    finally:
        if control is not None:
            await control.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
            # A second Ctrl-C must not cut the down short. Held by a handler that does
            # nothing, not ignored: the pre_stop hook started below would inherit an
            # ignored SIGINT and SIGTERM, and a hook that hung could then be ended only
            # with SIGKILL; with a handler it gets the defaults, and Ctrl-C ends it.
            signal.signal(signum, _held_during_down)
        if supervisor.processes:  # pre_stop is for a system that started
            await _hook(manifest, "pre_stop", env, echo)
        for line in await supervisor.down(grace):
            print(f"{PROG}: {line}", file=sys.stderr, flush=True)
        writer.cancel()
        stopped.cancel()
    return status


def _held_during_down(signum: int, frame: object) -> None:
    """SIGINT and SIGTERM while the system goes down: it goes on going down."""


async def _answer(
    supervisor: Supervisor, state: StateFile, request: dict[str, Any]
) -> dict[str, Any]:
    """What the supervisor says to a command (``statemachine-system restart``)."""
    if request.get("command") != "restart":
        return {"ok": False, "error": f"unknown command {request.get('command')!r}"}
    names, grace = request.get("processes"), request.get("grace", STOP_GRACE_SECONDS)
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return {"ok": False, "error": "bad request: 'processes' must be a list of names"}
    if not isinstance(grace, (int, float)) or not 0 <= grace <= MAX_GRACE_SECONDS:
        return {"ok": False, "error": f"bad request: grace must be 0 to {MAX_GRACE_SECONDS}"}
    try:
        said = await supervisor.restart(names, float(grace))
    except StateMachineError as exc:
        return {"ok": False, "error": str(exc)}
    finally:
        state.write()  # status, run right after, sees the restarts
    for line in said:
        print(f"{PROG}: {line}", file=sys.stderr, flush=True)
    return {"ok": True, "said": said}


class StateFile:
    """Keeps the supervisor's state file (``status`` reads it) saying what it knows."""

    def __init__(self, running: RunningSystem, supervisor: Supervisor) -> None:
        self.running = running
        self.supervisor = supervisor
        self.started_at = time.time()
        self._written: dict[str, Any] | None = None

    def write(self) -> None:
        """Write the state file if what it says has changed."""
        state = {
            "pid": os.getpid(),
            "started_at": self.started_at,
            "processes": {
                name: {
                    "state": process.state,
                    "pid": process.pid,
                    "started_at": process.started_at,
                    "restarts": process.restarts,
                    "last_exit": process.last_exit,
                }
                for name, process in self.supervisor.processes.items()
            },
        }
        if self.supervisor.ui_url is not None:
            state["ui"] = self.supervisor.ui_url
        if state != self._written:
            self.running.write(state)
            self._written = state

    async def keep(self) -> None:
        while True:
            self.write()
            await asyncio.sleep(STATE_EVERY_SECONDS)


async def _hook(manifest: Manifest, hook: str, env: Mapping[str, str], echo: Any) -> int:
    """Run the manifest's ``hook`` command (if any) with bash in the project directory;
    its lines go to the terminal under the hook's name. Returns its exit status."""
    command = manifest.hooks.get(hook)
    if command is None:
        return 0
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        command,
        cwd=manifest.root,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    async for raw in process.stdout:
        echo(hook, raw.decode("utf-8", "replace").rstrip("\n"))
    status = await process.wait()
    if status != 0:
        print(f"{PROG}: {hook} exited {status}", file=sys.stderr, flush=True)
    return status
