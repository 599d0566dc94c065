"""A PostgreSQL server for the tests: a fresh schema per test, dropped afterwards.

The server is found through ``STATEMACHINE_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1/test``). When it cannot be reached the PostgreSQL
tests skip, saying how to enable them; under CI (``CI=true``) they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from urllib.parse import quote

import pytest

URL_ENV = "STATEMACHINE_TEST_POSTGRES_URL"
DEFAULT_URL = "postgresql://postgres@127.0.0.1/test"


def server_url() -> str:
    return os.environ.get(URL_ENV) or DEFAULT_URL


@cache
def _unreachable_reason() -> str | None:
    try:
        import psycopg
    except ImportError:
        return 'psycopg is not installed (pip install -e ".[dev]")'
    try:
        with psycopg.connect(server_url(), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"cannot reach PostgreSQL at {server_url()}: {first}"
    return None


def require_postgres() -> str:
    """The server's URL; skips the test (fails it under CI) when it is unreachable."""
    reason = _unreachable_reason()
    if reason is not None:
        message = f"{reason}. Start PostgreSQL, or set {URL_ENV} to a database URL"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return server_url()


def admin(statement: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Run one statement on the test server as the admin connection; its rows."""
    import psycopg

    with psycopg.connect(server_url(), autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def schema_url(schema: str) -> str:
    """The server URL with ``schema`` as the connection's search path."""
    separator = "&" if "?" in server_url() else "?"
    return f"{server_url()}{separator}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A new empty schema on the test server, as a store URL; dropped at the end."""
    require_postgres()
    schema = f"sm_test_{uuid.uuid4().hex[:12]}"
    admin(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(schema)
    finally:
        admin(f'DROP SCHEMA "{schema}" CASCADE')


def terminate_backends(application_name: str) -> int:
    """Cut every connection whose ``application_name`` is this; how many were cut."""
    rows = admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = %s AND pid <> pg_backend_pid()",
        (application_name,),
    )
    return sum(1 for (cut,) in rows if cut)
