"""Which store a location opens, and how a PostgreSQL URL shows in messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from statemachine_engine.database import StoreError, StoreNotFound, open_store
from statemachine_engine.database._postgres import PostgresStore, is_postgres_url, redact
from statemachine_engine.database._sqlite import SqliteStore


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("postgresql://u@h/db", True),
        ("postgres://u@h/db", True),
        ("POSTGRESQL://u@h/db", True),
        ("/var/data/pipeline.db", False),
        ("postgresql.db", False),
        ("mysql://u@h/db", False),
    ],
)
def test_is_postgres_url(location: str, expected: bool) -> None:
    assert is_postgres_url(location) is expected


def test_redact_hides_only_the_password() -> None:
    assert redact("postgresql://bob:s3cret@db:5432/app?sslmode=require") == (
        "postgresql://bob:***@db:5432/app?sslmode=require"
    )
    assert redact("postgresql://bob@db/app") == "postgresql://bob@db/app"


async def test_a_url_opens_postgres_without_connecting_yet() -> None:
    store = open_store("postgresql://bob:s3cret@127.0.0.1:1/none")
    assert isinstance(store, PostgresStore)
    assert "s3cret" not in store.location
    await store.close()


async def test_a_path_opens_sqlite(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "a.db"))
    assert isinstance(store, SqliteStore)
    await store.close()


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(StoreError, match="postgresql://"):
        open_store("mysql://u@h/db")


async def test_an_unreachable_server_is_a_one_line_store_error() -> None:
    store = open_store("postgresql://nobody:pw@127.0.0.1:1/none?connect_timeout=2")
    try:
        with pytest.raises(StoreError, match="cannot connect") as caught:
            await store.job_counts()
        assert "pw" not in str(caught.value)
    finally:
        await store.close()


def test_a_read_finds_no_store_and_creates_neither_file_nor_directory(tmp_path: Path) -> None:
    missing = tmp_path / "data" / "pipeline.db"
    with pytest.raises(StoreNotFound) as caught:
        open_store(str(missing), create=False)
    assert str(caught.value) == (
        f"no store at {missing}: nothing has run here yet; point to one with --db PATH "
        "or STATEMACHINE_DB"
    )
    assert caught.value.location == str(missing)
    assert isinstance(caught.value, StoreError)
    assert not missing.parent.exists()


async def test_a_read_opens_an_existing_store(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    await open_store(str(path)).close()  # a writer creates it
    store = open_store(str(path), create=False)
    assert isinstance(store, SqliteStore)
    assert await store.list_jobs() == []
    await store.close()


async def test_create_false_leaves_postgres_urls_alone() -> None:
    store = open_store("postgresql://bob@127.0.0.1:1/none", create=False)
    assert isinstance(store, PostgresStore)
    await store.close()
