"""The event stream alone, as the earlier implementation started it.

    python -m statemachine_engine.monitoring.websocket_server [--host 127.0.0.1]
        [--port 3002] [--event-socket-path P]

It listens on the event socket and serves ``/ws/events`` (a snapshot, then every
event) and ``/health``; ``statemachine-ui`` serves the same stream with the UI and API.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._cli_support import parse_args, run_command
from ._options import add_server_options, settings_from
from ._settings import DEFAULT_STREAM_PORT

__all__ = ["build_parser", "main"]

PROG = "statemachine_engine.monitoring.websocket_server"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {PROG}",
        description="Stream machines' realtime events to WebSocket clients at /ws/events.",
    )
    add_server_options(parser, port=DEFAULT_STREAM_PORT)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(parser, argv)
    settings = settings_from(args, stream_only=True)

    def body() -> int:
        from ._server import serve

        return serve(settings, prog="websocket_server")

    return run_command(body, prog="websocket_server", debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
