"""``statemachine-db``: inspect and operate the store from a shell.

Jobs (``status``, ``list``, ``details``, ``history``, ``add-job``, ``complete-job``,
``fail-job``, ``retry``, ``cancel``, ``remove-job``, ``cleanup``, ``purge``,
``reset-processing``), machine inboxes (``list-events``, ``cleanup-events``) and machines
(``machine-state``, ``set-state``, ``transition-history``, ``error-history``).

Kept light: parsing the command line imports only argparse; the store and asyncio load
when a command runs. Every command takes ``--format text|json`` (``table`` is the old name of
``text``); tables print local times as ``YYYY-MM-DD HH:MM:SS``, JSON keeps epoch seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..cli_support import EXIT_OK, EXIT_USAGE, add_format_option, parse_args, run_command
from ..errors import StateMachineError, UsageError
from .models.machine_state import STALE_HEARTBEAT_SECONDS, liveness

if TYPE_CHECKING:
    from .models.job import Job
    from .store import OperatorStore

PROG = "statemachine-db"

JOB_STATUSES = ("pending", "processing", "completed", "failed", "dead", "cancelled")
FINISHED_STATUSES = ("completed", "dead", "cancelled")
EVENT_STATUSES = ("pending", "processed", "dropped")
DEFAULT_LIST_LIMIT = 50
DEFAULT_HISTORY_LIMIT = 20
#: ``reset-processing`` without ``--force`` only touches jobs started this long ago.
DEFAULT_RESET_AGE_SECONDS = 3600.0
#: Table cells longer than this are cut (``--format json`` keeps everything).
MAX_CELL_WIDTH = 60
CLI_WORKER = "statemachine-db"

Handler = Callable[["OperatorStore", argparse.Namespace], Awaitable[int]]


# -- command line ----------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _hours(text: str) -> float:
    value = _seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


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
    command("status", _cmd_status, "count jobs per status")
    p = command("list", _cmd_list, "list jobs, newest first")
    p.add_argument(
        "--status",
        action="append",
        choices=JOB_STATUSES,
        help="only jobs with this status (repeat for several)",
    )
    p.add_argument("--type", dest="job_type", metavar="TYPE", help="only jobs of this type")
    p.add_argument(
        "--limit",
        type=_positive_int,
        default=DEFAULT_LIST_LIMIT,
        help=f"at most this many jobs (default: {DEFAULT_LIST_LIMIT})",
    )
    p = command("details", _cmd_details, "show every field of a job")
    p.add_argument("job_id", metavar="JOB_ID")
    p = command("history", _cmd_history, "show every status change of a job")
    p.add_argument("job_id", metavar="JOB_ID")

    # jobs: changing
    p = command(
        "add-job",
        _cmd_add_job,
        "queue a job; prints its id on the first line",
        creates_store=True,
    )
    p.add_argument("job_id", metavar="JOB_ID", nargs="?", help="the job's id (default: generated)")
    p.add_argument("--type", dest="job_type", metavar="TYPE", required=True, help="job type")
    p.add_argument(
        "--machine-type",
        metavar="TYPE",
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
    p.add_argument("--priority", type=int, default=0, help="higher runs first (default: 0)")
    p.add_argument(
        "--max-attempts",
        type=_positive_int,
        default=None,
        help="attempts before the job is dead (default: 3)",
    )
    p.add_argument(
        "--delay",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="not claimable before this many seconds from now (default: 0)",
    )
    p = command("complete-job", _cmd_complete_job, "mark a job completed")
    p.add_argument("job_id", metavar="JOB_ID")
    p.add_argument("--result", metavar="JSON", help="the job's result, any JSON value")
    p = command(
        "fail-job",
        _cmd_fail_job,
        "record a failure: the job is retried after a backoff while attempts remain, "
        "else it is dead",
    )
    p.add_argument("job_id", metavar="JOB_ID")
    p.add_argument("--reason", default="failed by statemachine-db", help="the error to record")
    p.add_argument("--no-retry", action="store_true", help="make the job dead at once")
    p = command("retry", _cmd_retry, "put a failed, dead or cancelled job back in the queue")
    p.add_argument("job_id", metavar="JOB_ID")
    p = command("cancel", _cmd_cancel, "cancel a pending, processing or failed job")
    p.add_argument("job_id", metavar="JOB_ID")
    p = command("remove-job", _cmd_remove_job, "delete a job and its history")
    p.add_argument("job_id", metavar="JOB_ID")
    p.add_argument("--reason", help="why (printed, for the operator's log)")
    p = command(
        "cleanup",
        _cmd_cleanup,
        "delete finished jobs (completed, dead and cancelled unless --status is given)",
    )
    p.add_argument(
        "--status",
        action="append",
        choices=JOB_STATUSES,
        help="delete jobs with this status instead (repeat for several)",
    )
    p.add_argument(
        "--older-than",
        type=_seconds,
        metavar="SECONDS",
        help="only jobs last changed more than this many seconds ago",
    )
    p = command("purge", _cmd_purge, "delete jobs with the given statuses")
    p.add_argument(
        "--status",
        action="append",
        choices=JOB_STATUSES,
        required=True,
        help="delete jobs with this status (repeat for several)",
    )
    p.add_argument(
        "--older-than",
        type=_seconds,
        metavar="SECONDS",
        help="only jobs last changed more than this many seconds ago",
    )
    p = command(
        "reset-processing",
        _cmd_reset_processing,
        "return processing jobs to the queue (those started over an hour ago unless "
        "--force or --older-than)",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--force", action="store_true", help="every processing job, whatever its age"
    )
    group.add_argument(
        "--older-than",
        type=_seconds,
        metavar="SECONDS",
        help=f"jobs started more than this many seconds ago "
        f"(default: {DEFAULT_RESET_AGE_SECONDS:.0f})",
    )

    # machine inboxes
    p = command(
        "send-event",
        _cmd_send_event,
        "commit an event to a machine's inbox and wake the machine (a machine that is not "
        "running gets it when it starts); prints the event's id",
        creates_store=True,
    )
    p.add_argument("--target", metavar="MACHINE", required=True, help="the receiving machine")
    p.add_argument("--type", dest="event_type", metavar="EVENT", required=True, help="the event")
    p.add_argument("--payload", metavar="JSON", help="JSON object carried by the event")
    _add_payload_file_option(p)
    p.add_argument("--source", default="cli", help="who sends it (default: cli)")
    p.add_argument("--job-id", metavar="JOB_ID", help="the job the event is about")
    p.add_argument(
        "--control-socket-prefix",
        metavar="P",
        help="accepted for compatibility and not needed: a running machine records in the "
        "store where it is woken",
    )
    p = command("list-events", _cmd_list_events, "list events in machines' inboxes, newest first")
    p.add_argument("--target", metavar="MACHINE", help="only events sent to this machine")
    p.add_argument("--status", choices=EVENT_STATUSES, help="only events with this status")
    p.add_argument(
        "--limit",
        type=_positive_int,
        default=DEFAULT_HISTORY_LIMIT,
        help=f"at most this many events (default: {DEFAULT_HISTORY_LIMIT})",
    )
    p = command(
        "cleanup-events",
        _cmd_cleanup_events,
        "delete handled inbox events (processed and dropped; --status pending also "
        "deletes events not delivered yet)",
    )
    p.add_argument("--status", choices=EVENT_STATUSES, help="only events with this status")

    # machines
    command(
        "machine-state",
        _cmd_machine_state,
        "every machine's state, status, pid and heartbeat age ('dead': its process is "
        f"gone; 'stale': no heartbeat for {STALE_HEARTBEAT_SECONDS:.0f} s)",
    )
    p = command(
        "set-state",
        _cmd_set_state,
        "move a machine that is not running to STATE: it resumes there when it next "
        "starts (its timers are cleared and STATE's actions run again); STATE must be "
        "one of the machine's recorded config when that file is readable",
    )
    p.add_argument("machine", metavar="MACHINE", help="the machine's name")
    p.add_argument("state", metavar="STATE", help="the state to move it to")
    for name, handler, what in (
        ("transition-history", _cmd_transition_history, "recent transitions, newest first"),
        (
            "error-history",
            _cmd_error_history,
            "recent error transitions (event 'error' or ending in '_failed'/'error') "
            "and dead jobs, newest first",
        ),
    ):
        p = command(name, handler, what)
        p.add_argument("--machine", metavar="NAME", help="only this machine")
        p.add_argument("--hours", type=_hours, metavar="H", help="only the last H hours")
        p.add_argument(
            "--limit",
            type=_positive_int,
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
    from . import open_store

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
    _read_payload_file(args)
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
    from ..jsondata import JSONDataError, decode

    try:
        return decode(text, what=option)
    except JSONDataError as exc:
        raise UsageError(str(exc)) from exc


# -- jobs ----------------------------------------------------------------------------------


async def _cmd_status(store: OperatorStore, args: argparse.Namespace) -> int:
    counts = await store.job_counts()
    ordered = {status: counts.get(status, 0) for status in JOB_STATUSES}
    ordered.update({k: v for k, v in counts.items() if k not in ordered})
    total = sum(ordered.values())
    if args.format == "json":
        _print_json({**ordered, "total": total})
        return EXIT_OK
    rows = [[status, str(n)] for status, n in ordered.items()]
    rows.append(["total", str(total)])
    print(_table(["STATUS", "JOBS"], rows, right={1}))
    return EXIT_OK


async def _cmd_list(store: OperatorStore, args: argparse.Namespace) -> int:
    jobs = await store.list_jobs(status=args.status, job_type=args.job_type, limit=args.limit)
    if args.format == "json":
        _print_json([job.as_dict() for job in jobs])
        return EXIT_OK
    if not jobs:
        print("no jobs found")
        return EXIT_OK
    rows = [
        [
            job.job_id,
            job.job_type,
            job.status,
            str(job.priority),
            f"{job.attempts}/{job.max_attempts}",
            _when(job.created_at),
            _when(job.updated_at),
            job.error or "",
        ]
        for job in jobs
    ]
    headers = ["JOB ID", "TYPE", "STATUS", "PRIORITY", "ATTEMPTS", "CREATED", "UPDATED", "ERROR"]
    print(_table(headers, rows, right={3, 4}))
    return EXIT_OK


async def _cmd_details(store: OperatorStore, args: argparse.Namespace) -> int:
    job = await _get_job(store, args.job_id)
    if args.format == "json":
        _print_json(job.as_dict())
        return EXIT_OK
    _print_job(job)
    return EXIT_OK


def _print_job(job: Job) -> None:
    import json

    fields = [
        ("job id", job.job_id),
        ("type", job.job_type),
        ("machine type", job.machine_type or "-"),
        ("status", job.status),
        ("priority", str(job.priority)),
        ("attempts", f"{job.attempts}/{job.max_attempts}"),
        ("run after", _when(job.run_after)),
        ("lease owner", job.lease_owner or "-"),
        ("lease expires", _when(job.lease_expires)),
        ("source job", job.source_job_id or "-"),
        ("created", _when(job.created_at)),
        ("started", _when(job.started_at)),
        ("completed", _when(job.completed_at)),
        ("updated", _when(job.updated_at)),
        ("error", job.error or "-"),
    ]
    width = max(len(name) for name, _ in fields) + 2
    for name, value in fields:
        print(f"{name + ':':<{width}}{value}")
    for name, value in (("data", job.data), ("result", job.result)):
        if value is None:
            print(f"{name + ':':<{width}}-")
            continue
        text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
        print(f"{name}:")
        print("\n".join("  " + line for line in text.splitlines()))


async def _cmd_history(store: OperatorStore, args: argparse.Namespace) -> int:
    rows = await store.job_history(args.job_id)
    if not rows:
        await _get_job(store, args.job_id)  # "no job 'x'" when it does not exist
    if args.format == "json":
        _print_json(rows)
        return EXIT_OK
    if not rows:
        print(f"no history for job {args.job_id!r}")
        return EXIT_OK
    table = [
        [
            _when(row.get("at")),
            str(row.get("status")),
            str(row.get("attempt")),
            row.get("worker") or "-",
            row.get("message") or "",
        ]
        for row in rows
    ]
    print(_table(["TIME", "STATUS", "ATTEMPT", "WORKER", "MESSAGE"], table, right={2}))
    return EXIT_OK


async def _cmd_add_job(store: OperatorStore, args: argparse.Namespace) -> int:
    data: dict[str, Any] = {}
    if args.input_file is not None:
        data["input_file_path"] = args.input_file
    if args.payload is not None:
        data.update(args.payload)
    options: dict[str, Any] = {}
    if args.max_attempts is not None:
        options["max_attempts"] = args.max_attempts
    job = await store.add_job(
        args.job_type,
        data,
        job_id=args.job_id,
        priority=args.priority,
        delay=args.delay,
        machine_type=args.machine_type,
        **options,
    )
    if args.format == "json":
        _print_json(job.as_dict())
    else:
        print(job.job_id)
    return EXIT_OK


async def _cmd_complete_job(store: OperatorStore, args: argparse.Namespace) -> int:
    job = await _get_job(store, args.job_id)
    if job.status in ("pending", "failed"):
        # An operator finishing a job by hand: claim it first so the history says who.
        claimed = await store.claim_job_by_id(job.job_id, CLI_WORKER)
        if claimed is None:
            raise StateMachineError(
                f"job {job.job_id!r} is {job.status} and not ready before "
                f"{_when(job.run_after)}; try again then, or cancel it"
            )
    elif job.status != "processing":
        raise _wrong_status(job, "completed", ("pending", "processing", "failed"))
    if not await store.complete_job(job.job_id, result=args.result):
        job = await _get_job(store, job.job_id)
        raise _wrong_status(job, "completed", ("pending", "processing", "failed"))
    return await _report(store, args, job.job_id, "completed")


async def _cmd_fail_job(store: OperatorStore, args: argparse.Namespace) -> int:
    failed = await store.fail_job(args.job_id, args.reason, retry=not args.no_retry)
    if failed is None:
        job = await _get_job(store, args.job_id)
        raise _wrong_status(job, "failed", ("pending", "processing", "failed"))
    if args.format == "json":
        _print_json(failed.as_dict())
    else:
        attempts = f"attempts {failed.attempts}/{failed.max_attempts}"
        if failed.status == "dead":
            print(f"job {failed.job_id!r} is dead ({attempts})")
        else:
            print(
                f"job {failed.job_id!r} failed ({attempts}); "
                f"retried after {_when(failed.run_after)}"
            )
    return EXIT_OK


async def _cmd_retry(store: OperatorStore, args: argparse.Namespace) -> int:
    if not await store.retry_job(args.job_id):
        job = await _get_job(store, args.job_id)
        raise _wrong_status(job, "retried", ("failed", "dead", "cancelled"))
    return await _report(store, args, args.job_id, "queued again")


async def _cmd_cancel(store: OperatorStore, args: argparse.Namespace) -> int:
    if not await store.cancel_job(args.job_id):
        job = await _get_job(store, args.job_id)
        raise _wrong_status(job, "cancelled", ("pending", "processing", "failed"))
    return await _report(store, args, args.job_id, "cancelled")


async def _cmd_remove_job(store: OperatorStore, args: argparse.Namespace) -> int:
    if not await store.remove_job(args.job_id):
        raise _no_job(args.job_id)
    if args.format == "json":
        _print_json({"job_id": args.job_id, "removed": True, "reason": args.reason})
    else:
        because = f" ({args.reason})" if args.reason else ""
        print(f"job {args.job_id!r} removed{because}")
    return EXIT_OK


async def _cmd_cleanup(store: OperatorStore, args: argparse.Namespace) -> int:
    statuses = args.status or list(FINISHED_STATUSES)
    return await _purge(store, args, statuses)


async def _cmd_purge(store: OperatorStore, args: argparse.Namespace) -> int:
    return await _purge(store, args, args.status)


async def _purge(store: OperatorStore, args: argparse.Namespace, statuses: list[str]) -> int:
    statuses = list(dict.fromkeys(statuses))
    deleted = await store.purge_jobs(statuses, older_than=args.older_than)
    if args.format == "json":
        _print_json({"deleted": deleted, "statuses": statuses, "older_than": args.older_than})
    else:
        age = f" older than {_duration(args.older_than)}" if args.older_than is not None else ""
        print(f"deleted {deleted} {_plural(deleted, 'job')} ({', '.join(statuses)}){age}")
    return EXIT_OK


async def _cmd_reset_processing(store: OperatorStore, args: argparse.Namespace) -> int:
    if args.force:
        older_than = None
    elif args.older_than is not None:
        older_than = args.older_than
    else:
        older_than = DEFAULT_RESET_AGE_SECONDS
    count = await store.reset_processing(older_than)
    if args.format == "json":
        _print_json({"reset": count, "older_than": older_than})
    else:
        age = f" started over {_duration(older_than)} ago" if older_than is not None else ""
        print(f"returned {count} processing {_plural(count, 'job')}{age} to the queue")
    return EXIT_OK


async def _get_job(store: OperatorStore, job_id: str) -> Job:
    job = await store.get_job(job_id)
    if job is None:
        raise _no_job(job_id)
    return job


def _no_job(job_id: str) -> StateMachineError:
    from .store import JobNotFound

    return JobNotFound(f"no job {job_id!r}")


def _wrong_status(job: Job, verb: str, allowed: Sequence[str]) -> StateMachineError:
    return StateMachineError(
        f"job {job.job_id!r} is {job.status}; only {_or(allowed)} jobs can be {verb}"
    )


async def _report(store: OperatorStore, args: argparse.Namespace, job_id: str, what: str) -> int:
    job = await _get_job(store, job_id)
    if args.format == "json":
        _print_json(job.as_dict())
    else:
        print(f"job {job.job_id!r} {what} (status {job.status})")
    return EXIT_OK


# -- machine inboxes ----------------------------------------------------------------------


async def _cmd_send_event(store: OperatorStore, args: argparse.Namespace) -> int:
    from .delivery import deliver, unseen_machine_warning

    event_id = await deliver(
        store,
        args.target,
        args.event_type,
        args.payload or {},
        source=args.source,
        job_id=args.job_id,
    )
    warning = await unseen_machine_warning(store, args.target)  # kept all the same
    if warning is not None:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    if args.format == "json":
        _print_json(
            {"id": event_id, "target": args.target, "type": args.event_type, "warning": warning}
        )
    else:
        print(event_id)
    return EXIT_OK


async def _cmd_list_events(store: OperatorStore, args: argparse.Namespace) -> int:
    events = await store.list_events(target=args.target, status=args.status, limit=args.limit)
    if args.format == "json":
        _print_json([event.as_dict() for event in events])
        return EXIT_OK
    if not events:
        print("no events found")
        return EXIT_OK
    rows = [
        [
            str(event.id),
            event.target_machine,
            event.event_type,
            event.status,
            event.source_machine or "-",
            event.job_id or "-",
            _when(event.created_at),
            event.reason or "-",
            _compact_json(event.payload) if event.decodable else _cut(str(event.payload)),
        ]
        for event in events
    ]
    headers = [
        *("ID", "TARGET", "TYPE", "STATUS", "SOURCE", "JOB ID", "CREATED", "REASON", "PAYLOAD")
    ]
    print(_table(headers, rows, right={0}))
    return EXIT_OK


async def _cmd_cleanup_events(store: OperatorStore, args: argparse.Namespace) -> int:
    statuses = [args.status] if args.status else ["processed", "dropped"]
    deleted = 0
    for status in statuses:
        deleted += await store.cleanup_events(status=status)
    if args.format == "json":
        _print_json({"deleted": deleted, "status": args.status})
    else:
        which = f" {args.status}" if args.status else ""
        print(f"deleted {deleted}{which} {_plural(deleted, 'event')}")
    return EXIT_OK


# -- machines ---------------------------------------------------------------------------------


async def _cmd_machine_state(store: OperatorStore, args: argparse.Namespace) -> int:
    import time

    now = time.time()
    machines = [
        (record, liveness(record, now=now), max(0.0, now - record.heartbeat_at))
        for record in await store.list_machines()
    ]
    if args.format == "json":
        _print_json(
            [
                {
                    "machine_name": record.machine_name,
                    "current_state": record.current_state or None,
                    "status": status,
                    "recorded_status": record.status,
                    "pid": record.pid,
                    "host": record.host,
                    "config_name": record.config_name,
                    "config_path": record.config_path,
                    "config_hash": record.config_hash,
                    "heartbeat_at": record.heartbeat_at,
                    "heartbeat_age": round(age, 3),
                    "started_at": record.started_at,
                    "updated_at": record.updated_at,
                    "last_activity": _when(record.updated_at),
                }
                for record, status, age in machines
            ]
        )
        return EXIT_OK
    if not machines:
        print("no machines found")
        return EXIT_OK
    rows = [
        [
            record.machine_name,
            record.current_state or "-",
            status,
            str(record.pid) if record.pid else "-",
            record.host or "-",
            _duration(age),
            _when(record.updated_at),
        ]
        for record, status, age in machines
    ]
    headers = ["MACHINE", "STATE", "STATUS", "PID", "HOST", "HEARTBEAT AGE", "LAST CHANGE"]
    print(_table(headers, rows, right={3, 5}))
    return EXIT_OK


#: The event a ``set-state`` move is recorded with in the transition history.
SET_STATE_EVENT = "set-state"


async def _cmd_set_state(store: OperatorStore, args: argparse.Namespace) -> int:
    record = await store.load_machine(args.machine)
    if record is None or not record.current_state:
        raise StateMachineError(
            f"no machine named {args.machine!r} has run against this store "
            "(statemachine-db machine-state lists them)"
        )
    status = liveness(record)
    if status == "running":
        raise StateMachineError(
            f"machine {args.machine!r} is running (pid {record.pid} on {record.host}, "
            "heartbeat alive): stop it first, then set its state"
        )
    _check_state_of_config(record.config_path, args.machine, args.state)
    context = dict(record.context)
    context.update(
        current_state=args.state,
        previous_state=record.current_state,
        last_event=SET_STATE_EVENT,
    )
    await store.save_transition(
        args.machine,
        from_state=record.current_state,
        to_state=args.state,
        event=SET_STATE_EVENT,
        context=context,
        timers=[],
        actions_done=False,
    )
    # Recorded as stopped, so that its next start resumes there (even after a finish).
    await store.finish_machine(args.machine, "stopped")
    if args.format == "json":
        _print_json(
            {
                "machine_name": args.machine,
                "from_state": record.current_state,
                "to_state": args.state,
            }
        )
    else:
        print(
            f"machine {args.machine!r} moved from {record.current_state!r} to {args.state!r}; "
            "it resumes there when it next starts"
        )
    return EXIT_OK


def _check_state_of_config(path: str | None, machine: str, state: str) -> None:
    """Refuse a state the machine's recorded config does not have (when it is readable)."""
    from ..core.loader import load_config
    from ..errors import ConfigError

    if not path:
        print(f"note: {machine!r} has no recorded config; {state!r} not checked", file=sys.stderr)
        return
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"note: cannot read {path} ({exc.message}); {state!r} not checked", file=sys.stderr)
        return
    if state not in config.states:
        raise StateMachineError(
            f"{path} has no state {state!r}; its states: {', '.join(config.states)}"
        )


def _since(hours: float | None) -> float | None:
    import time

    return None if hours is None else time.time() - hours * 3600


async def _cmd_transition_history(store: OperatorStore, args: argparse.Namespace) -> int:
    records = await store.transition_history(
        args.machine, since=_since(args.hours), limit=args.limit
    )
    if args.format == "json":
        _print_json(
            [
                {**record.as_dict(), "machine": record.machine_name, "timestamp": _when(record.at)}
                for record in records
            ]
        )
        return EXIT_OK
    if not records:
        print("no transitions found")
        return EXIT_OK
    rows = [
        [
            _when(record.at),
            record.machine_name,
            record.from_state or "-",
            record.to_state,
            record.event,
            record.job_id or "-",
        ]
        for record in records
    ]
    print(_table(["TIME", "MACHINE", "FROM", "TO", "EVENT", "JOB ID"], rows))
    return EXIT_OK


async def _cmd_error_history(store: OperatorStore, args: argparse.Namespace) -> int:
    records = await store.error_history(args.machine, since=_since(args.hours), limit=args.limit)
    entries = [record.as_dict() for record in records]
    if args.format == "json":
        _print_json([{**entry, "timestamp": _when(entry["at"])} for entry in entries])
        return EXIT_OK
    if not entries:
        print("no errors found")
        return EXIT_OK
    rows = [
        [
            _when(entry["at"]),
            entry["machine"] or "-",
            entry["kind"],
            entry["job_id"] or "-",
            (
                f"{entry['from_state'] or '-'} --{entry['event']}--> {entry['to_state']}"
                if entry["kind"] == "transition"
                else entry["error"] or "-"
            ),
        ]
        for entry in entries
    ]
    print(_table(["TIME", "MACHINE", "KIND", "JOB ID", "WHAT"], rows))
    return EXIT_OK


# -- output -------------------------------------------------------------------------------------


def _print_json(value: Any) -> None:
    import json

    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _compact_json(value: Any) -> str:
    import json

    if value in (None, {}, []):
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


#: How much of a payload that cannot be decoded ``list-events`` shows.
UNDECODABLE_SHOWN = 80


def _cut(text: str) -> str:
    """The start of a text too long to show (an undecodable payload)."""
    if len(text) <= UNDECODABLE_SHOWN:
        return text
    return f"{text[:UNDECODABLE_SHOWN]}... ({len(text)} characters)"


def _when(timestamp: float | None) -> str:
    """Epoch seconds as local ``YYYY-MM-DD HH:MM:SS`` (``-`` when unset)."""
    import time

    if timestamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    total = int(seconds)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m {total % 60}s"
    if total < 86400:
        return f"{total // 3600}h {total % 3600 // 60}m"
    return f"{total // 86400}d {total % 86400 // 3600}h"


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "s"


def _or(words: Sequence[str]) -> str:
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]


def _cell(value: str) -> str:
    text = " ".join(value.split()) if any(c in value for c in "\n\r\t") else value
    if len(text) > MAX_CELL_WIDTH:
        return text[: MAX_CELL_WIDTH - 3] + "..."
    return text


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int] = ()
) -> str:
    """A plain-text table: columns aligned with two spaces, a dashed rule under the headers.

    Columns whose index is in ``right`` are right-aligned (numbers).
    """
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], len(value))

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(widths[index]) if index in right else value.ljust(widths[index])
            for index, value in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    out = [line(headers), "  ".join("-" * width for width in widths)]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
