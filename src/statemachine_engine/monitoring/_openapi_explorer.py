"""The OpenAPI description of the job explorer's and the failures view's endpoints
(:mod:`._explorer_api`), merged into ``/openapi.json`` by :mod:`._openapi`."""

from __future__ import annotations

from typing import Any

from ..database._job_search import MAX_PAGE, SORT_KEYS
from ._openapi_parts import (
    _CONTROL,
    _ERROR,
    _NULLABLE_NUMBER,
    _NULLABLE_STRING,
    _json,
    _path,
    _query,
    _ref,
)

_FILTER = {
    "q": ("string", "a part of a job's id, data (as JSON text) or error; case-sensitive"),
    "status": ("string", "only these statuses (comma-separated)"),
    "type": ("string", "only these job types (comma-separated)"),
    "worker": ("string", "only jobs this machine held at some attempt"),
    "since": ("number", "only jobs changed (time=created: created) at or after (epoch s)"),
    "until": ("number", "only jobs changed (time=created: created) before (epoch s)"),
    "time": ("string", "what since and until compare: updated (the default) or created"),
}
_ORDER = {
    "sort": (
        "string",
        f"one of {', '.join(SORT_KEYS)}; a leading - for descending (default -created_at)",
    ),
    "offset": ("integer", "skip this many jobs of the order"),
    "limit": ("integer", f"at most this many jobs (default 100, at most {MAX_PAGE})"),
}
_COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}

SCHEMAS: dict[str, Any] = {
    "Job": {
        "type": "object",
        "description": "Every field `statemachine-db details` shows, and what follows",
        "properties": {
            "job_id": {"type": "string"},
            "job_type": {"type": "string"},
            "machine_type": _NULLABLE_STRING,
            "status": {"type": "string"},
            "priority": {"type": "integer"},
            "attempts": {"type": "integer"},
            "max_attempts": {"type": "integer"},
            "run_after": {"type": "number"},
            "lease_owner": _NULLABLE_STRING,
            "lease_expires": _NULLABLE_NUMBER,
            "source_job_id": _NULLABLE_STRING,
            # The W3C trace context of the span that added it (tracing on), to find its trace.
            "traceparent": _NULLABLE_STRING,
            "created_at": {"type": "number"},
            "started_at": _NULLABLE_NUMBER,
            "completed_at": _NULLABLE_NUMBER,
            "updated_at": {"type": "number"},
            "error": _NULLABLE_STRING,
            "data": {},
            "result": {},
            "worker": {
                "type": ["string", "null"],
                "description": "the lease owner, else the machine that held the job last",
            },
            "last_error": _NULLABLE_STRING,
            "duration": {
                "type": ["number", "null"],
                "description": "seconds from started to completed",
            },
            "next_retry": {
                "type": ["number", "null"],
                "description": "when a waiting (pending, failed) job may run, if later than now",
            },
        },
    },
    "Run": {
        "type": "object",
        "description": "One attempt: a claim by a worker and what ended it",
        "properties": {
            "attempt": {"type": "integer"},
            "worker": _NULLABLE_STRING,
            "started_at": {"type": "number"},
            "ended_at": _NULLABLE_NUMBER,
            "seconds": _NULLABLE_NUMBER,
            "outcome": {
                "type": ["string", "null"],
                "description": "completed, failed, dead, cancelled, pending (given back), "
                "lost (claimed again after its lease expired); null while it runs",
            },
            "message": _NULLABLE_STRING,
            "output": {
                "type": ["object", "null"],
                "description": "a failure's: the ends of what the failing command printed "
                "(stdout, stderr, exit_code), when a bash action's failure was kept by fail_job",
            },
            "errors": {
                "type": "array",
                "description": "error events its worker recorded while it ran (an attempt "
                "that did not complete): action, state, message, at",
                "items": {"type": "object"},
            },
        },
    },
    "BulkChange": {
        "type": "object",
        "description": "The filter of GET /api/jobs (lists may be arrays), and dry_run",
        "properties": {
            **{
                name: {"type": [kind, "array"] if kind == "string" else kind, "description": text}
                for name, (kind, text) in _FILTER.items()
            },
            "job_ids": {"type": "array", "items": {"type": "string"}},
            "dry_run": {"type": "boolean", "description": "only count the jobs (matched)"},
        },
    },
    "Changed": {
        "type": "object",
        "properties": {
            "changed": {"type": "integer", "description": "how many jobs were changed"},
            "matched": {"type": "integer", "description": "with dry_run: how many would be"},
        },
    },
    "FailureGroup": {
        "type": "object",
        "properties": {
            "key": {"type": "string", "description": "the normalised message"},
            "example": {"type": "string"},
            "count": {"type": "integer"},
            "jobs": {"type": "integer"},
            "events": {"type": "integer"},
            "statuses": _COUNTS,
            "first_seen": {"type": "number"},
            "last_seen": {"type": "number"},
            "job_types": {"type": "array", "items": {"type": "string"}},
            "machines": {"type": "array", "items": {"type": "string"}},
            "job_ids": {"type": "array", "items": {"type": "string"}, "description": "a sample"},
        },
    },
}


def _params(table: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    return [_query(name, text, kind) for name, (kind, text) in table.items()]


def _bulk(summary: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "requestBody": {"content": {"application/json": {"schema": _ref("BulkChange")}}},
            "responses": {**_CONTROL, "200": _json(_ref("Changed")), "400": _ERROR},
        }
    }


PATHS: dict[str, Any] = {
    "/api/jobs": {
        "get": {
            "summary": "The job explorer: one page of the jobs a filter matches, in an "
            "order, with the totals",
            "parameters": [
                *_params(_FILTER),
                *_params(_ORDER),
                _query("facets", "1: add the job types (per status) and workers to filter by"),
                _query("counts", "1: add counts (every job per status) whatever the filter"),
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "total": {"type": "integer", "description": "jobs matching"},
                            "offset": {"type": "integer"},
                            "limit": {"type": "integer"},
                            "sort": {"type": "string"},
                            "by_status": {
                                **_COUNTS,
                                "description": "matching jobs per status, the status "
                                "filter left out",
                            },
                            "counts": {
                                **_COUNTS,
                                "description": "all jobs per status: when the filter is by "
                                "status alone, or with counts=1",
                            },
                            "jobs": {"type": "array", "items": _ref("Job")},
                            "types": {"type": "object", "description": "with facets=1"},
                            "workers": {"type": "array", "items": {"type": "string"}},
                        },
                    }
                ),
                "400": _ERROR,
            },
        }
    },
    "/api/jobs/{job_id}": {
        "get": {
            "summary": "One job: every field, its history and its runs (attempts)",
            "parameters": [_path("job_id")],
            "responses": {
                "200": _json(
                    {
                        "allOf": [
                            _ref("Job"),
                            {
                                "properties": {
                                    "history": {"type": "array", "items": {"type": "object"}},
                                    "runs": {"type": "array", "items": _ref("Run")},
                                }
                            },
                        ]
                    }
                ),
                "404": _ERROR,
            },
        }
    },
    "/api/jobs/bulk/retry": _bulk(
        "Queue again every failed, dead or cancelled job a filter matches (needs --allow-control)"
    ),
    "/api/jobs/bulk/cancel": _bulk(
        "Cancel every pending, processing or failed job a filter matches (needs --allow-control)"
    ),
    "/api/failures": {
        "get": {
            "summary": "Failed and dead jobs and error events grouped by normalised message "
            "(numbers, ids, paths, quoted values taken out), the largest group first",
            "parameters": [_query("since", "only what happened from then on (epoch s)", "number")],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "groups": {"type": "array", "items": _ref("FailureGroup")},
                            "jobs_read": {"type": "integer"},
                            "events_read": {"type": "integer"},
                            "capped": {
                                "type": "boolean",
                                "description": "only the newest 10,000 of each were read",
                            },
                        },
                    }
                ),
                "400": _ERROR,
            },
        }
    },
    "/api/failures/retry": {
        "post": {
            "summary": "Queue again the failed and dead jobs of one group (needs --allow-control)",
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["key"],
                            "properties": {
                                "key": {"type": "string"},
                                "since": {"type": ["number", "null"]},
                                "dry_run": {"type": "boolean"},
                            },
                        }
                    }
                }
            },
            "responses": {**_CONTROL, "200": _json(_ref("Changed")), "400": _ERROR},
        }
    },
}
