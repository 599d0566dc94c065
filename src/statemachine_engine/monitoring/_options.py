"""The command-line options every monitoring server command shares
(``statemachine-ui`` and ``python -m statemachine_engine.monitoring.websocket_server``),
and the :class:`ServerSettings` they make."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._cli_support import whole_number
from .._version import __version__
from ..settings import UI_TOKEN_ENV, Settings
from ._settings import CLIENT_QUEUE_SIZE, DEFAULT_HOST, ServerSettings


def add_server_options(parser: argparse.ArgumentParser, *, port: int) -> None:
    """The options every monitoring server command shares."""
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"interface to listen on (default: {DEFAULT_HOST}); on any other give --token: "
        "without one, anyone who can reach it sees everything (a loud warning says so)",
    )
    parser.add_argument(
        "--port", type=_port, default=port, help=f"TCP port, 0 for any free one (default: {port})"
    )
    parser.add_argument(
        "--event-socket-path",
        metavar="P",
        help="where machines send realtime events (default: events.sock in the private "
        "socket directory, env STATEMACHINE_SOCKET_DIR); not used with PostgreSQL",
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="the store (env STATEMACHINE_DB; default data/pipeline.db); with a "
        "postgresql:// URL live events come from the database, so every host's machines show",
    )
    parser.add_argument(
        "--token",
        metavar="T",
        default=None,
        help=f"require this token on the API and WebSocket (env {UI_TOKEN_ENV})",
    )
    parser.add_argument(
        "--allow-origin",
        metavar="URL",
        action="append",
        default=[],
        help="also accept WebSocket connections from pages of this origin (repeatable)",
    )
    parser.add_argument(
        "--client-queue-size",
        type=int,
        default=CLIENT_QUEUE_SIZE,
        metavar="N",
        help="messages waiting for one slow WebSocket client before its oldest are dropped "
        f"(default: {CLIENT_QUEUE_SIZE})",
    )
    parser.add_argument("--debug", action="store_true", help="tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")


def settings_from(args: argparse.Namespace, **overrides: object) -> ServerSettings:
    """Settings from parsed options (flag > environment > default)."""
    process = Settings.load(db=args.db, ui_token=args.token)
    values: dict[str, object] = {
        "host": args.host,
        "port": args.port,
        "db": process.db,
        "event_socket_path": Path(args.event_socket_path) if args.event_socket_path else None,
        "token": process.ui_token,
        "allowed_origins": tuple(args.allow_origin),
        "client_queue_size": max(1, args.client_queue_size),
        "process": process,
        **overrides,
    }
    return ServerSettings(**values)  # type: ignore[arg-type]


_port = whole_number(0, 65535)
