"""Carried writes committing on their own (database/_carry.py): the hops before a commit
and what happens after it."""

from __future__ import annotations

import asyncio

import pytest

from statemachine_engine.database import _carry as carry
from statemachine_engine.database._carry import CARRY_HOPS, PATIENT_HOPS, CarriedWrites


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


class PatientWrite(Write):
    patient = True


async def commits_after_busy_turns(write: Write) -> int:
    """How many turns of a busy event loop ``write`` waited for its commit."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    turns = 0

    def commit_now() -> bool:
        carried.take()
        done.set_result(turns)
        return True

    async def busy() -> None:  # always something ready to run: the loop never idles
        nonlocal turns
        while not done.done():
            turns += 1
            await asyncio.sleep(0)

    carried = CarriedWrites(commit_now)
    carried.add("key", write)
    spinner = asyncio.create_task(busy())
    carried.soon()
    waited = await done
    await spinner
    return waited


async def test_in_a_busy_loop_writes_wait_a_few_turns_and_patient_ones_more() -> None:
    assert CARRY_HOPS - 1 <= await commits_after_busy_turns(Write()) <= CARRY_HOPS + 1
    assert PATIENT_HOPS - 1 <= await commits_after_busy_turns(PatientWrite()) <= PATIENT_HOPS + 1


async def commits_when_idle(write: Write) -> None:
    """Returns once ``write`` committed, the loop having nothing else to run."""
    done = asyncio.get_running_loop().create_future()

    def commit_now() -> bool:
        carried.take()
        done.set_result(None)
        return True

    carried = CarriedWrites(commit_now)
    carried.add("key", write)
    carried.soon()
    await asyncio.wait_for(done, 10)


async def test_patient_writes_commit_once_the_loop_has_nothing_else_to_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Counting turns alone, it would wait for hours.
    monkeypatch.setattr(carry, "PATIENT_HOPS", 10**10)
    await commits_when_idle(PatientWrite())
