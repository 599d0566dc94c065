"""``statemachine-system``: a whole system of machines from one manifest.

``validate`` lints the manifest and every config it names; ``up`` starts the system in
the foreground (every process's lines on the terminal, prefixed by its name; Ctrl-C or
SIGTERM brings it down); ``status`` shows each machine; ``down`` stops a system that is
up. See docs/system.md.
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
    run_main,
)
from ..config._manifest import DEFAULT_MANIFEST

if TYPE_CHECKING:
    from ..config._manifest import Manifest
    from ..settings import Settings
    from ..tools.lint import Finding

__all__ = ["build_parser", "main"]

PROG = "statemachine-system"
#: How long ``down`` waits for a supervisor to bring its system down.
DOWN_TIMEOUT_SECONDS = 60.0


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
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser(
        "validate",
        help="check the manifest and lint every config it names",
        description="Check the manifest and lint every config it names, as one system. "
        "Exit status: 0 clean, 1 errors.",
    )
    up = commands.add_parser(
        "up",
        help="start the system in the foreground (Ctrl-C brings it down)",
        description="Lint every config (an error starts nothing), then start the machines "
        "in dependency order and stream their lines, each prefixed by its name. Ctrl-C "
        "or SIGTERM brings the system down. On a system that is up already, does nothing.",
    )
    _add_grace(up)
    down = commands.add_parser(
        "down",
        help="bring a system that is up down",
        description="Each machine gets a stop event, then SIGTERM after the grace period, "
        "then SIGKILL. Exit status 0 once everything is gone.",
    )
    _add_grace(down)
    status = commands.add_parser(
        "status",
        help="each machine: state, pid, uptime, restarts, last exit, heartbeat age",
        description="Each machine of the system as the store and the supervisor see it.",
    )
    add_format_option(status)
    return parser


def _add_grace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--grace",
        type=float,
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
        return _up(manifest, settings, args.grace)
    if args.command == "down":
        return _down(manifest, settings)
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


def _up(manifest: Manifest, settings: Settings, grace: float) -> int:
    from .._tls import import_asyncio

    import_asyncio()  # the supervisor stays up as long as its machines: no ssl for it either
    import asyncio

    from ..tools.lint import text_lines
    from ._running import RunningSystem

    running = RunningSystem(settings, manifest.name)
    if not running.hold():
        state = running.read() or {}
        print(f"{PROG}: {manifest.name} is up already (supervisor pid {state.get('pid', '?')})")
        return EXIT_OK
    try:
        errors = [item for item in _lint(manifest) if item.fails(strict=False)]
        if errors:
            for line in text_lines(errors):
                print(line, file=sys.stderr)
            print(
                f"{PROG}: {len(errors)} error(s) in the configs: nothing started", file=sys.stderr
            )
            return EXIT_ERROR
        from ._foreground import run_foreground

        return asyncio.run(run_foreground(manifest, settings, running, grace=grace))
    finally:
        running.release()


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
