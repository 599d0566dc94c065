"""Named SQL queries loaded from ``schema/<dialect>/queries.sql``.

A query starts at a ``-- name: <name>`` line and runs to the next one.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


@cache
def load_queries(dialect: str) -> dict[str, str]:
    """The named queries of ``dialect`` (``sqlite``, ``postgres``)."""
    folder = resources.files(__package__).joinpath("schema").joinpath(dialect)
    text = folder.joinpath("queries.sql").read_text()
    parts = _NAME.split(text)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def migrations(dialect: str) -> list[tuple[int, str]]:
    """The numbered schema files of ``dialect`` (``0001_initial.sql``...), in order."""
    folder = resources.files(__package__).joinpath("schema").joinpath(dialect)
    found = []
    for entry in folder.iterdir():
        match = re.fullmatch(r"(\d{4})_\w+\.sql", entry.name)
        if match:
            found.append((int(match[1]), entry.read_text()))
    return sorted(found)
