"""The monitor's fan-out: shared batch frames, bounded queues counted in messages."""

from __future__ import annotations

import asyncio
import contextlib
import json

from statemachine_engine.monitoring._fanout import ClientQueue, Hub, batch_frame, dropped_notice


def test_a_batch_frame_holds_the_messages_in_order_and_one_message_is_itself() -> None:
    messages = [json.dumps({"kind": "event", "event": {"n": n}}) for n in range(3)]
    assert batch_frame(messages[:1]) == messages[0]
    assert json.loads(batch_frame(messages)) == {
        "kind": "batch",
        "messages": [json.loads(message) for message in messages],
    }


def test_a_dropped_notice_says_how_many() -> None:
    assert json.loads(dropped_notice(12)) == {"kind": "dropped", "count": 12}


async def test_a_queue_counts_messages_and_drops_whole_frames_from_the_front() -> None:
    queue = ClientQueue(5)
    queue.put("a", 2)
    queue.put("b", 2)
    assert len(queue) == 4
    queue.put("c", 2)  # 6 > 5: the oldest frame goes, with its two messages
    assert len(queue) == 4
    assert await queue.take() == (2, ["b", "c"])
    assert len(queue) == 0


async def test_a_frame_larger_than_the_queue_waits_alone_and_whole() -> None:
    queue = ClientQueue(3)
    queue.put("small", 1)
    queue.put("large", 10)
    assert await queue.take() == (1, ["large"])


async def test_a_take_waits_for_a_frame_and_a_cancelled_one_leaves_the_queue_usable() -> None:
    queue = ClientQueue(5)
    cancelled = asyncio.create_task(queue.take())
    await asyncio.sleep(0)  # let it start waiting
    cancelled.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await cancelled
    taking = asyncio.create_task(queue.take())
    await asyncio.sleep(0)
    assert not taking.done()
    queue.put("a")
    assert await taking == (0, ["a"])


async def test_batching_clients_share_one_frame_and_others_get_each_message() -> None:
    hub = Hub(queue_size=100)
    first, second = hub.subscribe(batched=True), hub.subscribe(batched=True)
    single = hub.subscribe()
    hub.publish('{"n":1}')
    hub.publish('{"n":2}')
    assert await single.take() == (0, ['{"n":1}', '{"n":2}'])
    (_, [one]), (_, [other]) = await first.take(), await second.take()
    assert one is other  # built once, not per client
    assert json.loads(one) == {"kind": "batch", "messages": [{"n": 1}, {"n": 2}]}


async def test_a_client_gets_no_message_published_before_it_subscribed() -> None:
    # Its snapshot, taken as it subscribes, already shows those.
    hub = Hub(queue_size=100)
    early = hub.subscribe(batched=True)
    hub.publish('{"n":1}')
    late = hub.subscribe(batched=True)
    hub.publish('{"n":2}')
    hub.flush()
    assert await early.take() == (0, ['{"kind":"batch","messages":[{"n":1},{"n":2}]}'])
    assert await late.take() == (0, ['{"n":2}'])
    hub.publish('{"n":3}')
    hub.flush()
    assert await late.take() == (0, ['{"n":3}'])


async def test_a_client_that_left_gets_nothing_more() -> None:
    hub = Hub(queue_size=100)
    gone, staying = hub.subscribe(batched=True), hub.subscribe(batched=True)
    hub.unsubscribe(gone)
    hub.publish('{"n":1}')
    hub.flush()
    assert len(gone) == 0
    assert len(staying) == 1
    assert len(hub) == 1
