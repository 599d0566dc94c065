"""``statemachine-ui``: the monitoring server and web UI in one process.

statemachine-ui [--host 127.0.0.1] [--port 3001] [--project-root DIR] [--db PATH or URL]
                [--event-socket-path P] [--no-websocket] [--token T] [--allow-control]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .._version import __version__
from ..cli_support import parse_args, run_command
from ..monitoring.settings import (
    CLIENT_QUEUE_SIZE,
    DEFAULT_HOST,
    DEFAULT_UI_PORT,
    TOKEN_ENV,
    ServerSettings,
)

PROG = "statemachine-ui"


def add_server_options(parser: argparse.ArgumentParser, *, port: int) -> None:
    """The options every monitoring server command shares."""
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"interface to listen on (default: {DEFAULT_HOST}; any other needs --token)",
    )
    parser.add_argument(
        "--port", type=int, default=port, help=f"TCP port, 0 for any free one (default: {port})"
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
        help=f"require this token on the API and WebSocket (env {TOKEN_ENV})",
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Serve the monitoring web UI: live machines, state diagrams, a Kanban "
        "board, activity log and jobs, from one Python process (no Node.js, no CDN).",
    )
    add_server_options(parser, port=DEFAULT_UI_PORT)
    parser.add_argument(
        "--project-root",
        metavar="DIR",
        default=".",
        help="where docs/fsm-diagrams and config files are found (default: the current dir)",
    )
    parser.add_argument(
        "--no-websocket",
        action="store_true",
        help="serve no /ws/events stream (for networks that block WebSockets): the page "
        "polls the HTTP API every few seconds instead, and the server follows the events "
        "recorded in the store rather than the event socket",
    )
    parser.add_argument(
        "--allow-control",
        action="store_true",
        help="let the UI and API send events to machines and retry or cancel jobs",
    )
    return parser


def settings_from(args: argparse.Namespace, **overrides: object) -> ServerSettings:
    """Settings from parsed options (flag > environment > default)."""
    values: dict[str, object] = {
        "host": args.host,
        "port": args.port,
        "db": args.db,
        "event_socket_path": Path(args.event_socket_path) if args.event_socket_path else None,
        "token": args.token or os.environ.get(TOKEN_ENV) or None,
        "allowed_origins": tuple(args.allow_origin),
        "client_queue_size": max(1, args.client_queue_size),
        **overrides,
    }
    return ServerSettings(**values)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(parser, argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    root = Path(args.project_root).expanduser()
    if not root.is_dir():
        parser.error(f"--project-root {args.project_root}: not a directory")
    settings = settings_from(
        args,
        project_root=root.resolve(),
        websocket=not args.no_websocket,
        allow_control=args.allow_control,
    )

    def body() -> int:
        from ..monitoring.server import serve

        return serve(settings, prog=PROG)

    return run_command(body, prog=PROG, debug=args.debug)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
