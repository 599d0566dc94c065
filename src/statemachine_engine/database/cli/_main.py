"""``statemachine-db``: inspect and operate the store from a shell.

Jobs (``status``, ``list``, ``details``, ``history``, ``add-job``, ``complete-job``,
``fail-job``, ``retry``, ``cancel``, ``remove-job``, ``cleanup``, ``purge``,
``reset-processing``), machine inboxes (``send-event``, ``list-events``,
``cancel-event``, ``cleanup-events``) and machines
(``machine-state``, ``set-state``, ``transition-history``, ``error-history``,
``cleanup-history``).

This module is the command line: the parser, and the dispatch to the commands, which live
one module per noun beside it (:mod:`._jobs`, :mod:`._events`, :mod:`._machines`,
:mod:`._maintenance`) and print through :mod:`..._cli_output`; :mod:`._option_types`
checks each option by the store's own rules. Kept light: parsing the command line imports
neither the store nor asyncio; they load when a command runs. Every command takes
``--format text|json`` (``table`` is the old name of ``text``); tables print local times
as ``YYYY-MM-DD HH:MM:SS``, JSON keeps epoch seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from ..._cli_support import EXIT_USAGE, add_format_option, parse_args, run_command
from ..._version import __version__
from ...errors import JSONDataError, StateMachineError, UsageError
from .._names import REMOTE_DEAD_HEARTBEAT_SECONDS
from ..models.job import JobStatus
from ..models.machine_event import EventStatus
from ..models.machine_state import STALE_HEARTBEAT_SECONDS
from . import _bulk as bulk
from . import _events as events
from . import _jobs as jobs
from . import _machines as machines
from . import _maintenance as maintenance
from . import _option_types as parse
from ._command import PROG, Handler

DEFAULT_LIST_LIMIT = 50
DEFAULT_HISTORY_LIMIT = 20


# -- command line ----------------------------------------------------------------------


def _common_options(*, with_format: bool) -> argparse.ArgumentParser:
    """Options every sub-command also accepts after its name (``list --db x``)."""
    common = argparse.ArgumentParser(add_help=False)
    _add_common(common, with_format=with_format, default=argparse.SUPPRESS)
    return common


def _add_common(parser: argparse.ArgumentParser, *, with_format: bool, default: Any) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=default,
        help="the store: a SQLite file or a postgresql:// URL (env STATEMACHINE_DB; "
        "default data/pipeline.db under the working directory)",
    )
    if with_format:
        add_format_option(parser, default=default)
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="show tracebacks of errors",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``statemachine-db`` parser (imports nothing heavy)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Inspect and operate the statemachine-engine store: jobs, machine "
        "inboxes, machine states and their history.",
        epilog="Only add-job and send-event create the store; every other command needs "
        "one to exist and says where it looked. "
        "Exit status: 0 on success, 1 on an error (no store, unknown job id, a job in the "
        "wrong status...), 2 on bad usage (bad JSON, bad option, no command), 141 when "
        "the reader of the output went away.",
    )
    _add_common(parser, with_format=True, default=None)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = [_common_options(with_format=True)]

    def command(
        name: str, handler: Handler, help_text: str, *, creates_store: bool = False
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, parents=common)
        p.set_defaults(handler=handler, creates_store=creates_store)
        return p

    # jobs: reading
    command("status", jobs.status, "count jobs per status")
    p = command("list", jobs.list_jobs, "list jobs, newest first")
    p.add_argument(
        "--status",
        action="append",
        choices=JobStatus.ALL,
        help="only jobs with this status (repeat for several)",
    )
    p.add_argument("--type", dest="job_type", metavar="TYPE", help="only jobs of this type")
    p.add_argument(
        "--limit",
        type=parse.limit,
        default=DEFAULT_LIST_LIMIT,
        help=f"at most this many jobs (default: {DEFAULT_LIST_LIMIT})",
    )
    p = command("details", jobs.details, "show every field of a job")
    p.add_argument("job_id", metavar="JOB_ID")
    p = command("history", jobs.history, "show every status change of a job")
    p.add_argument("job_id", metavar="JOB_ID")

    # jobs: changing
    p = command(
        "add-job",
        jobs.add,
        "queue a job; prints its id on the first line (with --from: queue one job per "
        "line of a file and print how many)",
        creates_store=True,
    )
    p.add_argument(
        "job_id",
        metavar="JOB_ID",
        nargs="?",
        type=parse.job_id,
        help="the job's id (default: generated)",
    )
    p.add_argument(
        "--type",
        dest="job_type",
        metavar="TYPE",
        type=parse.job_type,
        help="job type (required without --from)",
    )
    p.add_argument(
        "--from",
        dest="source",
        metavar="FILE",
        help="queue the jobs of FILE ('-': standard input), one JSON object a line with "
        "job_type (or type), job_id, data, priority, delay, machine_type, max_attempts; "
        "the other options fill in what a line lacks. Every line is checked before any "
        "job is queued; ids already queued are skipped",
    )
    p.add_argument(
        "--machine-type",
        metavar="TYPE",
        type=parse.job_type,
        help="only machines of this type may claim it (default: any)",
    )
    p.add_argument(
        "--input-file",
        metavar="PATH",
        help="an existing file, stored in the job's data as input_file_path (absolute)",
    )
    p.add_argument(
        "--payload",
        metavar="JSON",
        help='JSON object merged into the job\'s data, e.g. \'{"prompt": "a cat"}\'',
    )
    _add_payload_file_option(p)
    p.add_argument(
        "--priority",
        type=parse.priority,
        default=0,
        help="higher runs first, a 32-bit whole number (default: 0)",
    )
    p.add_argument(
        "--max-attempts",
        type=parse.max_attempts,
        default=None,
        help="attempts before the job is dead (default: 3)",
    )
    p.add_argument(
        "--delay",
        type=parse.job_delay,
        default=0.0,
        metavar="DURATION",
        help="not claimable before this long from now: seconds, or 500ms, 90s, 5m, 2h "
        f"({parse.DELAY_BOUND}; default: 0)",
    )
    p = command("complete-job", jobs.complete, "mark a job completed")
    p.add_argument("job_id", metavar="JOB_ID")
    p.add_argument("--result", metavar="JSON", help="the job's result, any JSON value")
    p = command(
        "fail-job",
        jobs.fail,
        "record a failure: the job is retried after a backoff while attempts remain, "
        "else it is dead",
    )
    p.add_argument("job_id", metavar="JOB_ID")
    p.add_argument("--reason", default="failed by statemachine-db", help="the error to record")
    p.add_argument("--no-retry", action="store_true", help="make the job dead at once")
    p = command("retry", jobs.retry, "put a failed, dead or cancelled job back in the queue")
    p.add_argument("job_id", metavar="JOB_ID")
    p = command("cancel", jobs.cancel, "cancel a pending, processing or failed job")
    p.add_argument("job_id", metavar="JOB_ID")
    p = command("remove-job", jobs.remove, "delete a job and its history")
    p.add_argument("job_id", metavar="JOB_ID")
    p.add_argument("--reason", help="why (printed, for the operator's log)")
    p = command(
        "cleanup",
        maintenance.cleanup,
        "delete finished jobs (completed, dead and cancelled unless --status is given)",
    )
    p.add_argument(
        "--status",
        action="append",
        choices=JobStatus.ALL,
        help="delete jobs with this status instead (repeat for several)",
    )
    _older_than(p, "jobs last changed")
    p = command("purge", maintenance.purge, "delete jobs with the given statuses")
    p.add_argument(
        "--status",
        action="append",
        choices=JobStatus.ALL,
        required=True,
        help="delete jobs with this status (repeat for several)",
    )
    _older_than(p, "jobs last changed")
    p = command(
        "reset-processing",
        maintenance.reset_processing,
        "return processing jobs to the queue (those started over an hour ago unless "
        "--force or --older-than)",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--force", action="store_true", help="every processing job, whatever its age"
    )
    group.add_argument(
        "--older-than",
        type=parse.seconds,
        metavar="SECONDS",
        help=f"jobs started more than this many seconds ago "
        f"(default: {maintenance.DEFAULT_RESET_AGE_SECONDS:.0f})",
    )

    # machine inboxes
    p = command(
        "send-event",
        events.send,
        "commit an event to a machine's inbox and wake the machine (a machine that is not "
        "running gets it when it starts); prints the event's id",
        creates_store=True,
    )
    p.add_argument(
        "--target",
        metavar="MACHINE",
        type=parse.machine_name,
        required=True,
        help="the receiving machine",
    )
    p.add_argument(
        "--type",
        dest="event_type",
        metavar="EVENT",
        type=parse.name,
        required=True,
        help="the event",
    )
    p.add_argument("--payload", metavar="JSON", help="JSON object carried by the event")
    _add_payload_file_option(p)
    p.add_argument("--source", type=parse.name, default="cli", help="who sends it (default: cli)")
    p.add_argument(
        "--job-id", metavar="JOB_ID", type=parse.job_id, help="the job the event is about"
    )
    due = p.add_mutually_exclusive_group()
    due.add_argument(
        "--delay",
        type=parse.event_delay,
        metavar="DURATION",
        help="deliver the event this long from now: seconds, or 90s, 5m, 2h, 1h30m "
        f"({parse.DELAY_BOUND})",
    )
    due.add_argument(
        "--at",
        type=parse.event_time,
        metavar="TIME",
        help="deliver the event at this ISO 8601 time, e.g. 2026-12-07T09:00:00+00:00 "
        f"(without a timezone: local time; {parse.DELAY_BOUND} ahead)",
    )
    p.add_argument(
        "--control-socket-prefix",
        metavar="P",
        help="accepted for compatibility and not needed: a running machine records in the "
        "store where it is woken",
    )
    p = command("list-events", events.list_events, "list events in machines' inboxes, newest first")
    p.add_argument("--target", metavar="MACHINE", help="only events sent to this machine")
    p.add_argument("--status", choices=EventStatus.ALL, help="only events with this status")
    p.add_argument(
        "--limit",
        type=parse.limit,
        default=DEFAULT_HISTORY_LIMIT,
        help=f"at most this many events (default: {DEFAULT_HISTORY_LIMIT})",
    )
    p = command(
        "cancel-event",
        events.cancel,
        "cancel a delayed event that is not due yet (send-event --delay/--at, or send_event "
        "with store_as:, gives its id): it is never delivered",
    )
    p.add_argument("event_id", metavar="EVENT_ID", type=parse.event_id, help="the event's id")
    p = command(
        "cleanup-events",
        maintenance.cleanup_events,
        "delete handled inbox events (processed and dropped; --status pending also "
        "deletes events not delivered yet)",
    )
    p.add_argument("--status", choices=EventStatus.ALL, help="only events with this status")

    # machines
    p = command(
        "cleanup-history",
        maintenance.cleanup_history,
        "delete the transitions (state history) machines recorded long ago",
    )
    _older_than(p, "transitions recorded", required=True)
    command(
        "machine-state",
        machines.machine_state,
        "every machine's state, status, pid and heartbeat age ('dead': its process is "
        f"gone, or a machine on another host has had no heartbeat for "
        f"{REMOTE_DEAD_HEARTBEAT_SECONDS:.0f} s; 'stale': alive, but no heartbeat for "
        f"{STALE_HEARTBEAT_SECONDS:.0f} s)",
    )
    p = command(
        "set-state",
        machines.set_state,
        "move a machine that is not running to STATE: it resumes there when it next "
        "starts (its timers are cleared and STATE's actions run again); STATE must be "
        "one of the machine's recorded config when that file is readable",
    )
    p.add_argument("machine", metavar="MACHINE", help="the machine's name")
    p.add_argument("state", metavar="STATE", help="the state to move it to")
    for name, handler, what in (
        ("transition-history", machines.transition_history, "recent transitions, newest first"),
        (
            "error-history",
            machines.error_history,
            "recent error transitions (event 'error' or ending in '_failed'/'error') "
            "and dead jobs, newest first",
        ),
    ):
        p = command(name, handler, what)
        p.add_argument("--machine", metavar="NAME", help="only this machine")
        p.add_argument("--hours", type=parse.hours, metavar="H", help="only the last H hours")
        p.add_argument(
            "--limit",
            type=parse.limit,
            default=DEFAULT_HISTORY_LIMIT,
            help=f"at most this many rows (default: {DEFAULT_HISTORY_LIMIT})",
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``statemachine-db``; returns the exit status."""
    parser = build_parser()
    args = parse_args(parser, argv)
    if args.command is None:  # the help, not a one-line error; exit 2 so scripts notice
        return run_command(lambda: _help(parser), prog=PROG)
    if args.format is None:
        args.format = "text"
    return run_command(lambda: _run(args), prog=PROG, debug=bool(args.debug))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_USAGE


def _run(args: argparse.Namespace) -> int:
    import asyncio

    _prepare(args)  # bad arguments are reported before the store is touched
    return asyncio.run(_session(args))


async def _session(args: argparse.Namespace) -> int:
    from .. import open_store

    # Only commands that add something create a store: the others would find nothing
    # in a new one, and would leave a stray data/pipeline.db in the wrong directory.
    store = open_store(args.db, create=args.creates_store)
    try:
        handler: Handler = args.handler
        return await handler(store, args)
    finally:
        await store.close()


def _prepare(args: argparse.Namespace) -> None:
    """Parse JSON options and check files: usage errors, before opening the store."""
    if args.command == "add-job":
        _prepare_add_job(args)
    _read_payload_file(args)
    if getattr(args, "command", None) == "send-event":  # the delay runs from now
        args.due_at = args.at if args.delay is None else time.time() + args.delay
    if getattr(args, "payload", None) is not None:
        args.payload = _json_argument("--payload", args.payload)
        if not isinstance(args.payload, dict):
            raise UsageError('--payload must be a JSON object, e.g. \'{"key": "value"}\'')
    if getattr(args, "result", None) is not None:
        args.result = _json_argument("--result", args.result)
    if getattr(args, "input_file", None) is not None:
        path = os.path.abspath(os.path.expanduser(args.input_file))
        if not os.path.isfile(path):
            raise StateMachineError(f"input file not found: {args.input_file}")
        args.input_file = path


def _prepare_add_job(args: argparse.Namespace) -> None:
    """``add-job``: one job from the options, or (``--from``) the jobs of a file, read
    and checked now."""
    if args.source is None:
        if args.job_type is None:
            raise UsageError("add-job needs --type TYPE (or --from FILE, a type on each line)")
        return
    given = [
        option
        for option, value in (
            ("JOB_ID", args.job_id),
            ("--payload", args.payload),
            ("--payload-file", args.payload_file),
            ("--input-file", args.input_file),
        )
        if value is not None
    ]
    if given:
        raise UsageError(f"--from reads every job from its file: drop {', '.join(given)}")
    args.handler = bulk.add_from
    if args.source == "-":
        args.jobs = bulk.read_jobs(sys.stdin.buffer, bulk.defaults_of(args))
        return
    try:
        with open(args.source, "rb") as stream:
            args.jobs = bulk.read_jobs(stream, bulk.defaults_of(args))
    except OSError as exc:
        raise UsageError(f"cannot read --from {args.source}: {exc.strerror}") from exc


def _add_payload_file_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--payload-file",
        metavar="FILE",
        help="read the --payload JSON from FILE, or from standard input with '-' "
        "(for payloads of any size: the command line is limited to 128 KiB a value)",
    )


def _read_payload_file(args: argparse.Namespace) -> None:
    """Put the text of ``--payload-file`` (a path, or ``-`` for stdin) into ``--payload``."""
    path = getattr(args, "payload_file", None)
    if path is None:
        return
    if args.payload is not None:
        raise UsageError("give --payload or --payload-file, not both")
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read --payload-file {path}: {exc.strerror}") from exc
    try:
        args.payload = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"--payload-file {path} is not UTF-8 (byte {exc.start}): JSON must be UTF-8"
        ) from exc


def _json_argument(option: str, text: str) -> Any:
    from ..._jsondata import decode

    try:
        return decode(text, what=option)
    except JSONDataError as exc:
        raise UsageError(str(exc)) from exc


def _older_than(parser: argparse.ArgumentParser, what: str, *, required: bool = False) -> None:
    """A cleanup command's ``--older-than SECONDS``: only ``what`` more than that ago."""
    parser.add_argument(
        "--older-than",
        type=parse.seconds,
        metavar="SECONDS",
        required=required,
        help=f"only {what} more than this many seconds ago",
    )
