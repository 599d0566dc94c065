"""The OpenAPI 3.1 description of the HTTP API, served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._input_rules import MAX_NAME_LENGTH
from .._jsondata import MAX_BYTES
from .._version import __version__
from ..config._timeouts import MAX_DELAY_YEARS
from ._openapi_explorer import PATHS as EXPLORER_PATHS
from ._openapi_explorer import SCHEMAS as EXPLORER_SCHEMAS
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

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "properties": {"detail": {"type": "string"}}},
    "Ok": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
    "Sent": {
        "type": "object",
        "properties": {
            "ok": {"type": "boolean"},
            "id": {"type": "integer", "description": "the event's id (to cancel it)"},
            "due_at": {
                "type": ["number", "null"],
                "description": "a delayed event's due time (epoch seconds)",
            },
            "warning": {
                "type": ["string", "null"],
                "description": "set when no machine of that name has run against this store "
                "(the event is kept: it gets it when it starts)",
            },
        },
    },
    "Series": {
        "type": "object",
        "description": "Every list of values is aligned with times (null: not known then).",
        "properties": {
            "interval": {"type": "number", "description": "seconds between samples"},
            "window": {"type": "number", "description": "seconds of samples kept"},
            "now": {"type": "number", "description": "the server's time (epoch seconds)"},
            "times": {
                "type": "array",
                "items": {"type": "number"},
                "description": "each sample's end (epoch seconds), oldest first",
            },
            "backfilled": {"type": "boolean"},
            "events_per_second": {
                "type": "array",
                "items": _NULLABLE_NUMBER,
                "description": "transitions made per second over each sample",
            },
            "jobs_per_minute": {
                "type": "object",
                "description": "job attempts that ended completed, and failed or dead, per "
                "whole minute: minutes (each one's start, epoch seconds), completed and failed "
                "(counts, aligned with minutes; minutes without samples left out)",
                "additionalProperties": {"type": "array", "items": {"type": "number"}},
            },
            "totals": {
                "type": "object",
                "description": "transitions, completed and failed over the samples answered",
                "additionalProperties": {"type": "integer"},
            },
            "queues": {
                "type": "object",
                "description": "by job type: pending, processing and consumers (live "
                "machines claiming the type) per sample",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": _NULLABLE_NUMBER},
                },
            },
            "configs": {"type": "array", "items": {"type": "string"}},
            "config": _NULLABLE_STRING,
            "states": {
                "type": "object",
                "description": "instances of config (not finished) per state, per sample",
                "additionalProperties": {"type": "array", "items": _NULLABLE_NUMBER},
            },
            "dropped_series": {
                "type": "integer",
                "description": "series not kept: their family holds 300 already",
            },
        },
    },
    "Machine": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "state": {"type": "string"},
            "status": {"enum": ["running", "stale", "dead", "finished"]},
            "config": _NULLABLE_STRING,
            "config_name": _NULLABLE_STRING,
            "group": _NULLABLE_STRING,
            "template": _NULLABLE_STRING,
            "pid": {"type": ["integer", "null"]},
            "host": {
                **_NULLABLE_STRING,
                "description": "the host it runs on, when that is not the server's",
            },
            "last_activity": _NULLABLE_NUMBER,
            "started_at": _NULLABLE_NUMBER,
            "entered_at": {**_NULLABLE_NUMBER, "description": "when it entered its state"},
            "dead_since": {
                **_NULLABLE_NUMBER,
                "description": "a dead machine's last sign of life (heartbeat or event)",
            },
            "stuck": {
                "type": "boolean",
                "description": "running, and in its state longer than stuck_after",
            },
            "stuck_after": {
                **_NULLABLE_NUMBER,
                "description": "seconds in this state that make a machine stuck: five times "
                "the usual stay seen (at least 30 s), or the state's max_time in its config; "
                "null until five stays were seen",
            },
            "stuck_rule": {
                "enum": ["max_time", "usual", None],
                "description": "where stuck_after comes from: the config's max_time for the "
                "state, or the usual stay learnt",
            },
        },
    },
    "Wait": {
        "type": "object",
        "description": "What a machine waits for: a timeout of its state, or a delayed "
        "event sent to it, and when it comes",
        "properties": {
            "kind": {"type": "string", "enum": ["timeout", "delayed_event"]},
            "event": {"type": "string"},
            "due_at": {"type": "number"},
            "event_id": {"type": ["integer", "null"]},
            "source": _NULLABLE_STRING,
        },
    },
    "Transition": {
        "type": "object",
        "properties": {
            "from_state": _NULLABLE_STRING,
            "to_state": {"type": "string"},
            "event": {"type": "string"},
            "timestamp": {"type": "number"},
            "job_id": _NULLABLE_STRING,
        },
    },
    "Event": {
        "type": "object",
        "properties": {
            "id": {"type": ["integer", "null"]},
            "machine_name": {"type": "string"},
            "type": {"type": "string"},
            "payload": {"type": "object"},
            "timestamp": {"type": "number"},
            "seq": {"type": ["integer", "null"]},
        },
    },
    "Diagrams": {
        "type": "object",
        "properties": {
            "config": {"type": "string"},
            "main": {"type": "string", "description": "Mermaid stateDiagram-v2"},
            "groups": {"type": "object", "additionalProperties": {"type": "string"}},
            "metadata": {"type": "object", "description": "metadata.json (format 1)"},
        },
    },
}

PATHS: dict[str, Any] = {
    "/health": {
        "get": {
            "summary": "Server health, machine and client counts",
            "responses": {"200": _json({"type": "object"})},
        }
    },
    "/api/config": {
        "get": {
            "summary": "Whether control is allowed, the stream is served (websocket), "
            "where live events come from (source: socket or store), whether it runs for "
            "a system's manifest (system: machines' logs, not-running machines), and the version",
            "responses": {"200": _json({"type": "object"})},
        }
    },
    "/api/machines": {
        "get": {
            "summary": "Every known machine",
            "responses": {"200": _json({"type": "array", "items": _ref("Machine")})},
        }
    },
    "/api/machines/{name}": {
        "get": {
            "summary": "One machine, its transitions (newest first), its context and what it "
            "waits for (timeouts, delayed events)",
            "parameters": [_path("name")],
            "responses": {
                "200": _json(
                    {
                        "allOf": [
                            _ref("Machine"),
                            {
                                "properties": {
                                    "history": {"type": "array", "items": _ref("Transition")},
                                    "history_more": {
                                        "type": "boolean",
                                        "description": "older transitions than the 100 "
                                        "in history were recorded",
                                    },
                                    "context": {"type": "object"},
                                    "waiting_for": {"type": "array", "items": _ref("Wait")},
                                }
                            },
                        ]
                    }
                ),
                "404": _ERROR,
            },
        }
    },
    "/api/machines/{name}/events": {
        "post": {
            "summary": "Send an event to a machine (needs --allow-control)",
            "parameters": [_path("name")],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["type"],
                            "properties": {
                                "type": {
                                    "type": "string",
                                    "minLength": 1,
                                    "maxLength": MAX_NAME_LENGTH,
                                },
                                "payload": {},
                                "delay": {
                                    "type": ["number", "string"],
                                    "description": "deliver after this long: seconds, or "
                                    f"90s, 5m, 2h, 1h30m (at most {MAX_DELAY_YEARS} years)",
                                },
                                "at": {
                                    "type": "string",
                                    "description": "deliver at this ISO 8601 time (without "
                                    "a timezone: the server's local time; at most "
                                    f"{MAX_DELAY_YEARS} years ahead)",
                                },
                            },
                        }
                    }
                },
            },
            "responses": {
                **_CONTROL,
                "200": _json(_ref("Sent")),
                "400": _ERROR,
                "413": _json(_ref("Error"), f"The body is larger than {MAX_BYTES} bytes"),
            },
        }
    },
    "/api/machines/{name}/log": {
        "get": {
            "summary": "A machine's log file (statemachine-ui --manifest): its last lines, "
            "or those written after a cursor",
            "parameters": [
                _path("name"),
                _query("limit", "the last this many lines (default 100, at most 1000)", "integer"),
                _query("cursor", "the cursor of the last answer: only the lines written since"),
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string"},
                            "lines": {"type": "array", "items": {"type": "string"}},
                            "cursor": {"type": ["string", "null"]},
                        },
                    }
                ),
                "400": _ERROR,
                "404": _ERROR,
            },
        }
    },
    "/api/queues": {
        "get": {
            "summary": "Job types with pending jobs and no running machine that claims them",
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "unserved": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "job_type": {"type": "string"},
                                        "pending": {"type": "integer"},
                                        "consumers": {"type": "integer"},
                                    },
                                },
                            }
                        },
                    }
                ),
            },
        }
    },
    "/api/series": {
        "get": {
            "summary": "The charts' time series: one sample every --series-interval seconds "
            "(default 10) for --series-window seconds (default 3600), the window before the "
            "server started back-filled from history for the counts",
            "parameters": [
                _query("window", "only the samples of the last this many seconds", "number"),
                _query(
                    "config",
                    "the config (file stem) of the instances per state; "
                    "default: the one with most instances now",
                ),
            ],
            "responses": {"200": _json(_ref("Series")), "400": _ERROR},
        }
    },
    "/api/jobs/{job_id}": {
        "get": {
            "summary": "One job and its history",
            "parameters": [_path("job_id")],
            "responses": {"200": _json(_ref("Job")), "404": _ERROR},
        }
    },
    "/api/jobs/{job_id}/retry": {
        "post": {
            "summary": "Queue a failed, dead or cancelled job again (needs --allow-control)",
            "parameters": [_path("job_id")],
            "responses": _CONTROL,
        }
    },
    "/api/jobs/{job_id}/cancel": {
        "post": {
            "summary": "Cancel a job (needs --allow-control)",
            "parameters": [_path("job_id")],
            "responses": _CONTROL,
        }
    },
    "/api/events": {
        "get": {
            "summary": "Recent realtime events, oldest first (older ones read from the store)",
            "parameters": [
                _query("machine", "only this machine's events"),
                _query("limit", "at most this many (default 100)", "integer"),
                _query(
                    "after_id",
                    "instead of the newest: the recorded events after this id, oldest first",
                    "integer",
                ),
            ],
            "responses": {"200": _json({"type": "array", "items": _ref("Event")})},
        }
    },
    "/api/activity": {
        "get": {
            "summary": "The activity log read back from the store, newest first",
            "parameters": [
                _query("machine", "only this machine's entries"),
                _query("template", "only the entries of this template's instances"),
                _query("level", "only these levels (comma-separated: debug, info, ...)"),
                _query("text", "only entries whose machine or payload holds this (any case)"),
                _query("before_id", "only entries recorded before this id", "integer"),
                _query("limit", "at most this many (default 100, at most 1000)", "integer"),
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "events": {"type": "array", "items": _ref("Event")},
                            "before": {
                                "type": ["integer", "null"],
                                "description": "before_id for older entries (null: no more)",
                            },
                        },
                    }
                ),
                "400": _ERROR,
            },
        }
    },
    "/api/diagrams/{config}": {
        "get": {
            "summary": "Mermaid diagrams and metadata of a config (by file stem)",
            "parameters": [_path("config")],
            "responses": {"200": _json(_ref("Diagrams")), "404": _ERROR, "422": _ERROR},
        }
    },
}


def description() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "statemachine-engine monitoring API",
            "version": __version__,
            "description": "Live machines, jobs and events. The stream is the WebSocket "
            "/ws/events: a snapshot message, then event, machines and dropped messages.",
        },
        "paths": {**PATHS, **EXPLORER_PATHS},
        "components": {
            "schemas": {**SCHEMAS, **EXPLORER_SCHEMAS},
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "X-Statemachine-Token"}
            },
        },
    }


async def openapi(request: Request) -> Response:
    return JSONResponse(description())


ROUTES = [Route("/openapi.json", openapi)]
