"""Writes carried by the store's next write (database/_carry.py), on every dialect: a
carried write commits in the transaction of the next write, before it, or not at all
(docs/durability.md)."""

from __future__ import annotations

import asyncio

import pytest

from statemachine_engine.database.store import Store
from statemachine_engine.errors import StoreError
from tests.integration.test_carried_steps import CarriedJob


async def test_a_carried_write_that_fails_fails_the_write_and_waits_for_the_next(
    store: Store,
) -> None:
    write = CarriedJob(bad_first=True)
    store.connector.carry("key", write)  # type: ignore[attr-defined]
    with pytest.raises(StoreError):
        await store.add_job("task", job_id="first")
    assert await store.get_job("first") is None  # one transaction: nothing of it kept
    await store.add_job("task", job_id="second")
    assert await store.get_job("carried") is not None
    assert await store.get_job("second") is not None
    assert write.outcomes == ["failed", "committed"]


async def test_carried_writes_commit_on_their_own_soon_when_nothing_else_writes(
    store: Store,
) -> None:
    write = CarriedJob()
    store.connector.carry("key", write)  # type: ignore[attr-defined]
    store.connector.flush_soon()  # type: ignore[attr-defined]
    await asyncio.wait_for(write.done.wait(), 5)
    assert await store.get_job("carried") is not None
