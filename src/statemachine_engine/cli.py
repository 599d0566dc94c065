"""``statemachine CONFIG.yaml``: run one machine until it ends.

Kept light: ``--help`` and ``--version`` import nothing beyond argparse; the engine
and asyncio load only when a machine actually runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .cli_support import EXIT_INTERRUPTED, EXIT_OK, run_command
from .errors import UsageError

if TYPE_CHECKING:
    from .core.action_loader import ActionLoader
    from .core.model import MachineConfig

PROG = "statemachine"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run one state machine declared in a YAML config until it ends "
        "(a terminal state with nothing leading out) or receives SIGINT/SIGTERM.",
        epilog="Events reach a running machine through its control socket "
        "(see docs/quickstart.md). Exit status: 0 when the machine ends or is stopped "
        "with SIGTERM, 1 on an error, 2 on bad usage, 130 on SIGINT.",
    )
    parser.add_argument("config", metavar="CONFIG.yaml", help="the machine's YAML config")
    parser.add_argument(
        "--machine-name",
        metavar="N",
        help="this instance's name (default: metadata.machine_name, else the file's stem)",
    )
    parser.add_argument(
        "--actions-dir",
        metavar="DIR",
        help="directory of custom <type>_action.py files, searched before the builtins",
    )
    parser.add_argument(
        "--initial-context",
        metavar="JSON",
        help='JSON object seeded into the context, e.g. \'{"input": "a.txt"}\'',
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="the store shared by machines and tools: a SQLite file or a postgresql:// "
        "URL (env STATEMACHINE_DB; default data/pipeline.db under the working directory)",
    )
    parser.add_argument(
        "--control-socket-prefix",
        metavar="P",
        help="serve the control socket at P-<machine>.sock instead of "
        "control-<machine>.sock in the private socket directory "
        "(env STATEMACHINE_SOCKET_DIR chooses that directory)",
    )
    parser.add_argument(
        "--event-socket-path",
        metavar="P",
        help="where monitors listen for realtime events (default: events.sock in the "
        "private socket directory)",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start over in initial_state instead of resuming where a previous run of "
        "this machine name stopped",
    )
    parser.add_argument(
        "--no-control-socket",
        action="store_true",
        help="do not serve a control socket (the machine hears only its own actions and timers)",
    )
    parser.add_argument("--debug", action="store_true", help="verbose logs and tracebacks")
    parser.add_argument("--log-json", action="store_true", help="log JSON lines to stderr")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``statemachine``; returns the exit status."""
    args = build_parser().parse_args(argv)
    return run_command(lambda: _run(args), prog=PROG, debug=args.debug)


def _parse_initial_context(raw: str | None) -> dict[str, Any]:
    if raw is None:
        return {}
    import json

    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"--initial-context is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise UsageError("--initial-context must be a JSON object, e.g. '{\"key\": 1}'")
    return value


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from .core.action_loader import ActionLoader
    from .core.loader import load_config
    from .logs import configure_logging
    from .settings import CONTROL_PREFIX_ENV, DB_ENV, resolve_db_path

    configure_logging(debug=args.debug, json_lines=args.log_json)
    initial_context = _parse_initial_context(args.initial_context)
    actions = ActionLoader(args.actions_dir)
    config = load_config(
        args.config, is_known_action=actions.is_known, known_actions=actions.known_types
    )
    actions.preload({spec.type for specs in config.actions.values() for spec in specs})
    # Spawned machines and commands inherit one store.
    os.environ[DB_ENV] = resolve_db_path(args.db)
    if args.control_socket_prefix:  # so that events this machine sends find their targets
        os.environ[CONTROL_PREFIX_ENV] = args.control_socket_prefix
    return asyncio.run(_serve(config, actions, initial_context, args))


async def _serve(
    config: MachineConfig,
    actions: ActionLoader,
    initial_context: dict[str, Any],
    args: argparse.Namespace,
) -> int:
    import asyncio
    import signal
    import time

    from .core.engine import StateMachineEngine
    from .database import open_store
    from .messaging.control import WAKE_EVENT, ControlSocket
    from .messaging.realtime import RealtimePublisher, default_event_socket_path
    from .settings import control_socket_path

    machine_name = (
        args.machine_name or config.default_machine_name or Path(args.config).stem or config.name
    )
    control = None
    deliveries: set[asyncio.Task[None]] = set()
    engine: StateMachineEngine | None = None

    def on_message(name: str, payload: Any, job_id: str | None, source: str | None) -> None:
        if engine is None:
            return
        if name == WAKE_EVENT:
            task = asyncio.ensure_future(engine.pull_events())
        else:
            task = asyncio.ensure_future(
                engine.deliver(name, payload, job_id=job_id, source=source or "control")
            )
        deliveries.add(task)
        task.add_done_callback(deliveries.discard)

    if not args.no_control_socket:
        path = control_socket_path(machine_name, args.control_socket_prefix)
        control = ControlSocket(path, machine_name, on_message)
        control.open()
    try:
        store = open_store(args.db)
    except BaseException:
        if control is not None:
            control.close()
        raise
    publisher = RealtimePublisher(
        machine_name,
        Path(args.event_socket_path) if args.event_socket_path else default_event_socket_path(),
        store,
    )
    engine = StateMachineEngine(
        config,
        machine_name=machine_name,
        action_loader=actions,
        initial_context=initial_context,
        observers=[publisher],
        store=store,
        fresh=args.fresh,
    )
    publisher.publish(
        "machine_registered",
        {
            "config_type": Path(args.config).stem,
            "config_name": config.name,
            "pid": os.getpid(),
            "timestamp": time.time(),
        },
    )

    received: list[int] = []

    def on_signal(signum: int) -> None:
        received.append(signum)
        engine.request_stop()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await engine.run()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        if control is not None:
            control.close()
        await publisher.close()
        await store.close()
    if received and received[0] == signal.SIGINT:
        return EXIT_INTERRUPTED
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
