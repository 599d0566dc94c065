"""``statemachine-events``: tail the live event stream of every machine on this host.

It listens on the event socket machines send to and prints each event as it arrives,
optionally after replaying recent ones from the store. Only one process can listen on
the event socket: while ``statemachine-ui`` (or the stream server) holds it, read from
that server instead with ``--websocket ws://127.0.0.1:3001/ws/events``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._version import __version__
from ..cli_support import EXIT_INTERRUPTED, EXIT_OK, run_command
from ..errors import StateMachineError

PROG = "statemachine-events"
MAX_DATAGRAM = 1024 * 1024


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Print the realtime events of running machines (state changes, activity "
        "log, registrations, terminations) as they happen.",
    )
    parser.add_argument("--machine", metavar="M", help="only this machine's events")
    parser.add_argument(
        "--format", choices=("human", "json"), default="human", help="output (default: human)"
    )
    parser.add_argument(
        "--duration", type=float, metavar="S", help="stop after S seconds (default: until Ctrl-C)"
    )
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        metavar="N",
        help="first print the last N recorded events from the store (--db)",
    )
    parser.add_argument(
        "--db", metavar="PATH", help="the store, for --history (env STATEMACHINE_DB)"
    )
    parser.add_argument(
        "--event-socket-path",
        metavar="P",
        help="listen here (default: events.sock in the private socket directory)",
    )
    parser.add_argument(
        "--websocket",
        metavar="URL",
        help="read from a running statemachine-ui or stream server instead of the event "
        "socket, e.g. ws://127.0.0.1:3001/ws/events (--history N then replays its recent events)",
    )
    parser.add_argument(
        "--token",
        metavar="T",
        help="the server's token, with --websocket (env STATEMACHINE_UI_TOKEN)",
    )
    parser.add_argument("--debug", action="store_true", help="tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(lambda: _run(args), prog=PROG, debug=args.debug)


def _run(args: argparse.Namespace) -> int:
    from ..messaging.realtime import default_event_socket_path

    if args.websocket:
        from .events_client import follow

        return follow(args.websocket, args, _show)

    path = Path(args.event_socket_path) if args.event_socket_path else default_event_socket_path()
    if args.history:
        _replay(args)
    sock = _listen(path)
    print(f"{PROG}: listening on {path}", file=sys.stderr, flush=True)
    deadline = None if args.duration is None else time.monotonic() + args.duration
    try:
        while True:
            timeout = None if deadline is None else deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                return EXIT_OK
            sock.settimeout(timeout)
            try:
                data = sock.recv(MAX_DATAGRAM)
            except TimeoutError:
                return EXIT_OK
            try:
                event = json.loads(data)
            except ValueError:
                continue
            if isinstance(event, dict):
                _show(event, args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        sock.close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _listen(path: Path) -> socket.socket:
    """Bind the event socket (owner-only); refuse if another listener is alive."""
    from ..monitoring.listener import EventSocketBusy, bind_event_socket

    try:
        sock = bind_event_socket(path)
    except EventSocketBusy as exc:
        raise StateMachineError(
            f"{exc}; if it is statemachine-ui, read from it with "
            "--websocket ws://127.0.0.1:3001/ws/events"
        ) from exc
    sock.setblocking(True)
    return sock


def _replay(args: argparse.Namespace) -> None:
    import asyncio

    from ..database import open_store

    async def recent() -> list[dict[str, Any]]:
        store = open_store(args.db)
        try:
            events = await store.list_realtime(machine=args.machine, limit=1_000_000_000)
        finally:
            await store.close()
        return [
            {"machine_name": e.machine_name, "type": e.event_type, "payload": e.payload}
            for e in events[-args.history :]
        ]

    for event in asyncio.run(recent()):
        _show(event, args)


def _show(event: dict[str, Any], args: argparse.Namespace) -> None:
    machine = str(event.get("machine_name", "?"))
    if args.machine and machine != args.machine:
        return
    if args.format == "json":
        print(json.dumps(event, ensure_ascii=False), flush=True)
        return
    raw = event.get("payload")
    payload: dict[str, Any] = raw if isinstance(raw, dict) else {}
    kind = str(event.get("type", "?"))
    stamp = payload.get("timestamp")
    when = (
        time.strftime("%H:%M:%S", time.localtime(stamp)) if isinstance(stamp, int | float) else ""
    )
    if kind == "state_change":
        detail = (
            f"{payload.get('from_state')} --{payload.get('event_trigger')}--> "
            f"{payload.get('to_state')}"
        )
    elif kind == "activity_log":
        detail = f"[{payload.get('level', 'info')}] {payload.get('message', '')}"
    else:
        detail = ", ".join(f"{k}={v}" for k, v in payload.items() if k != "timestamp")
    print(f"{when} {machine:<20} {kind:<18} {detail}".rstrip(), flush=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
