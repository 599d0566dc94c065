"""Ids grow in commit order: a reader that follows by the last id it saw misses nothing.

Several handles (separate connections on PostgreSQL) write at once while a reader
follows, as a machine follows its inbox and a monitor the realtime log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from statemachine_engine.database.realtime_feed import follow_realtime
from statemachine_engine.database.store import Store

WRITERS = 4
EACH = 100


async def test_concurrent_senders_never_hide_an_event_from_its_reader(
    store: Store, store_factory: Callable[[], Store]
) -> None:
    writers = [store_factory() for _ in range(WRITERS)]

    async def send(handle: Store, index: int) -> None:
        for n in range(EACH):
            await handle.send_event("m", "tick", {"writer": index, "n": n})

    sending = asyncio.gather(*(send(handle, i) for i, handle in enumerate(writers)))
    seen: list[int] = []
    last = 0
    while len(seen) < WRITERS * EACH:
        batch = await store.pending_events("m", after_id=last)
        seen += [event.id for event in batch]
        last = seen[-1] if seen else 0
        if not batch:
            await asyncio.sleep(0)  # let the writers run
    await sending
    assert seen == sorted(seen)
    assert len(set(seen)) == WRITERS * EACH
    assert await store.pending_events("m", after_id=last) == []


async def test_the_realtime_feed_sees_every_batch_of_every_writer(
    store: Store, store_factory: Callable[[], Store]
) -> None:
    writers = [store_factory() for _ in range(WRITERS)]
    before = await store.record_realtime("early", "before", {})

    async def record(handle: Store, index: int) -> None:
        for n in range(EACH // 10):
            batch = [("tick", {"writer": index, "n": n * 10 + k}) for k in range(10)]
            await handle.record_realtime_batch(f"m{index}", batch)

    async def follow() -> list[tuple[str, int]]:
        got = []
        async for event in follow_realtime(store, after_id=before):
            got.append((event.machine_name, event.payload["n"]))
            if len(got) == WRITERS * EACH:
                return got
        raise AssertionError("the feed ended")

    following = asyncio.ensure_future(follow())
    await asyncio.gather(*(record(handle, i) for i, handle in enumerate(writers)))
    got = await asyncio.wait_for(following, 30)
    for index in range(WRITERS):
        assert [n for machine, n in got if machine == f"m{index}"] == list(range(EACH))


async def test_the_feed_replays_the_log_then_follows_it(store: Store) -> None:
    await store.record_realtime("m", "first", {})
    await store.record_realtime("other", "ignored", {})
    await store.record_realtime("m", "second", {})
    feed = follow_realtime(store, after_id=0, machine="m")
    assert (await feed.__anext__()).event_type == "first"
    assert (await feed.__anext__()).event_type == "second"
    third = asyncio.ensure_future(feed.__anext__())
    await store.record_realtime("m", "third", {"n": 3})
    event = await asyncio.wait_for(third, 30)
    assert (event.event_type, event.payload) == ("third", {"n": 3})
    await feed.aclose()
