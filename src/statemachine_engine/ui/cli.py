"""``statemachine-ui``: the monitoring server and web UI in one process.

statemachine-ui [--host 127.0.0.1] [--port 3001] [--project-root DIR] [--db PATH or URL]
                [--event-socket-path P] [--no-websocket] [--no-metrics] [--token T]
                [--allow-control]
                [--manifest FILE] [--series-interval S] [--series-window S]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .._cli_support import duration, parse_args, run_command
from ..monitoring._options import add_server_options, settings_from
from ..monitoring._series import MAX_SAMPLES as MAX_SERIES_SAMPLES
from ..monitoring._settings import (
    DEFAULT_UI_PORT,
    SERIES_INTERVAL_SECONDS,
    SERIES_WINDOW_SECONDS,
    ServerSettings,
    SystemSource,
)

__all__ = ["build_parser", "main"]

#: Samples of the charts come at most this often (seconds): the metrics are read at most
#: once a second anyway.
MIN_SERIES_INTERVAL = 0.1

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
        "--no-metrics",
        action="store_true",
        help="serve no /metrics for Prometheus (docs/observability.md); it is served by "
        "default, under the same token as the API",
    )
    parser.add_argument(
        "--allow-control",
        action="store_true",
        help="let the UI and API send events to machines and retry or cancel jobs",
    )
    parser.add_argument(
        "--manifest",
        metavar="FILE",
        help="a system's manifest (statemachine-project.yaml): list the machines it starts "
        "even when they are not running, with their restart counts (statemachine-system "
        "up passes it)",
    )
    parser.add_argument(
        "--series-interval",
        metavar="S",
        type=duration(3600, zero=False),
        default=SERIES_INTERVAL_SECONDS,
        help="seconds between two samples of the UI's charts (default: "
        f"{SERIES_INTERVAL_SECONDS:g})",
    )
    parser.add_argument(
        "--series-window",
        metavar="S",
        type=duration(zero=False),
        default=SERIES_WINDOW_SECONDS,
        help=f"seconds of samples the charts keep (default: {SERIES_WINDOW_SECONDS:g}; at "
        f"most {MAX_SERIES_SAMPLES} samples)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(parser, argv)
    root = Path(args.project_root).expanduser()
    if not root.is_dir():
        parser.error(f"--project-root {args.project_root}: not a directory")
    if args.series_interval < MIN_SERIES_INTERVAL:
        parser.error(f"--series-interval: at least {MIN_SERIES_INTERVAL:g} s")
    if args.series_window / args.series_interval > MAX_SERIES_SAMPLES:
        parser.error(
            f"--series-window {args.series_window:g} keeps more than {MAX_SERIES_SAMPLES} "
            f"samples of {args.series_interval:g} s: take a longer --series-interval"
        )

    def body() -> int:
        from ..monitoring._server import serve

        settings = settings_from(
            args,
            project_root=root.resolve(),
            websocket=not args.no_websocket,
            allow_control=args.allow_control,
            metrics=not args.no_metrics,
            series_interval=args.series_interval,
            series_window=args.series_window,
        )
        if args.manifest is not None:
            settings = replace(settings, system=_system_of(args.manifest, settings))
        return serve(settings, prog=PROG)

    return run_command(body, prog=PROG, debug=args.debug)


def _system_of(path: str, settings: ServerSettings) -> SystemSource:
    """What the server asks about the system in manifest ``path``."""
    from ..config._manifest_reader import load_manifest
    from ..system._expected import SystemView

    return SystemView(load_manifest(path), settings.process_settings())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
