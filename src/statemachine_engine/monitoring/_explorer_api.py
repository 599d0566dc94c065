"""The HTTP API of the job explorer and the failures view: jobs by any filter with
totals, one job with its attempts, retry and cancel by filter, failures grouped by
message and retried by group. Changes need ``--allow-control``, as every change does."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..database._job_search import CANCELLABLE, RETRYABLE, JobSearch
from ..database._names import machine_of_worker
from ..errors import StoreError
from ._api import JSONResponse, _controlled, _json_body, monitor_of
from ._failure_groups import FailureGroup, group_failures
from ._job_details import attempts_of, failed_attempt, job_object

if TYPE_CHECKING:
    from ._monitor import Monitor

DEFAULT_PAGE = 100
#: The failures view reads at most this many failing jobs and error events (the newest).
FAILURES_READ = 10_000
#: Error events shown per failed attempt of a job.
ATTEMPT_ERRORS = 20
#: The workers offered as a filter.
MAX_WORKERS = 500


def search_from(values: Mapping[str, Any], *, default_limit: int = DEFAULT_PAGE) -> JobSearch:
    """A :class:`JobSearch` from query parameters or a JSON body: ``q``, ``status`` and
    ``type`` (comma-separated, or lists), ``worker``, ``since``/``until`` (epoch s) on
    ``time`` (``updated``, ``created``), ``job_ids``, ``sort`` (``-`` first: newest or
    largest first), ``offset``, ``limit``. 400 for what does not parse."""
    sort = str(values.get("sort") or "-created_at")
    time_of = values.get("time") or "updated"
    if time_of not in ("updated", "created"):
        raise HTTPException(400, f"time must be updated or created, not {time_of!r}")
    descending = sort.startswith("-")
    try:
        return JobSearch(
            text=_text(values.get("q")),
            statuses=_names(values.get("status")),
            job_types=_names(values.get("type")),
            worker=_text(values.get("worker")),
            since=_number(values, "since"),
            until=_number(values, "until"),
            time_field=f"{time_of}_at",
            job_ids=_names(values.get("job_ids")),
            sort=sort.lstrip("-"),
            descending=descending,
            offset=_whole(values, "offset", 0),
            limit=_whole(values, "limit", default_limit),
        )
    except StoreError as exc:
        raise HTTPException(400, str(exc)) from None


async def jobs(request: Request) -> Response:
    """A page of jobs by the filter in the query, with ``total`` (matching), ``by_status``
    (matching, every status), ``counts`` (all jobs: when the filter is by status alone,
    or asked for with ``counts=1``) and with ``facets=1`` the job types and workers."""
    store = monitor_of(request).store
    search = search_from(request.query_params)
    page = await store.search_jobs(search)
    now = time.time()
    answer: dict[str, Any] = {
        "total": page.total,
        "offset": search.offset,
        "limit": search.limit,
        "sort": f"{'-' if search.descending else ''}{search.sort}",
        "by_status": page.by_status,
        "jobs": [
            job_object(job, worker=page.workers.get(job.job_id), now=now) for job in page.jobs
        ],
    }
    counts = page.counts
    if counts is None and request.query_params.get("counts"):
        counts = await store.job_counts()
    if counts is not None:
        answer["counts"] = counts
    if request.query_params.get("facets"):
        answer["types"] = await store.job_type_counts()
        answer["workers"] = await store.job_workers(MAX_WORKERS)
    return JSONResponse(answer)


async def job(request: Request) -> Response:
    """One job: every field, its history, and its ``runs`` (one per attempt), each that
    did not complete with the error events its worker recorded while it ran."""
    store = monitor_of(request).store
    job_id = request.path_params["job_id"]
    found = await store.get_job(job_id)
    if found is None:
        raise HTTPException(404, f"no job {job_id!r}")
    history = await store.job_history(job_id)
    attempts = attempts_of(history)
    now = time.time()
    for attempt in attempts:
        attempt["errors"] = []
        if attempt["worker"] and failed_attempt(attempt):
            events = await store.error_events(
                machine=machine_of_worker(attempt["worker"]),
                since=attempt["started_at"],
                until=attempt["ended_at"] or now,
                limit=ATTEMPT_ERRORS,
            )
            attempt["errors"] = [
                {"at": event.at, **(event.payload if isinstance(event.payload, dict) else {})}
                for event in reversed(events)
            ]
    last_worker = next((a["worker"] for a in reversed(attempts) if a["worker"]), None)
    return JSONResponse(
        {
            **job_object(found, worker=last_worker, now=now),
            "history": history,
            "runs": attempts,
        }
    )


async def bulk_retry(request: Request) -> Response:
    return await _bulk(request, "retry")


async def bulk_cancel(request: Request) -> Response:
    return await _bulk(request, "cancel")


async def _bulk(request: Request, verb: str) -> Response:
    """Retry or cancel every job the body's filter matches; with ``"dry_run": true``
    only say how many that would be (``matched``)."""
    store = _controlled(request).store
    body = await _json_body(request)
    search = search_from(body)
    if body.get("dry_run"):
        allowed = RETRYABLE if verb == "retry" else CANCELLABLE
        kept = search.only(allowed)
        matched = 0 if kept is None else (await store.search_jobs(_counting(kept))).total
        return JSONResponse({"matched": matched})
    changed = await (
        store.retry_matching(search) if verb == "retry" else store.cancel_matching(search)
    )
    return JSONResponse({"changed": changed})


async def failures(request: Request) -> Response:
    """Failed and dead jobs and error events (since ``since``) grouped by normalised
    message, the largest group first."""
    since = _number(request.query_params, "since")
    groups, read = await _groups(monitor_of(request), since)
    return JSONResponse(
        {
            "since": since,
            "jobs_read": read[0],
            "events_read": read[1],
            "capped": max(read) >= FAILURES_READ,
            "groups": [group.as_dict() for group in groups],
        }
    )


async def retry_failures(request: Request) -> Response:
    """Retry the failed and dead jobs of the group with the body's ``key`` (and
    ``since``, as the view was read); ``dry_run`` only counts them."""
    monitor = _controlled(request)
    body = await _json_body(request)
    key = body.get("key")
    if not isinstance(key, str):
        raise HTTPException(400, '"key" must be the group\'s key')
    groups, _ = await _groups(monitor, _number(body, "since"))
    group = next((g for g in groups if g.key == key), None)
    if group is None:
        raise HTTPException(404, f"no failures grouped as {key!r}")
    if not group.job_ids:
        return JSONResponse({"matched": 0} if body.get("dry_run") else {"changed": 0})
    if body.get("dry_run"):
        return JSONResponse({"matched": len(group.job_ids)})
    search = JobSearch(job_ids=tuple(group.job_ids), statuses=("failed", "dead"), limit=1)
    return JSONResponse({"changed": await monitor.store.retry_matching(search)})


async def _groups(
    monitor: Monitor, since: float | None
) -> tuple[list[FailureGroup], tuple[int, int]]:
    store = monitor.store
    failing = await store.failing_jobs(since=since, limit=FAILURES_READ)
    events = await store.error_events(since=since, limit=FAILURES_READ)
    # Thousands of messages take a while to normalise: not on the loop the stream runs on.
    groups = await asyncio.to_thread(
        group_failures,
        [(j.job_id, j.job_type, j.status, j.error, j.at) for j in failing],
        [(e.machine, e.payload, e.at) for e in events],
    )
    return groups, (len(failing), len(events))


def _counting(search: JobSearch) -> JobSearch:
    return replace(search, offset=0, limit=1)


def _names(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise HTTPException(400, "a list filter takes names separated by commas")
    return tuple(dict.fromkeys(item.strip() for item in items if item.strip()))


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise HTTPException(400, "a text filter must be a string")
    return value


def _whole(values: Mapping[str, Any], name: str, default: int) -> int:
    number = _number(values, name)
    if number is None:
        return default
    if number != int(number):
        raise HTTPException(400, f"{name} must be a whole number")
    return int(number)


def _number(values: Mapping[str, Any], name: str) -> float | None:
    value = values.get(name)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise HTTPException(400, f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise HTTPException(400, f"{name} must be a finite number")
    return number


ROUTES = [
    Route("/api/jobs", jobs),
    Route("/api/jobs/bulk/retry", bulk_retry, methods=["POST"]),
    Route("/api/jobs/bulk/cancel", bulk_cancel, methods=["POST"]),
    Route("/api/jobs/{job_id}", job),
    Route("/api/failures", failures),
    Route("/api/failures/retry", retry_failures, methods=["POST"]),
]
