"""Carried writes committing on their own (database/_carry.py): the hops before a commit
and what happens after it."""

from __future__ import annotations

import asyncio

import pytest

from statemachine_engine.database import _carry as carry
from statemachine_engine.database._carry import CARRY_HOPS, CarriedWrites


class Write:
    def take(self) -> None:
        return None

    def committed(self, result: object = None) -> None: ...

    def failed(self) -> None: ...


async def turns(count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_a_commit_under_way_is_not_started_again_until_its_committer_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Were "under way" taken for a refusal, the retry (made immediate here) would call
    # commit_now again within the turns awaited below.
    monkeypatch.setattr(carry, "RETRY_SECONDS", 0.0)
    calls: list[int] = []
    carried: CarriedWrites

    def commit_now() -> None:  # under way: a task commits and then calls soon()
        calls.append(len(calls))

    carried = CarriedWrites(commit_now)
    carried.add("key", Write())
    carried.soon()
    await turns(10 * CARRY_HOPS)
    assert calls == [0]  # the writes still wait, and nothing loops on them meanwhile
    carried.soon()  # the committer is done, and writes still wait
    await turns(2 * CARRY_HOPS)
    assert calls == [0, 1]


async def test_a_commit_done_looks_again_for_what_waits() -> None:
    calls: list[int] = []

    def commit_now() -> bool:
        calls.append(len(calls))
        carried.take()
        return True

    carried = CarriedWrites(commit_now)
    carried.add("key", Write())
    carried.soon()
    await turns(2 * CARRY_HOPS)
    assert calls == [0]
    assert not carried
