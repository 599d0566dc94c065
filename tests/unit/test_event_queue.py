"""The in-memory queue of a machine's events: order, waiting, cancellation, compaction."""

from __future__ import annotations

import asyncio

import pytest

from statemachine_engine.core._event_queue import COMPACT_AFTER, EventQueue


async def test_items_come_out_in_the_order_they_went_in() -> None:
    queue: EventQueue[int] = EventQueue()
    for item in range(5):
        queue.put(item)
    assert len(queue) == 5
    assert [await queue.get() for _ in range(5)] == [0, 1, 2, 3, 4]
    assert queue.empty()


async def test_get_waits_for_a_put() -> None:
    queue: EventQueue[str] = EventQueue()
    getting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not getting.done()
    queue.put("event")
    assert await getting == "event"


async def test_a_cancelled_get_leaves_the_queue_usable() -> None:
    queue: EventQueue[str] = EventQueue()
    getting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    getting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await getting
    queue.put("after")
    assert await queue.get() == "after"


async def test_a_second_consumer_is_refused() -> None:
    queue: EventQueue[str] = EventQueue()
    first = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="one consumer"):
        await queue.get()
    queue.put("x")
    assert await first == "x"


async def test_order_holds_across_compaction_with_puts_between_gets() -> None:
    queue: EventQueue[int] = EventQueue()
    total = 3 * COMPACT_AFTER + 17
    taken: list[int] = []
    for item in range(total):
        queue.put(item)
        if item % 3 == 0:  # the consumer lags behind: the front is read while items arrive
            taken.append(await queue.get())
    while not queue.empty():
        taken.append(await queue.get())
    assert taken == list(range(total))
