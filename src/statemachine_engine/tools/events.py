"""``statemachine-events``: tail the live event stream of every machine.

With a SQLite store it listens on the event socket machines on this host send to (one
listener at a time: the monitoring UI or this tool) and prints each event as it
arrives, optionally after replaying recent ones from the store. With a PostgreSQL store
(``--db postgresql://...`` or ``STATEMACHINE_DB``) it follows the events recorded in
the database instead, so it sees the machines of every host. While ``statemachine-ui``
(or the stream server) holds the event socket, read from that server instead with
``--websocket ws://127.0.0.1:3001/ws/events``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._cli_output import print_json_line
from .._cli_support import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    add_debug_and_version,
    add_format_option,
    duration,
    parse_args,
    run_command,
    run_until_terminated,
    whole_number,
)
from .._jsondata import STORED_MAX_DEPTH, decode
from ..errors import EventSocketBusy, JSONDataError, StateMachineError

if TYPE_CHECKING:
    from ..database.models.realtime_event import RealtimeEvent
    from ..settings import Settings

__all__ = ["build_parser", "main"]

PROG = "statemachine-events"
MAX_DATAGRAM = 1024 * 1024
#: The most recorded events ``--history`` replays.
MAX_HISTORY = 100_000


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Print the realtime events of running machines (state changes, activity "
        "log, registrations, terminations) as they happen.",
    )
    parser.add_argument("--machine", metavar="M", help="only this machine's events")
    add_format_option(parser)
    parser.add_argument(
        "--duration",
        type=duration(),
        metavar="S",
        help="stop after S seconds (default: until Ctrl-C)",
    )
    parser.add_argument(
        "--history",
        type=whole_number(minimum=0, maximum=MAX_HISTORY),
        default=0,
        metavar="N",
        help="first print the last N recorded events from the store (--db), up to 100000",
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="the store, for --history (env STATEMACHINE_DB); with a postgresql:// URL "
        "the events of every host are followed from the database",
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
    add_debug_and_version(parser)
    return parser


class _Terminated(BaseException):
    """Raised by SIGTERM: stop as on Ctrl-C (sockets closed, socket file removed), exit 0."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(build_parser(), argv)
    # A service manager's or a script's stop is a requested end, not a crash: exit 0,
    # after the same clean-up as Ctrl-C (the default action would skip it).
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return run_command(lambda: _run(args), prog=PROG, debug=args.debug)
    except _Terminated:
        return EXIT_OK
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    from ..messaging._realtime import default_event_socket_path
    from ..settings import Settings

    settings = Settings.load(db=args.db, ui_token=args.token)
    if args.websocket:
        from ._events_client import follow

        return follow(args.websocket, args, _show, token=settings.ui_token)
    if settings.db.startswith(("postgresql://", "postgres://")):
        return _follow_store(args, settings)

    path = (
        Path(args.event_socket_path)
        if args.event_socket_path
        else default_event_socket_path(settings)
    )
    if args.history:
        _replay(args, settings)
    sock = _listen(path)
    try:  # from here on, an interrupt still closes the socket and removes its file
        if args.event_socket_path:
            print(f"{PROG}: listening on {path}", file=sys.stderr, flush=True)
        else:
            note = "" if os.path.exists(settings.db) else " (no store there yet)"
            print(
                f"{PROG}: listening on {path}, for the machines of {settings.db}{note}",
                file=sys.stderr,
                flush=True,
            )
        deadline = None if args.duration is None else time.monotonic() + args.duration
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
                event = decode(data, what="realtime event", max_depth=STORED_MAX_DEPTH)
            except JSONDataError:
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
    from ..messaging._event_socket import bind_event_socket

    try:
        sock = bind_event_socket(path)
    except EventSocketBusy as exc:
        raise StateMachineError(
            f"{exc}; if it is statemachine-ui, read from it with "
            "--websocket ws://127.0.0.1:3001/ws/events"
        ) from exc
    sock.setblocking(True)
    return sock


def _replay(args: argparse.Namespace, settings: Settings) -> None:
    import asyncio

    from ..database import open_store

    async def recent() -> list[dict[str, Any]]:
        store = open_store(create=False, settings=settings)  # a read: never creates a store
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


def _follow_store(args: argparse.Namespace, settings: Settings) -> int:
    """Print the events recorded in the store as they are committed, from every host."""
    import asyncio

    from ..database import open_store
    from ..database.realtime_feed import follow_realtime

    async def follow() -> None:
        store = open_store(settings=settings)
        try:
            start = await store.last_realtime_id()
            if args.history:
                # Ids are nearly contiguous: without a machine filter, read only the tail.
                first = 0 if args.machine else max(0, start - args.history)
                recorded = await store.list_realtime(
                    after_id=first, machine=args.machine, limit=1_000_000_000
                )
                for event in [e for e in recorded if e.id <= start][-args.history :]:
                    _show(_message(event), args)
            print(f"{PROG}: following {store.location}", file=sys.stderr, flush=True)
            async for event in follow_realtime(store, after_id=start, machine=args.machine):
                _show(_message(event), args)
        finally:
            await store.close()

    async def follow_for_duration() -> int:
        try:
            timeout = None if args.duration is None else max(0.0, args.duration)
            await asyncio.wait_for(follow(), timeout)
        except asyncio.TimeoutError:
            pass
        return EXIT_OK

    try:
        return run_until_terminated(follow_for_duration)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _message(event: RealtimeEvent) -> dict[str, Any]:
    """A recorded event in the event socket's wire format (plus its id in the store)."""
    return {
        "machine_name": event.machine_name,
        "type": event.event_type,
        "payload": event.payload,
        "id": event.id,
    }


def _show(event: dict[str, Any], args: argparse.Namespace) -> None:
    machine = str(event.get("machine_name", "?"))
    if args.machine and machine != args.machine:
        return
    if args.format == "json":
        print_json_line(event)
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
