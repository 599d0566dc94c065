"""``statemachine-ui``: the monitoring server and web UI in one process.

statemachine-ui [--host 127.0.0.1] [--port 3001] [--project-root DIR] [--db PATH or URL]
                [--event-socket-path P] [--no-websocket] [--token T] [--allow-control]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .._cli_support import parse_args, run_command
from ..monitoring._options import add_server_options, settings_from
from ..monitoring._settings import DEFAULT_UI_PORT

__all__ = ["build_parser", "main"]

PROG = "statemachine-ui"


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(parser, argv)
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
        from ..monitoring._server import serve

        return serve(settings, prog=PROG)

    return run_command(body, prog=PROG, debug=args.debug)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
