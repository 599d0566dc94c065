"""Named SQL queries and numbered migrations, read from ``schema/``.

Every dialect has the same named operations: those it runs as written in
``schema/queries.sql`` (parameters ``:name``; PostgreSQL's read as ``%(name)s``), the rest
written in its own SQL in ``schema/<dialect>/queries.sql``:

- A query starts at a ``-- name: <name>`` line and runs to the next one. In SQLite it
  may hold several statements (ended by ``;``): they run in order in one transaction,
  where PostgreSQL writes the same operation as one statement (data-modifying ``WITH``).
- ``-- fragment: <name>`` starts a piece of SQL that several queries share; a query
  includes it where it says ``{{name}}``.
- A line ending in ``-- if: <param>`` is kept only when that parameter is not None, one
  ending in ``-- unless: <param>`` only when it is None: the optional filters of
  listings and claims (each variant then uses its index). A statement whose every line
  is dropped is not run.
- ``-- for each row:`` before a statement (SQLite): it runs once for each row the
  statement before it returned, with that row's columns as parameters besides the
  query's (a change and its history row, as PostgreSQL writes them in one ``WITH``).
  A name that is both is the query's parameter.
- ``-- wakes: <topic>`` (SQLite): a commit of the query that changed something wakes the
  processes waiting for ``topic`` on this host. (PostgreSQL's triggers notify in the
  database, see ``schema/postgres/0001_initial.sql``.)
- A query named ``<name>.committed`` (PostgreSQL) is the probe of the write ``<name>``:
  run with its parameters after the connection was lost with it sent, it returns what
  the write wrote if it had committed, in the shape the write returns.

The files ship inside the package and are read from beside this module (cheaper at
start-up than ``importlib.resources``, which a machine would otherwise import just for
this).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

#: What a write's probe is named with after the write's name.
PROBE = ".committed"
_SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema")
_HEADER = re.compile(r"^--[ \t]*(name|fragment|wakes):[ \t]*(\S+)[ \t]*$", re.MULTILINE)
#: A line that is only a comment, and not one of the headers above.
_COMMENT_LINE = re.compile(
    r"^[ \t]*--(?![ \t]*(?:name|fragment|wakes|for each row):).*\n?", re.MULTILINE
)
_EACH_ROW = "-- for each row:"
_INCLUDE = re.compile(r"\{\{(\w+)\}\}")
_OPTIONAL = re.compile(r"--\s*(if|unless):\s*(\w+)\s*$", re.MULTILINE)
#: A ``:name`` parameter (not a ``::type`` cast); compiled when PostgreSQL's are loaded.
_NAMED = r"(?<![:\w]):([A-Za-z_]\w*)"
_MIGRATION = r"(\d{4})_\w+\.sql"


class Query:
    """One named operation of a dialect.

    Attributes:
        name: its name in ``queries.sql``.
        statements: its statements, in order (one for PostgreSQL).
        wakes: the topic a commit that changed something wakes (SQLite), or None.
        reads: every statement is a ``SELECT``: it runs without a write transaction.
        optional: the parameters of ``-- if:`` and ``-- unless:`` lines.
        each_row: for each statement, whether it runs once per row of the one before.
    """

    __slots__ = ("_variants", "each_row", "name", "optional", "reads", "statements", "wakes")

    def __init__(
        self,
        name: str,
        statements: tuple[str, ...],
        *,
        wakes: str | None = None,
        reads: bool = False,
        optional: tuple[str, ...] = (),
        each_row: tuple[bool, ...] = (),
    ) -> None:
        self.name = name
        self.statements = statements
        self.each_row = each_row or (False,) * len(statements)
        self.wakes = wakes
        self.reads = reads
        self.optional = optional
        #: The statements rendered for each combination of given optional parameters.
        self._variants: dict[tuple[bool, ...], tuple[tuple[str, ...], tuple[bool, ...]]] = {}

    def render(self, params: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[bool, ...]]:
        """The statements to run with ``params``, their optional lines kept or dropped,
        and their ``each_row`` flags."""
        if not self.optional:
            return self.statements, self.each_row
        key = tuple(params.get(name) is not None for name in self.optional)
        variant = self._variants.get(key)
        if variant is None:
            given = {name for name, present in zip(self.optional, key, strict=True) if present}
            kept = [
                (rendered, each)
                for rendered, each in (
                    (_keep_given(statement, given), each)
                    for statement, each in zip(self.statements, self.each_row, strict=True)
                )
                if rendered.strip()
            ]
            variant = self._variants[key] = (
                tuple(statement for statement, _ in kept),
                tuple(each for _, each in kept),
            )
        return variant


def _keep_given(statement: str, given: set[str]) -> str:
    kept = []
    for line in statement.splitlines():
        match = _OPTIONAL.search(line)
        if match is None or (match[2] in given) == (match[1] == "if"):
            kept.append(line)
    return "\n".join(kept)


def _read(dialect: str, name: str) -> str:
    with open(os.path.join(_SCHEMA, dialect, name), encoding="utf-8") as file:
        return file.read()


@cache
def load_queries(dialect: str) -> dict[str, Query]:
    """The named queries of ``dialect`` (``sqlite``, ``postgres``)."""
    common = _read("", "queries.sql")
    if dialect == "postgres":
        common = re.sub(_NAMED, r"%(\1)s", common.replace("%", "%%"))
    sections = _sections(common + "\n" + _read(dialect, "queries.sql"))
    fragments = {name: code for kind, name, code, _ in sections if kind == "fragment"}
    queries: dict[str, Query] = {}
    for kind, name, code, wakes in sections:
        if kind != "name":
            continue
        if name in queries:
            raise ValueError(f"query {name!r} is written twice for {dialect}")
        if "{{" in code:
            code = _INCLUDE.sub(lambda match: fragments[match[1]], code)
        parts = [part.strip() for part in code.split(";") if part.strip()]
        each_row = tuple(part.startswith(_EACH_ROW) for part in parts)
        statements = tuple(
            part[len(_EACH_ROW) :].strip() if each else part
            for part, each in zip(parts, each_row, strict=True)
        )
        optional = _OPTIONAL.findall(code) if "-- " in code else []
        queries[name] = Query(
            name,
            statements,
            wakes=wakes,
            reads=all(statement[:6].upper() == "SELECT" for statement in statements),
            optional=tuple(dict.fromkeys(name for _, name in optional)),
            each_row=each_row,
        )
    return queries


def _sections(text: str) -> list[tuple[str, str, str, str | None]]:
    """``(kind, name, code, wakes)`` of each query and fragment of a ``queries.sql``:
    its lines that are not only a comment, and the topic its ``-- wakes:`` names."""
    parts = _HEADER.split(_COMMENT_LINE.sub("", text))
    sections: list[tuple[str, str, str, str | None]] = []
    for kind, name, code in zip(parts[1::3], parts[2::3], parts[3::3], strict=True):
        if kind == "wakes":  # the query's own header line, anywhere in it
            last_kind, last_name, last_code, _ = sections[-1]
            sections[-1] = (last_kind, last_name, f"{last_code}\n{code}".strip(), name)
        else:
            sections.append((kind, name, code.strip(), None))
    return sections


def statements_of(script: str) -> list[str]:
    """Split a script into statements (they contain no semicolons in strings); lines
    that are only a comment are left out."""
    return [part.strip() for part in "\n".join(_code_lines(script)).split(";") if part.strip()]


def _code_lines(script: str) -> list[str]:
    return [line for line in script.splitlines() if not line.lstrip().startswith("--")]


@cache
def migration_files(dialect: str) -> tuple[tuple[int, str], ...]:
    """(number, file name) of each numbered schema file of ``dialect``, in order."""
    found = []
    for name in os.listdir(os.path.join(_SCHEMA, dialect)):
        match = re.fullmatch(_MIGRATION, name)
        if match:
            found.append((int(match[1]), name))
    return tuple(sorted(found))


def latest_version(dialect: str) -> int:
    """The schema version the numbered files lead to."""
    return migration_files(dialect)[-1][0]


def migrations(dialect: str) -> list[tuple[int, str]]:
    """The numbered schema scripts of ``dialect`` (``0001_initial.sql``...), in order."""
    return [(number, _read(dialect, name)) for number, name in migration_files(dialect)]
