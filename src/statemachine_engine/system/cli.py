"""``statemachine-system``: a whole system of machines from one manifest.

``validate`` lints the manifest and every config it names; ``up`` starts the system in
the foreground (every process's lines on the terminal, prefixed by its name; Ctrl-C or
SIGTERM brings it down), or with ``--detach`` leaves its supervisor in the background
(:mod:`._detach`); ``status`` shows each machine; ``logs`` prints (and follows)
each machine's log file; ``restart`` has the supervisor of a system that is up restart
machines (:mod:`._control`); ``down`` stops a system that is up. See docs/system.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._cli_support import (
    EXIT_ERROR,
    EXIT_OK,
    add_debug_and_version,
    add_format_option,
    duration,
    run_main,
    whole_number,
)
from ..config._manifest import DEFAULT_MANIFEST

if TYPE_CHECKING:
    from ..config._manifest import Manifest
    from ..settings import Settings
    from ..tools.lint import Finding
    from ._running import RunningSystem

__all__ = ["build_parser", "main"]

PROG = "statemachine-system"
#: How long ``down`` waits for a supervisor to bring its system down.
DOWN_TIMEOUT_SECONDS = 60.0
#: How many lines of each log ``logs`` prints by default.
DEFAULT_LOG_LINES = 100
#: The longest grace period a command takes.
MAX_GRACE_SECONDS = 3600.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run a whole system of machines from one manifest "
        f"({DEFAULT_MANIFEST}): validate it, bring it up, see its status, bring it down.",
    )
    parser.add_argument(
        "-f",
        "--file",
        default=DEFAULT_MANIFEST,
        metavar="FILE",
        help=f"the manifest (default: {DEFAULT_MANIFEST})",
    )
    add_debug_and_version(parser)
    # -f FILE after the command too (``up -f other.yaml``); logs keeps -f for --follow.
    manifest = _manifest_option(("-f", "--file"))
    long_only = _manifest_option(("--file",))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser(
        "validate",
        parents=[manifest],
        help="check the manifest and lint every config it names",
        description="Check the manifest and lint every config it names, as one system. "
        "Exit status: 0 clean, 1 errors.",
    )
    up = commands.add_parser(
        "up",
        parents=[manifest],
        help="start the system in the foreground (Ctrl-C brings it down), or with -d in "
        "the background",
        description="Lint every config (an error starts nothing), then start the machines "
        "in dependency order and stream their lines, each prefixed by its name. Ctrl-C "
        "or SIGTERM brings the system down. With -d, the supervisor runs on in the "
        "background and up returns once every machine has registered (exit 1 with the "
        "reason if one did not). On a system that is up already, does nothing.",
    )
    _add_grace(up)
    up.add_argument(
        "-d",
        "--detach",
        action="store_true",
        help="leave the supervisor running in the background, in a session of its own "
        "(it survives the terminal; its lines go to logs/statemachine-system.log), and "
        "return once every machine has registered",
    )
    up.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)  # the detached supervisor
    down = commands.add_parser(
        "down",
        parents=[manifest],
        help="bring a system that is up down",
        description="Each machine gets a stop event, then SIGTERM after the grace period, "
        "then SIGKILL. Exit status 0 once everything is gone.",
    )
    _add_grace(down)
    status = commands.add_parser(
        "status",
        parents=[manifest],
        help="each machine: state, pid, uptime, restarts, last exit, heartbeat age",
        description="Each machine of the system as the store and the supervisor see it.",
    )
    add_format_option(status)
    logs = commands.add_parser(
        "logs",
        parents=[long_only],
        help="the last lines of each machine's log file; -f follows them",
        description="Print the last lines of each machine's log file (logs/<name>.log), "
        "each prefixed by its name, machine after machine; with -f, then print every "
        "line they get, as tail -F does (across rotation) until Ctrl-C. Works whether the "
        "system is up or not.",
    )
    logs.add_argument(
        "-f", "--follow", action="store_true", help="keep printing the lines as they come"
    )
    logs.add_argument(
        "-n",
        "--lines",
        type=_count,
        default=DEFAULT_LOG_LINES,
        metavar="N",
        help=f"how many of the last lines of each log to print (default: {DEFAULT_LOG_LINES})",
    )
    logs.add_argument(
        "machines",
        nargs="*",
        metavar="MACHINE",
        help="a machine of the manifest, one of its instances or an in_process group "
        "(default: all)",
    )
    restart = commands.add_parser(
        "restart",
        parents=[manifest],
        help="restart machines of a system that is up",
        description="The supervisor stops each machine named as down does (a stop event, "
        "then SIGTERM after the grace period, then SIGKILL) and starts it again at once, "
        "whatever its restart policy (one it gave up too); returns once it has registered "
        "again. An instance or a member of an in_process group restarts its whole process. "
        "Exit status 1 when the system is not up or a machine did not come up again.",
    )
    _add_grace(restart)
    restart.add_argument(
        "machines",
        nargs="+",
        metavar="MACHINE",
        help="a machine of the manifest, one of its instances or an in_process group",
    )
    return parser


_grace = duration(MAX_GRACE_SECONDS)
_count = whole_number()


def _manifest_option(flags: tuple[str, ...]) -> argparse.ArgumentParser:
    option = argparse.ArgumentParser(add_help=False)
    option.add_argument(
        *flags, dest="file", default=argparse.SUPPRESS, metavar="FILE", help="the manifest"
    )
    return option


def _add_grace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--grace",
        type=_grace,
        default=10.0,
        metavar="SECONDS",
        help="how long machines have after their stop event, then after SIGTERM (default: 10)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``statemachine-system``; returns the exit status."""
    return run_main(build_parser(), argv, _run)


def _run(args: argparse.Namespace) -> int:
    from ..config._manifest_reader import load_manifest
    from ..settings import Settings

    manifest = load_manifest(args.file)
    settings = Settings.load().with_flags(db=manifest.store)
    if args.command == "validate":
        return _validate(manifest)
    if args.command == "up":
        if args.ready_fd is not None:
            return _supervise_detached(manifest, settings, args.grace, args.ready_fd)
        return _up(manifest, settings, args.grace, detach=args.detach)
    if args.command == "down":
        return _down(manifest, settings)
    if args.command == "restart":
        return _restart(manifest, settings, args.machines, args.grace)
    if args.command == "logs":
        return _logs(manifest, settings, args.machines, args.lines, follow=args.follow)
    return _status(manifest, settings, args.format)


def _lint(manifest: Manifest) -> list[Finding]:
    """Every config of the manifest linted; machines sharing an actions directory are
    linted together, as one system (the events they send each other count as sent, and
    so does ``stop``, which ``down`` sends every machine)."""
    from ..core.action_loader import ActionLoader
    from ..tools.lint import lint_paths
    from ._supervisor import STOP_EVENT

    by_actions: dict[Path | None, list[str]] = {}
    for spec in manifest.machines.values():
        paths = by_actions.setdefault(spec.actions_dir, [])
        if str(spec.config) not in paths:
            paths.append(str(spec.config))
    findings = []
    for actions_dir, paths in by_actions.items():
        loader = ActionLoader(str(actions_dir) if actions_dir else None)
        for result in lint_paths(paths, actions=loader, sent_to_all=frozenset({STOP_EVENT})):
            findings += result.findings
    return findings


def _validate(manifest: Manifest) -> int:
    from ..tools.lint import summary, text_lines

    findings = _lint(manifest)
    for line in text_lines(findings):
        print(line)
    configs = len({spec.config for spec in manifest.machines.values()})
    print(f"{PROG}: {manifest.path.name}: {summary(findings, configs)}", file=sys.stderr)
    return EXIT_ERROR if any(item.fails(strict=False) for item in findings) else EXIT_OK


def _up(manifest: Manifest, settings: Settings, grace: float, *, detach: bool) -> int:
    from .._lean_imports import import_asyncio

    import_asyncio()  # the supervisor stays up as long as its machines: no ssl for it either
    import asyncio

    from ._running import RunningSystem

    running = RunningSystem(settings, manifest.name)
    if detach:
        if running.is_up():
            return _up_already(manifest, running)
        if not _lint_clean(manifest):
            return EXIT_ERROR
        from ._detach import launch

        return launch(manifest, grace)
    if not running.hold():
        return _up_already(manifest, running)
    try:
        if not _lint_clean(manifest):
            return EXIT_ERROR
        from ._foreground import run_foreground

        return asyncio.run(run_foreground(manifest, settings, running, grace=grace))
    finally:
        running.release()


def _up_already(manifest: Manifest, running: RunningSystem) -> int:
    state = running.read() or {}
    print(f"{PROG}: {manifest.name} is up already (supervisor pid {state.get('pid', '?')})")
    return EXIT_OK


def _lint_clean(manifest: Manifest) -> bool:
    """Whether the configs have no error; else they are printed (nothing starts)."""
    from ..tools.lint import text_lines

    errors = [item for item in _lint(manifest) if item.fails(strict=False)]
    for line in text_lines(errors):
        print(line, file=sys.stderr)
    if errors:
        print(f"{PROG}: {len(errors)} error(s) in the configs: nothing started", file=sys.stderr)
    return not errors


def _supervise_detached(manifest: Manifest, settings: Settings, grace: float, fd: int) -> int:
    """The supervisor ``up --detach`` started (the configs were linted there)."""
    import asyncio
    import os

    from ._detach import ALREADY, Ready
    from ._foreground import run_foreground
    from ._running import RunningSystem

    ready = Ready(fd)
    running = RunningSystem(settings, manifest.name)
    if not running.hold():  # another up came first
        ready.failed(f"{ALREADY} {(running.read() or {}).get('pid', '?')}")
        return EXIT_OK
    try:
        print(f"{PROG}: supervisor of {manifest.name} (pid {os.getpid()})", flush=True)
        return asyncio.run(run_foreground(manifest, settings, running, grace=grace, detached=ready))
    finally:
        running.release()
        ready.close()


def _down(manifest: Manifest, settings: Settings) -> int:
    import os
    import signal

    from ._running import RunningSystem

    running = RunningSystem(settings, manifest.name)
    if not running.is_up():
        print(f"{PROG}: {manifest.name} is not up: nothing to stop")
        return EXIT_OK
    state = running.read() or {}
    pid = state.get("pid")
    if not isinstance(pid, int):
        print(f"{PROG}: {manifest.name} is starting; try again in a moment", file=sys.stderr)
        return EXIT_ERROR
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + DOWN_TIMEOUT_SECONDS
    while running.is_up():
        if time.monotonic() > deadline:
            print(
                f"{PROG}: {manifest.name}'s supervisor (pid {pid}) is still bringing it down "
                f"after {DOWN_TIMEOUT_SECONDS:g}s",
                file=sys.stderr,
            )
            return EXIT_ERROR
        time.sleep(0.05)
    print(f"{PROG}: {manifest.name} is down")
    return EXIT_OK


def _status(manifest: Manifest, settings: Settings, format: str) -> int:
    import asyncio

    from .._cli_output import print_json
    from ._running import RunningSystem
    from ._status import machine_rows, text_table

    running = RunningSystem(settings, manifest.name)
    state = running.read() if running.is_up() else None
    rows = asyncio.run(machine_rows(manifest, settings, state))
    supervisor: dict[str, Any] = {"up": state is not None}
    if state is not None:
        supervisor.update(pid=state.get("pid"), started_at=state.get("started_at"))
    if format == "json":
        print_json({"system": manifest.name, "supervisor": supervisor, "machines": rows})
        return EXIT_OK
    if state is None:
        print(f"{manifest.name}: not up")
    else:
        uptime = time.time() - float(state.get("started_at") or time.time())
        print(f"{manifest.name}: up (supervisor pid {state.get('pid')}, {uptime:.0f}s)")
    for line in text_table(rows):
        print(line)
    return EXIT_OK


def _restart(manifest: Manifest, settings: Settings, names: list[str], grace: float) -> int:
    from ..errors import StateMachineError
    from ._control import ask
    from ._running import RunningSystem
    from ._supervisor import REGISTER_TIMEOUT_SECONDS, select_units
    from ._ui import UI_PROCESS

    ui = [UI_PROCESS] if manifest.ui is not None and UI_PROCESS in names else []
    machines = [name for name in names if name not in ui]
    units = select_units(manifest, machines) if machines else []
    running = RunningSystem(settings, manifest.name)
    if not running.is_up():
        raise StateMachineError(
            f"{manifest.name} is not up: nothing to restart (statemachine-system up starts it)"
        )
    processes = [unit.name for unit in units] + ui
    request = {"command": "restart", "processes": processes, "grace": grace}
    answer = ask(running.control_path, request, timeout=2 * grace + REGISTER_TIMEOUT_SECONDS + 10)
    if not answer.get("ok"):
        raise StateMachineError(str(answer.get("error") or "the supervisor refused"))
    for line in answer.get("said") or []:
        print(f"{PROG}: {line}")
    return EXIT_OK


def _logs(
    manifest: Manifest, settings: Settings, names: list[str], count: int, *, follow: bool
) -> int:
    from .._cli_support import run_until_terminated
    from ._foreground import Echo
    from ._logfiles import LogFiles
    from ._logtail import Follower, follow_lines, history
    from ._supervisor import select_units
    from ._ui import UI_PROCESS, UI_UNIT

    machines = [name for name in names if name != UI_PROCESS or manifest.ui is None]
    units = select_units(manifest, machines) if machines or not names else []
    if manifest.ui is not None and (not names or UI_PROCESS in names):
        units.append(UI_UNIT)
    files = LogFiles(manifest.logs)
    echo = Echo([unit.name for unit in units], colour=sys.stdout.isatty() and not settings.no_color)
    followers = {unit.name: Follower(files.path_of(unit.name)) for unit in units}
    try:
        for name, follower in followers.items():
            for line in history(follower.path, count, manifest.logs.keep, follower.start or 0):
                echo(name, line)
        if not follow:
            return EXIT_OK
        return run_until_terminated(lambda: follow_lines(followers, echo))
    finally:
        for follower in followers.values():
            follower.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
