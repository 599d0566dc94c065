"""``statemachine-validate`` (alias ``statemachine-lint``): lint configs, or dry-run one.

Exit status: 0 nothing that fails, 1 findings that fail (errors; warnings too with
``--strict``) or a simulation stopped by an unhandled event, 2 a usage error (bad
option, missing file, unusable ``--actions-dir``; for ``--simulate``, a config that
does not load).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from functools import partial

from ..._cli_output import print_json
from ..._cli_support import (
    EXIT_ERROR,
    EXIT_OK,
    add_debug_and_version,
    add_format_option,
    run_main,
)
from ...errors import ConfigError, UsageError
from ._linter import lint_paths
from ._report import report_document, summary, text_lines
from ._simulate import Simulation, simulate

__all__ = ["build_parser", "lint_main", "main"]

PROG = "statemachine-validate"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Check machine configs without running them: undefined or unreachable "
        "states, dead ends, polling loops that stop polling, events nothing sends, unknown "
        "action types, conflicting "
        "transitions, unfillable placeholders, malformed timeouts. Configs given together "
        "are linted as one system (events they send each other count as sent). "
        "Exit status: 0 clean, 1 findings that fail, 2 usage error.",
    )
    parser.add_argument("configs", nargs="+", metavar="CONFIG", help="machine config YAML files")
    parser.add_argument(
        "--strict", action="store_true", help="fail (exit 1) on warnings as well as errors"
    )
    add_format_option(parser)
    parser.add_argument(
        "--actions-dir",
        metavar="DIR",
        help="where custom <type>_action.py files live, as given to statemachine",
    )
    parser.add_argument(
        "--simulate",
        metavar="EVENTS",
        help="instead of linting, walk the one CONFIG through these comma-separated events "
        "without running any action; print the states taken and stop at the first event "
        "with no transition (exit 1)",
    )
    add_debug_and_version(parser)
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    """Entry point of ``statemachine-validate``; returns the exit status."""
    return run_main(build_parser(prog), argv, lambda args: _run(args, prog))


#: Entry point of the ``statemachine-lint`` alias.
lint_main = partial(main, prog="statemachine-lint")


def _run(args: argparse.Namespace, prog: str) -> int:
    if args.simulate is not None:
        return _simulate(args, prog)
    from ...core.action_loader import ActionLoader

    try:
        results = lint_paths(args.configs, actions=ActionLoader(args.actions_dir))
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    findings = [item for result in results for item in result.findings]
    if args.format == "json":
        print_json(report_document(findings, len(results), strict=args.strict))
    else:
        for line in text_lines(findings):
            print(line)
        print(f"{prog}: {summary(findings, len(results))}", file=sys.stderr)
    failed = any(item.fails(strict=args.strict) for item in findings)
    return EXIT_ERROR if failed else EXIT_OK


def _simulate(args: argparse.Namespace, prog: str) -> int:
    from ...config.loader import load_config

    if len(args.configs) != 1:
        raise UsageError("--simulate walks one config; give exactly one CONFIG")
    events = [event.strip() for event in args.simulate.split(",")]
    if not args.simulate.strip():
        events = []
    if any(not event for event in events):
        raise UsageError(f"--simulate: empty event name in {args.simulate!r}")
    try:
        config = load_config(args.configs[0], use_cache=False)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    walk = simulate(config, events)
    if args.format == "json":
        print_json({"config": args.configs[0], **walk.as_json()})
    else:
        _print_walk(walk)
    if walk.unhandled is not None:
        print(
            f"{prog}: no transition from {walk.final_state!r} on "
            f"{walk.events[walk.unhandled]!r} (event {walk.unhandled + 1} of "
            f"{len(walk.events)}); stopped there",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return EXIT_OK


def _print_walk(walk: Simulation) -> None:
    print(f"initial: {walk.initial_state}")
    for step in walk.steps:
        print(f"{step.source} --{step.event}--> {step.target}")
    verb = "stopped" if walk.unhandled is not None else "final"
    print(f"{verb}: {walk.final_state}{' (terminal)' if walk.terminal else ''}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
