"""One statement for a carried write and the write that carries it (PostgreSQL).

A machine's waiting steps (``save_steps``) are data-modifying ``WITH`` clauses and
nothing else; most writes that carry them (a claim, a completion) are ``WITH`` clauses
and a final ``SELECT``. Put together, the steps' clauses first, they make one statement:
one execution and one round trip, where a pipeline of two costs psycopg about twice the
client CPU of one statement. One statement is one transaction, as the pipeline was.

They are put together only where that cannot change what either does: the write must
not touch a table the steps write (the clauses of one statement share one snapshot and
must not change one row twice), and the steps' clause and parameter names are prefixed
so that nothing clashes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

#: What the carried statement's names are prefixed with.
PREFIX = "carried_"

_CLAUSE = re.compile(r"(?m)^(WITH |, ?)\s*(\w+) AS \(")
_PARAM = re.compile(r"%\((\w+)\)s")
_WRITTEN = re.compile(r"\b(?:INSERT INTO|UPDATE)\s+(\w+)")
#: How a statement of data-modifying clauses only ends.
_CLAUSES_ONLY_END = "\nSELECT 1"

_Params = Mapping[str, Any] | Sequence[Any]


class Merger:
    """Merged statements, each rewritten once and kept (there are a few variants)."""

    def __init__(self) -> None:
        self._texts: dict[tuple[str, str], str | None] = {}

    def merge(
        self, carried: tuple[str, _Params], write: tuple[str, _Params]
    ) -> tuple[str, dict[str, Any]] | None:
        """``carried`` and ``write`` as one statement and its parameters; None when they
        cannot be one."""
        (carried_sql, carried_params), (write_sql, write_params) = carried, write
        if not isinstance(carried_params, Mapping) or not isinstance(write_params, Mapping):
            return None
        key = (carried_sql, write_sql)
        try:
            text = self._texts[key]
        except KeyError:
            text = self._texts[key] = merged_text(carried_sql, write_sql)
        if text is None:
            return None
        params = {PREFIX + name: value for name, value in carried_params.items()}
        params.update(write_params)
        return text, params


def merged_text(carried: str, write: str) -> str | None:
    """The statement doing ``carried`` (data-modifying ``WITH`` clauses only) and
    ``write`` (``WITH`` clauses and a final query); None when it cannot be one."""
    if not (
        carried.startswith("WITH ")
        and carried.endswith(_CLAUSES_ONLY_END)
        and write.startswith("WITH ")
    ):
        return None
    written = set(_WRITTEN.findall(carried))
    if not written or any(re.search(rf"\b{table}\b", write) for table in written):
        return None
    clauses = {match[2] for match in _CLAUSE.finditer(carried)}
    if any(re.search(rf"\b(?:FROM|JOIN)\s+{name}\b", carried) for name in clauses):
        return None  # its clauses read each other: not renamed here
    body = carried[len("WITH ") : -len(_CLAUSES_ONLY_END)]
    body = _PARAM.sub(rf"%({PREFIX}\1)s", body)
    if clauses:
        names = re.compile(r"\b(" + "|".join(sorted(clauses)) + r")\b(?= AS \()")
        body = names.sub(rf"{PREFIX}\1", body)
    # A new line first: the carried statement's last line may end in a comment.
    return f"WITH {body}\n, {write[len('WITH ') :]}"
