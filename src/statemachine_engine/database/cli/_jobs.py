"""``statemachine-db`` commands about jobs: ``status``, ``list``, ``details``, ``history``,
``add-job``, ``complete-job``, ``fail-job``, ``retry``, ``cancel``, ``remove-job``."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..._cli_output import json_text, one_of, print_json, print_listing, table, when
from ..._cli_support import EXIT_OK
from ...errors import JobNotFound, StateMachineError
from ..models.job import JobStatus

if TYPE_CHECKING:
    from ..models.job import Job
    from ..store import OperatorStore

#: The worker a job an operator completes by hand is claimed for (its history says so).
CLI_WORKER = "statemachine-db"


async def status(store: OperatorStore, args: argparse.Namespace) -> int:
    """``status``: count jobs per status."""
    counts = await store.job_counts()
    ordered = {name: counts.get(name, 0) for name in JobStatus.ALL}
    ordered.update({k: v for k, v in counts.items() if k not in ordered})
    total = sum(ordered.values())
    if args.format == "json":
        print_json({**ordered, "total": total})
        return EXIT_OK
    rows = [[name, str(n)] for name, n in ordered.items()]
    rows.append(["total", str(total)])
    print(table(["STATUS", "JOBS"], rows, right={1}))
    return EXIT_OK


async def list_jobs(store: OperatorStore, args: argparse.Namespace) -> int:
    """``list``: jobs, newest first."""
    jobs = await store.list_jobs(status=args.status, job_type=args.job_type, limit=args.limit)
    print_listing(
        args.format,
        jobs,
        document=lambda job: job.as_dict(),
        headers=["JOB ID", "TYPE", "STATUS", "PRIORITY", "ATTEMPTS", "CREATED", "UPDATED", "ERROR"],
        row=lambda job: [
            job.job_id,
            job.job_type,
            job.status,
            str(job.priority),
            f"{job.attempts}/{job.max_attempts}",
            when(job.created_at),
            when(job.updated_at),
            job.error or "",
        ],
        empty="no jobs found",
        right={3, 4},
    )
    return EXIT_OK


async def details(store: OperatorStore, args: argparse.Namespace) -> int:
    """``details``: every field of a job, and what its last failed command printed."""
    job = await get_job(store, args.job_id)
    failure = last_failure_output(await store.job_history(args.job_id))
    if args.format == "json":
        print_json({**job.as_dict(), "last_output": failure})
        return EXIT_OK
    _print_job(job)
    if failure is not None:
        print("\n".join(output_lines(failure)))
    return EXIT_OK


def last_failure_output(history: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The output kept with the newest failure of a job's history (oldest row first),
    with its ``attempt``; None when no failure kept any."""
    for row in reversed(history):
        output = row.get("output")
        if isinstance(output, Mapping):
            return {**output, "attempt": row.get("attempt")}
    return None


def output_lines(failure: Mapping[str, Any]) -> list[str]:
    """A failure's output as ``details`` prints it: each stream that printed, indented."""
    lines = [f"output (attempt {failure.get('attempt')}, exit status {failure.get('exit_code')}):"]
    for stream in ("stderr", "stdout"):
        text = failure.get(stream)
        if isinstance(text, str) and text:
            lines.append(f"  {stream}:")
            lines.extend("    " + line for line in text.splitlines())
    return lines


def _print_job(job: Job) -> None:
    fields = [
        ("job id", job.job_id),
        ("type", job.job_type),
        ("machine type", job.machine_type or "-"),
        ("status", job.status),
        ("priority", str(job.priority)),
        ("attempts", f"{job.attempts}/{job.max_attempts}"),
        ("run after", when(job.run_after)),
        ("lease owner", job.lease_owner or "-"),
        ("lease expires", when(job.lease_expires)),
        ("source job", job.source_job_id or "-"),
        *([("trace", job.traceparent)] if job.traceparent else []),  # traced: its W3C context
        ("created", when(job.created_at)),
        ("started", when(job.started_at)),
        ("completed", when(job.completed_at)),
        ("updated", when(job.updated_at)),
        ("error", job.error or "-"),
    ]
    width = max(len(name) for name, _ in fields) + 2
    for name, value in fields:
        print(f"{name + ':':<{width}}{value}")
    for name, data in (("data", job.data), ("result", job.result)):
        if data is None:
            print(f"{name + ':':<{width}}-")
            continue
        print(f"{name}:")
        text = json_text(data, sort_keys=True)
        print("\n".join("  " + line for line in text.splitlines()))


async def history(store: OperatorStore, args: argparse.Namespace) -> int:
    """``history``: every status change of a job."""
    rows = await store.job_history(args.job_id)
    if not rows:
        await get_job(store, args.job_id)  # "no job 'x'" when it does not exist
    print_listing(
        args.format,
        rows,
        document=lambda row: row,
        headers=["TIME", "STATUS", "ATTEMPT", "WORKER", "MESSAGE"],
        row=lambda row: [
            when(row.get("at")),
            str(row.get("status")),
            str(row.get("attempt")),
            row.get("worker") or "-",
            row.get("message") or "",
        ],
        empty=f"no history for job {args.job_id!r}",
        right={2},
    )
    return EXIT_OK


async def add(store: OperatorStore, args: argparse.Namespace) -> int:
    """``add-job``: queue a job; its id is the first line printed."""
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
        print_json(job.as_dict())
    else:
        print(job.job_id)
    return EXIT_OK


#: The statuses ``complete-job``, ``fail-job`` and ``cancel`` accept a job in.
OPEN_STATUSES = (JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.FAILED)
#: The statuses ``retry`` puts a job back in the queue from.
RETRIABLE_STATUSES = (JobStatus.FAILED, JobStatus.DEAD, JobStatus.CANCELLED)


async def complete(store: OperatorStore, args: argparse.Namespace) -> int:
    """``complete-job``: mark a job completed (claimed first by :data:`CLI_WORKER`)."""
    job = await get_job(store, args.job_id)
    if job.status in JobStatus.CLAIMABLE:
        # An operator finishing a job by hand: claim it first so the history says who.
        claimed = await store.claim_job_by_id(job.job_id, CLI_WORKER)
        if claimed is None:
            raise StateMachineError(
                f"job {job.job_id!r} is {job.status} and not ready before "
                f"{when(job.run_after)}; try again then, or cancel it"
            )
    elif job.status != JobStatus.PROCESSING:
        raise wrong_status(job, "completed", OPEN_STATUSES)
    if not await store.complete_job(job.job_id, result=args.result):
        job = await get_job(store, job.job_id)
        raise wrong_status(job, "completed", OPEN_STATUSES)
    return await report(store, args, job.job_id, "completed")


async def fail(store: OperatorStore, args: argparse.Namespace) -> int:
    """``fail-job``: record a failure (retried after a backoff, or dead)."""
    failed = await store.fail_job(args.job_id, args.reason, retry=not args.no_retry)
    if failed is None:
        job = await get_job(store, args.job_id)
        raise wrong_status(job, "failed", OPEN_STATUSES)
    if args.format == "json":
        print_json(failed.as_dict())
    else:
        attempts = f"attempts {failed.attempts}/{failed.max_attempts}"
        if failed.status == JobStatus.DEAD:
            print(f"job {failed.job_id!r} is dead ({attempts})")
        else:
            print(
                f"job {failed.job_id!r} failed ({attempts}); retried after {when(failed.run_after)}"
            )
    return EXIT_OK


async def retry(store: OperatorStore, args: argparse.Namespace) -> int:
    """``retry``: put a failed, dead or cancelled job back in the queue."""
    if not await store.retry_job(args.job_id):
        job = await get_job(store, args.job_id)
        raise wrong_status(job, "retried", RETRIABLE_STATUSES)
    return await report(store, args, args.job_id, "queued again")


async def cancel(store: OperatorStore, args: argparse.Namespace) -> int:
    """``cancel``: cancel a pending, processing or failed job."""
    if not await store.cancel_job(args.job_id):
        job = await get_job(store, args.job_id)
        raise wrong_status(job, "cancelled", OPEN_STATUSES)
    return await report(store, args, args.job_id, "cancelled")


async def remove(store: OperatorStore, args: argparse.Namespace) -> int:
    """``remove-job``: delete a job and its history."""
    if not await store.remove_job(args.job_id):
        raise no_job(args.job_id)
    if args.format == "json":
        print_json({"job_id": args.job_id, "removed": True, "reason": args.reason})
    else:
        because = f" ({args.reason})" if args.reason else ""
        print(f"job {args.job_id!r} removed{because}")
    return EXIT_OK


async def get_job(store: OperatorStore, job_id: str) -> Job:
    """The job ``job_id``; :class:`JobNotFound` when there is none."""
    job = await store.get_job(job_id)
    if job is None:
        raise no_job(job_id)
    return job


def no_job(job_id: str) -> JobNotFound:
    return JobNotFound(f"no job {job_id!r}")


def wrong_status(job: Job, verb: str, allowed: Sequence[str]) -> StateMachineError:
    return StateMachineError(
        f"job {job.job_id!r} is {job.status}; only {one_of(allowed)} jobs can be {verb}"
    )


async def report(store: OperatorStore, args: argparse.Namespace, job_id: str, what: str) -> int:
    """Print the job as it is now, after ``what`` happened to it."""
    job = await get_job(store, job_id)
    if args.format == "json":
        print_json(job.as_dict())
    else:
        print(f"job {job.job_id!r} {what} (status {job.status})")
    return EXIT_OK
