"""``statemachine CONFIG.yaml...``: run one machine (or several in one process) until they end.

Kept light: ``--help`` and ``--version`` import nothing beyond argparse; the engine
and asyncio load only when a machine actually runs.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

from ._cli_support import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    HelpFormatter,
    checked,
    parse_args,
    run_command,
    whole_number,
)
from ._version import __version__
from .errors import JSONDataError, StateMachineError, UsageError

TYPE_CHECKING = False  # typing costs --help a tenth of its time
if TYPE_CHECKING:
    from typing import Any

    from .config.model import MachineConfig
    from .core.action_loader import ActionLoader
    from .settings import Settings

__all__ = ["build_parser", "main"]

PROG = "statemachine"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=HelpFormatter,
        description="Run a state machine declared in a YAML config until it ends "
        "(a terminal state with nothing leading out) or receives SIGINT/SIGTERM. "
        "Several configs, or --instances, run several machines in this one process.",
        epilog="Events reach a running machine through its control socket "
        "(see docs/quickstart.md). Exit status: 0 when the machine ends in a terminal "
        "state or is stopped with SIGTERM; 1 on an error: a config whose lint finds a "
        "state it could never leave or an action that would fail every time it runs "
        "(SM101, SM105, SM106, SM108, SM109, SM110; docs/validate.md), a resume in a "
        "state the config no longer has, a machine that enters a non-terminal state with "
        "no way out, or "
        "one that ends in a terminal state right after an action there failed and no "
        "transition took its error event; 2 on bad usage; 130 on SIGINT "
        "(docs/semantics.md, 'Ending').",
    )
    parser.add_argument(
        "configs", metavar="CONFIG.yaml", nargs="+", help="the machine's YAML config (or several)"
    )
    parser.add_argument(
        "--machine-name",
        metavar="N",
        type=_machine_name,
        help="this instance's name (default: metadata.machine_name, else the file's stem); "
        "with --instances, the prefix of N_001, N_002, ...",
    )
    parser.add_argument(
        "--instances",
        metavar="COUNT",
        type=_instances,
        help="run COUNT instances (up to 100000) of each config in this process, named "
        "<name>_001, ...",
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
        "--take-over-job",
        metavar="JOB_ID@ATTEMPT[:LEASE]",
        action="append",
        type=_handed_job,
        default=[],
        help="hold this job, claimed by the machine that started this one, as if this "
        "machine had claimed it: its lease (of LEASE seconds, default 60) moves here if "
        "the job is still in that attempt, else the machine does not work on it "
        "(start_fsm passes it when it hands a job over); may be repeated",
    )
    parser.add_argument(
        "--no-control-socket",
        action="store_true",
        help="do not serve a control socket (the machine hears only its own actions and timers)",
    )
    parser.add_argument("--debug", action="store_true", help="verbose logs and tracebacks")
    parser.add_argument("--log-json", action="store_true", help="log JSON lines to stderr")
    parser.add_argument(
        "--log-file",
        metavar="PATH",
        help="also log to this file (created owner-only, an existing one keeps its mode; "
        "rotated at 10 MiB, keeping 5 old files)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``statemachine``; returns the exit status."""
    args = parse_args(build_parser(), argv)
    return run_command(lambda: _run(args), prog=PROG, debug=args.debug)


def _machine_name(text: str) -> str:
    from ._input_rules import usable_machine_name  # (not for --help: it compiles patterns)

    return str(checked(usable_machine_name)(text))


def _instances(text: str) -> int:
    from .core._launches import MAX_INSTANCES

    return whole_number(minimum=1, maximum=MAX_INSTANCES)(text)


def _handed_job(raw: str) -> tuple[str, int] | tuple[str, int, float]:
    job_id, _, rest = raw.rpartition("@")
    attempt, colon, lease = rest.partition(":")
    seconds = _lease_seconds(lease) if colon else None
    if not job_id or not attempt.isdigit() or (colon and seconds is None):
        raise argparse.ArgumentTypeError(
            f"expected JOB_ID@ATTEMPT or JOB_ID@ATTEMPT:LEASE_SECONDS, e.g. job-7@1 or "
            f"job-7@1:30, got {raw!r}"
        )
    return (job_id, int(attempt)) if seconds is None else (job_id, int(attempt), seconds)


def _lease_seconds(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def _parse_initial_context(raw: str | None) -> dict[str, Any]:
    if raw is None:
        return {}
    from ._jsondata import decode

    try:
        value = decode(raw, what="--initial-context")
    except JSONDataError as exc:
        raise UsageError(str(exc)) from exc
    if not isinstance(value, dict):
        raise UsageError("--initial-context must be a JSON object, e.g. '{\"key\": 1}'")
    return value


def _run(args: argparse.Namespace) -> int:
    import gc

    # What a machine imports and loads before its loop runs lives as long as the process:
    # the cyclic collector would only traverse it, again and again as it grows (about
    # 8 % of a start's instructions). It waits until all of it is made, and it is then
    # frozen out of the collector's way (gc.freeze: never traversed again).
    held = gc.isenabled()
    gc.disable()
    try:
        launches, actions, initial_context, settings = _prepare(args)
    finally:
        if held:
            gc.freeze()
            gc.enable()
    import asyncio  # imported by _prepare, without what it defers

    _interrupt_until_served()
    try:
        return asyncio.run(_serve(launches, actions, initial_context, args, settings))
    finally:
        from . import _tracing

        _tracing.shutdown()  # the spans waiting (a forked child ends with os._exit)


def _prepare(
    args: argparse.Namespace,
) -> tuple[list[tuple[str, MachineConfig]], ActionLoader, dict[str, Any], Settings]:
    """Imports, logging, settings and configs: all a machine needs before its loop runs."""
    from ._lean_imports import import_asyncio

    import_asyncio()  # without ssl (libcrypto), subprocess or inspect until they are used
    import faulthandler

    # A crash in C (SQLite's SIGBUS on a -shm file made unwritable under it, say) leaves
    # "Fatal Python error: Bus error" and where it happened, not a silent exit.
    faulthandler.enable()

    from ._logs import configure_logging
    from .config.loader import load_config
    from .core._preflight import check_before_start
    from .core.action_loader import ActionLoader
    from .settings import Settings

    configure_logging(debug=args.debug, json_lines=args.log_json, log_file=args.log_file)
    # Spawned machines and commands get these back: one store, one socket layout.
    settings = Settings.load(db=args.db, control_socket_prefix=args.control_socket_prefix)
    if args.machine_name and len(args.configs) > 1:
        raise UsageError("--machine-name names one machine: give one config")
    if args.take_over_job and (len(args.configs) > 1 or args.instances):
        raise UsageError("--take-over-job hands jobs to one machine: give one config")
    initial_context = _parse_initial_context(args.initial_context)
    actions = ActionLoader(args.actions_dir)
    configs = []
    for path in args.configs:
        config = load_config(
            path, is_known_action=actions.is_known, known_actions=actions.known_types
        )
        actions.preload({spec.type for specs in config.actions.values() for spec in specs})
        configs.append(config)
    check_before_start(configs, actions)  # refuses configs that would get stuck
    launches = _launches(configs, args)
    from . import _tracing
    from .core import _host  # noqa: F401  (what _serve runs: imported with the rest)

    _tracing.configure(settings.traces_exporters)  # OTEL_TRACES_EXPORTER; else nothing
    return launches, actions, initial_context, settings


def _interrupt_until_served() -> None:
    """SIGINT raises KeyboardInterrupt until :func:`_serve` handles it, as by default.

    asyncio.run puts in a SIGINT handler of its own (holding its main task) wherever
    Python's default one is in place, and :func:`_serve` replaces it at once: asyncio
    then describes the handler it replaces, and the main task's description alone
    imports ``inspect`` (with ``ast`` and ``dis``), a few milliseconds of every start.
    """
    import signal
    import threading

    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _raise_keyboard_interrupt)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _launches(
    configs: list[MachineConfig], args: argparse.Namespace
) -> list[tuple[str, MachineConfig]]:
    """(machine name, config) of every machine to run; names must not repeat."""
    from .core._launches import instance_names, machine_name_for

    launches = [
        (name, config)
        for config in configs
        for name in instance_names(machine_name_for(config, args.machine_name), args.instances)
    ]
    names = [name for name, _ in launches]
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise UsageError(
            f"two machines would be named {repeated[0]!r}: give each config its own "
            "metadata.machine_name or file name"
        )
    return launches


async def _serve(
    launches: list[tuple[str, MachineConfig]],
    actions: ActionLoader,
    initial_context: dict[str, Any],
    args: argparse.Namespace,
    settings: Settings,
) -> int:
    import asyncio
    import signal

    from .core._host import MachineHost

    host = MachineHost(
        settings=settings,
        control=not args.no_control_socket,
        event_socket_path=args.event_socket_path,
    )
    received: list[int] = []

    def on_signal(signum: int) -> None:
        received.append(signum)
        host.stop()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        async with host:
            alone = len(launches) == 1
            for name, config in launches:
                host.spawn(
                    config,
                    machine_name=name,
                    initial_context=initial_context,
                    actions_dir=args.actions_dir,
                    fresh=args.fresh,
                    dedicated_socket=alone,
                    handed_jobs=args.take_over_job,
                )
            await host.wait()
    finally:
        # Every machine has ended and the process is closing: a SIGTERM now asks for what
        # is already happening, and the default action would kill it mid-close (-15).
        # Removing the loop's handler restores that default, so SIGTERM is held back
        # until it is ignored (one that arrived in between is then discarded).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        try:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    if host.failures:
        if len(launches) == 1:
            raise next(iter(host.failures.values()))
        names = ", ".join(sorted(host.failures))
        count = len(host.failures)
        raise StateMachineError(f"{count} machine(s) failed (see the log above): {names}")
    if received and received[0] == signal.SIGINT:
        return EXIT_INTERRUPTED
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
