"""Named SQL queries and numbered migrations, read from ``schema/<dialect>/``.

A query starts at a ``-- name: <name>`` line and runs to the next one. The files ship
inside the package and are read from beside this module (cheaper at start-up than
``importlib.resources``, which a machine would otherwise import just for this).
"""

from __future__ import annotations

import os
import re
from functools import cache

_SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema")
_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)
_MIGRATION = re.compile(r"(\d{4})_\w+\.sql")


def _read(dialect: str, name: str) -> str:
    with open(os.path.join(_SCHEMA, dialect, name), encoding="utf-8") as file:
        return file.read()


@cache
def load_queries(dialect: str) -> dict[str, str]:
    """The named queries of ``dialect`` (``sqlite``, ``postgres``)."""
    parts = _NAME.split(_read(dialect, "queries.sql"))
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


@cache
def migration_files(dialect: str) -> tuple[tuple[int, str], ...]:
    """(number, file name) of each numbered schema file of ``dialect``, in order."""
    found = []
    for name in os.listdir(os.path.join(_SCHEMA, dialect)):
        match = _MIGRATION.fullmatch(name)
        if match:
            found.append((int(match[1]), name))
    return tuple(sorted(found))


def latest_version(dialect: str) -> int:
    """The schema version the numbered files lead to."""
    return migration_files(dialect)[-1][0]


def migrations(dialect: str) -> list[tuple[int, str]]:
    """The numbered schema scripts of ``dialect`` (``0001_initial.sql``...), in order."""
    return [(number, _read(dialect, name)) for number, name in migration_files(dialect)]
