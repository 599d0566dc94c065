"""The OpenAPI 3.1 description of the HTTP API, served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._jsondata import MAX_BYTES
from .._version import __version__


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_NUMBER = {"type": ["number", "null"]}
_ERROR = _json(_ref("Error"), "Error")
_CONTROL = {
    "200": _json(_ref("Ok")),
    "403": _json(_ref("Error"), "Control is off (--allow-control)"),
    "404": _ERROR,
}


def _query(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": {"type": kind}}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


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
                "the usual stay seen (at least 30 s); null until five stays were seen",
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
    "Job": {
        "type": "object",
        "properties": {
            "job_id": {"type": "string"},
            "job_type": {"type": "string"},
            "status": {"type": "string"},
            "priority": {"type": "integer"},
            "attempts": {"type": "integer"},
            "max_attempts": {"type": "integer"},
            "worker": _NULLABLE_STRING,
            "created_at": {"type": "number"},
            "updated_at": {"type": "number"},
            "last_error": _NULLABLE_STRING,
            "data": {},
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
                                "type": {"type": "string"},
                                "payload": {},
                                "delay": {
                                    "type": ["number", "string"],
                                    "description": "deliver after this long: seconds, or "
                                    "90s, 5m, 2h, 1h30m",
                                },
                                "at": {
                                    "type": "string",
                                    "description": "deliver at this ISO 8601 time (without "
                                    "a timezone: the server's local time)",
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
    "/api/jobs": {
        "get": {
            "summary": "Job counts by status and the newest jobs",
            "parameters": [
                _query("status", "only jobs with this status"),
                _query("type", "only jobs of this type"),
                _query("limit", "at most this many jobs (default 100)", "integer"),
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "counts": {
                                "type": "object",
                                "additionalProperties": {"type": "integer"},
                            },
                            "jobs": {"type": "array", "items": _ref("Job")},
                        },
                    }
                ),
                "400": _ERROR,
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
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "X-Statemachine-Token"}
            },
        },
    }


async def openapi(request: Request) -> Response:
    return JSONResponse(description())


ROUTES = [Route("/openapi.json", openapi)]
