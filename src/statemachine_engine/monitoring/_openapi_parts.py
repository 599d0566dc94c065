"""Pieces of the OpenAPI description that :mod:`._openapi` and
:mod:`._openapi_explorer` build it from."""

from __future__ import annotations

from typing import Any


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
