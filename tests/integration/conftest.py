"""Integration fixtures: a real SQLite file and engines built in the test's process."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.database._wakeup import WakeupListener
from tests.support.engines import Machines


@pytest.fixture
def db() -> Path:
    """The test's database file (the store and its machine processes share it): the one
    ``$STATEMACHINE_DB`` names, so that helpers find the sockets of its machines."""
    return Path(os.environ["STATEMACHINE_DB"])


@pytest.fixture
async def store(db: Path) -> AsyncIterator[SqliteStore]:
    """A store on ``db``, opened by the test; closed with the wake-up listener at the end."""
    handle = SqliteStore(db)
    try:
        yield handle
    finally:
        await handle.close()
        WakeupListener.close_all()


@pytest.fixture
def actions_dir(tmp_path: Path) -> Path:
    """Where the test's custom actions live (read when the first machine is built)."""
    return tmp_path / "actions"


@pytest.fixture
async def machines(actions_dir: Path) -> AsyncIterator[Machines]:
    """Builds engines with the test's custom actions; stops them at the end."""
    async with Machines(actions_dir) as factory:
        yield factory
